"""HTTP caching of read endpoints: ETag / If-None-Match, Cache-Control, and a server cache.

A response is a pure function of (API version, snapshot version, URL): snapshots are
immutable. So the ETag is a hash of those three and can be checked *before* any query
runs, and the server-side cache key carries the snapshot version: a swap changes every
key, so no cached answer from the old snapshot is served after it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from urllib.parse import parse_qsl, urlencode

from litestar import Request
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from serving.dependencies import SNAPSHOT_HEADER

CACHED_PATH_PREFIXES = ("/titles", "/trending", "/genres", "/search")


def canonical_url(path: str, query_string: bytes) -> str:
    """Path plus the query parameters in sorted order (so ?a=1&b=2 and ?b=2&a=1 agree)."""
    pairs = sorted(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    return f"{path}?{urlencode(pairs)}"


def make_etag(api_version: str, snapshot_version: str, url: str) -> str:
    digest = hashlib.sha256(f"{api_version}|{snapshot_version}|{url}".encode())
    return f'W/"{digest.hexdigest()[:24]}"'


def etag_matches(etag: str, if_none_match: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2): W/"x" matches "x"; "*" matches anything."""
    candidates = {tag.strip() for tag in if_none_match.split(",")}
    return bool({"*", etag, etag.removeprefix("W/")} & candidates)


def _current_version(scope: Scope) -> str | None:
    snap = scope["litestar_app"].state.snapshot_store.current
    return snap.version if snap is not None else None


def cache_key_builder(request: Request[Any, Any, Any]) -> str:
    """Server-side response cache key: the current snapshot version and the canonical URL."""
    return f"{_current_version(request.scope)}|{canonical_url(request.url.path, request.scope['query_string'])}"


class HttpCacheMiddleware(ASGIMiddleware):
    """304 for a matching If-None-Match before any query; ETag + Cache-Control on 200s."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, api_version: str, ttl_s: int) -> None:
        self.api_version = api_version
        self.cache_control = f"public, max-age={ttl_s}".encode()

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["method"] != "GET" or not scope["path"].startswith(CACHED_PATH_PREFIXES):
            await next_app(scope, receive, send)
            return
        url = canonical_url(scope["path"], scope["query_string"])
        version = _current_version(scope)
        if_none_match = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"if-none-match"), None
        )
        if version is not None and if_none_match:
            etag = make_etag(self.api_version, version, url)
            if etag_matches(etag, if_none_match):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 304,
                        "headers": [
                            (b"etag", etag.encode()),
                            (b"cache-control", self.cache_control),
                            (SNAPSHOT_HEADER.lower().encode(), version.encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                headers = list(message.get("headers", []))
                served = next(
                    (
                        v.decode()
                        for k, v in headers
                        if k.lower() == SNAPSHOT_HEADER.lower().encode()
                    ),
                    None,
                )
                if served is not None:  # the version that actually produced the body
                    headers.append((b"etag", make_etag(self.api_version, served, url).encode()))
                    headers.append((b"cache-control", self.cache_control))
                    message = {**message, "headers": headers}
            await send(message)

        await next_app(scope, receive, send_with_headers)
