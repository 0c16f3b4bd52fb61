"""Run the API with uvicorn: ``python -m serving --host 127.0.0.1 --port 8000``."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from serving.server import ServerLimits, server_config
from trending_assets.lib.logs import api_log_config
from trending_assets.settings import get_settings


def main(argv: list[str] | None = None) -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(
        prog="python -m serving",
        description="Serve the published Trending Now snapshot over HTTP. The snapshot "
        "directory comes from TRENDING_SERVING_DIR (else $TRENDING_DATA_DIR/serving).",
    )
    parser.add_argument(
        "--host",
        default=settings.api_host,
        help="default: $TRENDING_API_HOST or 127.0.0.1",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=settings.api_port,
        help="default: $TRENDING_API_PORT or 8000",
    )
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--log-level", default="info")
    parser.add_argument(
        "--log-format",
        choices=("json", "text"),
        default=settings.log_format,
        help="json (one object per line: default, or $TRENDING_LOG_FORMAT) or text",
    )
    args = parser.parse_args(argv)
    # A factory string, so each worker process builds its own app and snapshot connection.
    # Header size and count, idle and slow connections, concurrency: serving/server.py.
    config = server_config(
        "serving.app:create_app",
        limits=ServerLimits.from_settings(settings),
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        log_config=api_log_config(args.log_level, args.log_format),
        access_log=False,  # serving.access (serving/middleware.py) logs each request, structured
    )
    # What uvicorn.run does with a Config of its own making.
    server = uvicorn.Server(config)
    try:
        if config.workers > 1:
            from uvicorn.supervisors import Multiprocess

            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    if config.workers == 1 and not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE


if __name__ == "__main__":
    main()
