"""How the API's HTTP server is configured: bounded headers, and no connection held idle.

``python -m serving`` and the tests run the app through :func:`server_config`, so both get:

* **h11**, not httptools (uvicorn's ``auto`` pick): h11 bounds the request head (request
  line plus headers) with ``h11_max_incomplete_event_size``; httptools buffers a header
  of any size. A head over ``max_header_bytes`` is answered **431** and the connection
  closed (uvicorn alone would answer a bare 400).
* at most ``max_headers`` header fields per request, else **431** (before the app runs);
* a **request-head deadline**: a connection must deliver a complete request (head, and
  body when there is one) within ``header_timeout_s`` of connecting or of its previous
  response, else it is closed (a 408 first when it had started a request). This is what
  closes connections that connect and send nothing, or trickle a header a byte at a time;
  uvicorn's own ``timeout_keep_alive`` only starts after a response.
* ``timeout_keep_alive`` for idle keep-alive connections, and ``limit_concurrency``
  (connections plus requests in progress; over it uvicorn answers 503).

The limits are settings (``trending_assets/settings.py``, like the rest of the API's):
``TRENDING_API_MAX_HEADER_BYTES`` (16384), ``TRENDING_API_MAX_HEADERS``
(100), ``TRENDING_API_HEADER_TIMEOUT_S`` (10), ``TRENDING_API_KEEP_ALIVE_S`` (5),
``TRENDING_API_LIMIT_CONCURRENCY`` (1000).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from trending_assets.settings import get_settings

LIMITS_ATTR = "trending_limits"
# After answering 408/431 the server stops writing but reads (and drops) what the client
# is still sending for up to this long, so the client sees the answer rather than a reset.
LINGER_S = 2.0
LINGER_MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class ServerLimits:
    max_header_bytes: int = 16 * 1024
    max_headers: int = 100
    header_timeout_s: float = 10.0
    keep_alive_s: int = 5
    limit_concurrency: int = 1000

    @classmethod
    def from_settings(cls, settings: Any | None = None) -> ServerLimits:
        """From ``trending_assets.settings`` (``TRENDING_API_MAX_HEADER_BYTES`` ...)."""
        settings = settings or get_settings()
        return cls(
            max_header_bytes=settings.api_max_header_bytes,
            max_headers=settings.api_max_headers,
            header_timeout_s=settings.api_header_timeout_s,
            keep_alive_s=settings.api_keep_alive_s,
            limit_concurrency=settings.api_limit_concurrency,
        )


def _problem(status: int, title: str, detail: str) -> bytes:
    return json.dumps({"title": title, "status": status, "detail": detail}).encode()


def _raw_response(status: int, reason: str, body: bytes) -> bytes:
    """A complete HTTP/1.1 response that closes the connection (written to the socket
    directly: h11 will not send a response once the request failed to parse)."""
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "content-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class _HeaderGuard:
    """ASGI wrapper run by the protocol: 431 for a request with too many header fields, or
    a head over the size limit that arrived in one read (h11 bounds only incomplete heads)."""

    def __init__(self, app: Any, limits: ServerLimits) -> None:
        self.app = app
        self.limits = limits

    def _problem(self, scope: Any) -> str | None:
        headers = scope["headers"]
        if len(headers) > self.limits.max_headers:
            return f"at most {self.limits.max_headers} header fields are accepted"
        size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        size += sum(len(name) + len(value) + 4 for name, value in headers)
        if size > self.limits.max_header_bytes:
            return f"the request line and headers exceed {self.limits.max_header_bytes} bytes"
        return None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        detail = self._problem(scope) if scope["type"] == "http" else None
        if detail is not None:
            body = _problem(431, "Request Header Fields Too Large", detail)
            await send(
                {
                    "type": "http.response.start",
                    "status": 431,
                    "headers": [
                        (b"content-type", b"application/problem+json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus the request deadline, the 431s and the header count.

    The limits travel on the uvicorn config (``config.trending_limits``, set by
    :func:`server_config`), which worker processes receive pickled.
    """

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.limits: ServerLimits = getattr(config, LIMITS_ATTR, None) or ServerLimits()
        self.app = _HeaderGuard(self.app, self.limits)
        self._deadline: asyncio.TimerHandle | None = None
        self._lingering: int | None = None  # bytes dropped since the answer, while lingering

    # -- the request deadline -------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering is not None:
            self._lingering += len(data)
            if self._lingering > LINGER_MAX_BYTES:
                self.transport.close()
            return
        if self._deadline is None and self.conn.their_state is h11.IDLE:
            self._arm_deadline()  # the first bytes of a next request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
            self._disarm_deadline()  # the whole request is in (or the connection is done)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # A pipelined request already buffered is handled above; an idle connection is
        # closed by uvicorn's keep-alive timer.
        if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
            self._disarm_deadline()

    def _arm_deadline(self) -> None:
        self._disarm_deadline()
        self._deadline = self.loop.call_later(self.limits.header_timeout_s, self._too_slow)

    def _disarm_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        started = bool(self.conn.trailing_data[0]) or self.conn.their_state is not h11.IDLE
        if (
            started
            and self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE)
            and not (self.cycle is not None and self.cycle.response_started)
        ):
            body = _problem(
                408,
                "Request Timeout",
                f"the request did not arrive within {self.limits.header_timeout_s:g}s",
            )
            self._answer_and_close(_raw_response(408, "Request Timeout", body))
            return
        self.transport.close()

    def _answer_and_close(self, response: bytes) -> None:
        """Send ``response``, then close gently: the write side now, the connection once
        the client stops sending (or after ``LINGER_S``). Closing with unread data would
        reset the connection, and the client might never see the answer."""
        self._disarm_deadline()
        self.transport.write(response)
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self._lingering = 0
        self.loop.call_later(LINGER_S, self.transport.close)

    def eof_received(self) -> bool | None:
        if self._lingering is not None:
            self.transport.close()  # the client is done too
            return None
        return super().eof_received()

    # -- an oversize head: 431, not a bare 400 ------------------------------------

    def send_400_response(self, msg: str) -> None:
        buffered = len(self.conn.trailing_data[0])
        if buffered > self.limits.max_header_bytes:
            body = _problem(
                431,
                "Request Header Fields Too Large",
                f"the request line and headers exceed {self.limits.max_header_bytes} bytes",
            )
            self._answer_and_close(_raw_response(431, "Request Header Fields Too Large", body))
            return
        super().send_400_response(msg)


def server_config(
    app: Any, *, limits: ServerLimits | None = None, **options: Any
) -> uvicorn.Config:
    """A ``uvicorn.Config`` for ``app`` (an ASGI app or an import string) with the limits."""
    limits = limits or ServerLimits.from_settings()
    config = uvicorn.Config(
        app,
        http=GuardedH11Protocol,
        h11_max_incomplete_event_size=limits.max_header_bytes,
        timeout_keep_alive=limits.keep_alive_s,
        limit_concurrency=limits.limit_concurrency,
        **options,
    )
    setattr(config, LIMITS_ATTR, limits)
    return config
