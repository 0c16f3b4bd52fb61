"""One plain ASGI middleware for what every request needs: HTTP caching, metrics, access log.

Kept as a single, plain ASGI callable on purpose: each Litestar middleware layer costs
tens of microseconds per request, which is most of the budget of a cached lookup
(``bench/api_benchmark.py`` measures it). Litestar runs app middleware after routing,
so ``scope["path_template"]`` names the route (``/titles/{title_id}``) for the metrics.

HTTP caching: a response is a pure function of (API version, snapshot version, URL),
and snapshots are immutable, so the ETag is a hash of those three and a matching
``If-None-Match`` is answered 304 *before* any query runs. 200s of read endpoints get
``ETag`` and ``Cache-Control: public, max-age=<ttl>``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from urllib.parse import parse_qsl, urlencode

from prometheus_client import Counter, Histogram

from serving.dependencies import SNAPSHOT_HEADER

logger = logging.getLogger("serving.access")

CACHED_PATH_PREFIXES = ("/titles", "/trending", "/genres", "/search")
_SNAPSHOT = SNAPSHOT_HEADER.lower().encode()
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

_metrics_lock = threading.Lock()
_metrics: tuple[Counter, Histogram] | None = None


def request_metrics() -> tuple[Counter, Histogram]:
    """The per-route request counter and latency histogram, registered once per process."""
    global _metrics
    with _metrics_lock:
        if _metrics is None:
            _metrics = (
                Counter(
                    "trending_api_requests",
                    "HTTP requests by method, route template and status",
                    ["method", "route", "status"],
                ),
                Histogram(
                    "trending_api_request_duration_seconds",
                    "HTTP request latency by method and route template",
                    ["method", "route"],
                    buckets=LATENCY_BUCKETS,
                ),
            )
        return _metrics


def canonical_url(path: str, query_string: bytes) -> str:
    """Path plus the query parameters in sorted order (so ?a=1&b=2 and ?b=2&a=1 agree)."""
    if not query_string:
        return path
    pairs = sorted(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    return f"{path}?{urlencode(pairs)}"


def make_etag(api_version: str, snapshot_version: str, url: str) -> str:
    digest = hashlib.sha256(f"{api_version}|{snapshot_version}|{url}".encode())
    return f'W/"{digest.hexdigest()[:24]}"'


def etag_matches(etag: str, if_none_match: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2): W/"x" matches "x"; "*" matches anything."""
    candidates = {tag.strip() for tag in if_none_match.split(",")}
    return bool({"*", etag, etag.removeprefix("W/")} & candidates)


def current_snapshot_version(scope) -> str | None:
    snap = scope["litestar_app"].state.snapshot_store.current
    return snap.version if snap is not None else None


def cache_key_builder(request) -> str:
    """Server-side response cache key: the current snapshot version and the canonical URL."""
    url = canonical_url(request.url.path, request.scope["query_string"])
    return f"{current_snapshot_version(request.scope)}|{url}"


class ServingMiddleware:
    """HTTP caching headers and 304s, Prometheus metrics per route, one access record."""

    def __init__(self, app, *, api_version: str, ttl_s: int) -> None:
        self.app = app
        self.api_version = api_version
        self.cache_control = f"public, max-age={ttl_s}".encode()
        self.requests, self.latency = request_metrics()
        self._children: dict[tuple, tuple] = {}

    def _observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:  # label lookups are the slow part of prometheus_client
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = scope["method"]
        seen = {"status": 500, "snapshot": None}
        url = None
        if method == "GET" and scope["path"].startswith(CACHED_PATH_PREFIXES):
            url = canonical_url(scope["path"], scope["query_string"])

        async def send_wrapper(message) -> None:
            if message["type"] == "http.response.start":
                status = seen["status"] = message["status"]
                headers = message.get("headers") or []
                served = None
                for name, value in headers:
                    if name.lower() == _SNAPSHOT:
                        served = seen["snapshot"] = value.decode()
                        break
                if url is not None and status == 200 and served is not None:
                    etag = make_etag(self.api_version, served, url).encode()
                    headers = [*headers, (b"etag", etag), (b"cache-control", self.cache_control)]
                    message = {**message, "headers": headers}
            await send(message)

        try:
            if url is not None and await self._not_modified(scope, url, send, seen):
                return
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("path_template") or scope["path"]
            self._observe(method, route, seen["status"], elapsed)
            if logger.isEnabledFor(logging.INFO):
                client = scope.get("client")
                logger.info(
                    "%s %s %s",
                    method,
                    scope["path"],
                    seen["status"],
                    extra={
                        "method": method,
                        "path": scope["path"],
                        "route": route,
                        "status": seen["status"],
                        "duration_ms": round(elapsed * 1000, 3),
                        "snapshot": seen["snapshot"],
                        "client": client[0] if client else None,
                    },
                )

    async def _not_modified(self, scope, url: str, send, seen: dict) -> bool:
        """Answer 304 when If-None-Match names the current representation; True if it did."""
        if_none_match = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if_none_match = value.decode("latin-1")
                break
        if not if_none_match:
            return False
        version = current_snapshot_version(scope)
        if version is None:
            return False
        etag = make_etag(self.api_version, version, url)
        if not etag_matches(etag, if_none_match):
            return False
        seen["status"], seen["snapshot"] = 304, version
        await send(
            {
                "type": "http.response.start",
                "status": 304,
                "headers": [
                    (b"etag", etag.encode()),
                    (b"cache-control", self.cache_control),
                    (_SNAPSHOT, version.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})
        return True
