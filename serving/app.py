"""The Litestar application serving the published snapshot."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.config.response_cache import ResponseCacheConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusController

from serving.controllers import (
    DiscoverController,
    GenresController,
    HealthController,
    OpsController,
    PredictController,
    TitlesController,
)
from serving.dependencies import provide_snapshot, provide_store
from serving.errors import http_exception_handler, internal_error_handler
from serving.metrics import snapshot_collector
from serving.middleware import ServingMiddleware, cache_key_builder
from serving.snapshot_store import SnapshotStore
from serving.vectors import QueryEncoder
from serving.web import web_route_handlers
from serving.web.docs import docs_render_plugins
from trending_assets.settings import get_settings

API_VERSION = "0.2.0"
MAX_BODY_BYTES = 64 * 1024  # POST /predict takes a plot, not a novel: 413 beyond this


def default_serving_dir() -> Path:
    """``TRENDING_SERVING_DIR``, else ``$TRENDING_DATA_DIR/serving``: the same folder the
    pipeline publishes to (both read ``trending_assets/settings.py``)."""
    return get_settings().serving_root


def create_app(
    serving_dir: Path | None = None,
    *,
    poll_interval_s: float = 0.5,
    cache_ttl_s: int | None = None,
    cors_origins: list[str] | None = None,
) -> Litestar:
    """Build the API over the snapshots in ``serving_dir``; the snapshot opens at startup.

    Settings (``trending_assets/settings.py``): ``TRENDING_API_CACHE_TTL_S`` (read-endpoint
    cache and ``max-age``, default 30; 0 turns the server cache off),
    ``TRENDING_CORS_ORIGINS`` (comma-separated origins allowed to call the API from a
    browser; default none), ``TRENDING_SEARCH_ENCODER=off`` (keyword search only). The
    secret ``TRENDING_ADMIN_API_KEY`` (enables ``POST /admin/reload``) is read where used.
    """
    settings = get_settings()
    store = SnapshotStore(
        Path(serving_dir) if serving_dir is not None else default_serving_dir(),
        poll_interval_s=poll_interval_s,
    )
    ttl = settings.api_cache_ttl_s if cache_ttl_s is None else cache_ttl_s
    origins = list(settings.cors_origins) if cors_origins is None else cors_origins
    snapshot_collector().track(store)

    @asynccontextmanager
    async def follow_snapshots(app: Litestar) -> AsyncIterator[None]:
        store.start()
        # Before the first request, not during it: the OpenAPI schema (built lazily by
        # Litestar) and the query encoder (seconds of model loading that would hold the
        # GIL while requests wait). Traffic starts once everything answers fast.
        _ = app.openapi_schema
        if not QueryEncoder.disabled():
            await anyio.to_thread.run_sync(QueryEncoder.get)
        sweeper = asyncio.create_task(_sweep_expired(app, max(ttl, 5)))
        try:
            yield
        finally:
            sweeper.cancel()
            store.stop()

    return Litestar(
        route_handlers=[
            HealthController,
            OpsController,
            TitlesController,
            DiscoverController,
            GenresController,
            PredictController,
            PrometheusController,
            *web_route_handlers,
        ],  # fmt: skip
        dependencies={
            "store": Provide(provide_store, sync_to_thread=False),
            "snapshot": Provide(provide_snapshot),
        },
        state=State({"snapshot_store": store}),
        lifespan=[follow_snapshots],
        middleware=[DefineMiddleware(ServingMiddleware, api_version=API_VERSION, ttl_s=ttl)],
        response_cache_config=ResponseCacheConfig(
            default_expiration=ttl or None,
            key_builder=cache_key_builder,
            cache_response_filter=lambda _scope, status: ttl > 0 and status == 200,
        ),
        cors_config=CORSConfig(allow_origins=origins, allow_methods=["GET", "POST", "OPTIONS"])
        if origins
        else None,
        request_max_body_size=MAX_BODY_BYTES,
        # Logging is configured by whoever runs the app (python -m serving: JSON lines,
        # trending_assets/lib/logs.py), not reset by Litestar's default config.
        logging_config=None,
        exception_handlers={
            HTTPException: http_exception_handler,
            Exception: internal_error_handler,
        },
        openapi_config=OpenAPIConfig(
            title="Trending Now API",
            version=API_VERSION,
            description="Movie and TV titles from the published serving snapshot: browse, "
            "trending, semantic search, similar titles and genre prediction. Every data "
            "response carries the snapshot version in the X-Snapshot-Version header; read "
            "endpoints send an ETag and answer If-None-Match with 304.",
            path="/schema",
            # Scalar and Swagger UI from node_modules, served at /static/vendor/: no CDN.
            render_plugins=docs_render_plugins(),
            use_handler_docstrings=True,
            components=Components(
                security_schemes={
                    "apiKey": SecurityScheme(
                        type="apiKey", name="X-API-Key", security_scheme_in="header"
                    )
                }
            ),
        ),
    )


async def _sweep_expired(app: Litestar, every_s: float) -> None:
    """Drop expired entries of the in-memory response cache, so memory stays bounded."""
    cache = app.response_cache_config.get_store_from_app(app)
    while True:
        await asyncio.sleep(every_s)
        with contextlib.suppress(Exception):
            await cache.delete_expired()
