"""One structured access-log record per request: method, route, status, duration, snapshot."""

from __future__ import annotations

import logging
import time

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from serving.dependencies import SNAPSHOT_HEADER

logger = logging.getLogger("serving.access")
_SNAPSHOT = SNAPSHOT_HEADER.lower().encode()


class AccessLogMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if not logger.isEnabledFor(logging.INFO):
            await next_app(scope, receive, send)
            return
        started = time.perf_counter()
        seen: dict[str, object] = {"status": 500, "snapshot": None}

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                seen["snapshot"] = next(
                    (v.decode() for k, v in message.get("headers", []) if k.lower() == _SNAPSHOT), None
                )
            await send(message)

        try:
            await next_app(scope, receive, send_and_note)
        finally:
            route = scope.get("path_template") or scope["path"]
            client = scope.get("client")
            logger.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                seen["status"],
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": route,
                    "status": seen["status"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    "snapshot": seen["snapshot"],
                    "client": client[0] if client else None,
                },
            )
