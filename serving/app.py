"""The Litestar application serving the published snapshot."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin

from serving.controllers import GenresController, HealthController, TitlesController
from serving.dependencies import provide_snapshot, provide_store
from serving.errors import http_exception_handler, internal_error_handler
from serving.snapshot_store import SnapshotStore
from serving.web import web_route_handlers

API_VERSION = "0.1.0"


def default_serving_dir() -> Path:
    """``TRENDING_SERVING_DIR``, else ``$TRENDING_DATA_DIR/serving``, else ``./data/serving``."""
    if serving_dir := os.environ.get("TRENDING_SERVING_DIR"):
        return Path(serving_dir)
    return Path(os.environ.get("TRENDING_DATA_DIR", "data")) / "serving"


def create_app(serving_dir: Path | None = None, *, poll_interval_s: float = 0.5) -> Litestar:
    """Build the API over the snapshots in ``serving_dir``; the snapshot opens at startup."""
    store = SnapshotStore(
        Path(serving_dir) if serving_dir is not None else default_serving_dir(),
        poll_interval_s=poll_interval_s,
    )

    @asynccontextmanager
    async def follow_snapshots(_: Litestar) -> AsyncIterator[None]:
        store.start()
        try:
            yield
        finally:
            store.stop()

    return Litestar(
        route_handlers=[HealthController, TitlesController, GenresController, *web_route_handlers],
        dependencies={
            "store": Provide(provide_store, sync_to_thread=False),
            "snapshot": Provide(provide_snapshot),
        },
        state=State({"snapshot_store": store}),
        lifespan=[follow_snapshots],
        exception_handlers={
            HTTPException: http_exception_handler,
            Exception: internal_error_handler,
        },
        openapi_config=OpenAPIConfig(
            title="Trending Now API",
            version=API_VERSION,
            description="Movie and TV titles from the published serving snapshot. Every "
            "data response carries the snapshot version in the X-Snapshot-Version header.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin()],
            use_handler_docstrings=True,
        ),
    )
