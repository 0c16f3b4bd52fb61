"""The web page served at ``/``: plain HTML, CSS and ES modules, plus D3 served locally.

``web_route_handlers`` is mounted by :func:`serving.app.create_app`:

* ``GET /`` the page (``static/index.html``), not in the OpenAPI schema;
* ``GET /static/...`` the page's own files from ``serving/web/static/``;
* ``GET /static/vendor/d3.min.js`` D3 from the repository's ``node_modules`` (``npm ci``
  installs the version pinned in ``package.json``). Nothing is fetched from a CDN: the page
  works with no internet.

Where D3 lives is resolved on every request, so running ``npm ci`` while the server runs is
enough. ``TRENDING_WEB_VENDOR_DIR`` overrides it: a ``node_modules`` folder (holding
``d3/dist/d3.min.js``) or a folder holding ``d3.min.js`` itself. Without D3 the page still
loads and says so where the chart would be, and the server logs a warning naming ``npm ci``.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from litestar import MediaType, Response, get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.file_system import BaseLocalFileSystem
from litestar.response import File
from litestar.static_files import create_static_files_router

from trending_assets.settings import get_settings

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
REPO_ROOT = Path(__file__).resolve().parents[2]
VENDOR_ENV = "TRENDING_WEB_VENDOR_DIR"
D3_PLACEHOLDER = "<!-- d3 -->"
D3_SCRIPT = '<script src="/static/vendor/d3.min.js"></script>'
# No build step and no hashed file names: browsers revalidate instead of caching blindly.
NO_CACHE = CacheControlHeader(no_cache=True)

_warned: set[Path] = set()
_warned_lock = threading.Lock()


def vendor_dir() -> Path:
    """``$TRENDING_WEB_VENDOR_DIR``, else the ``node_modules`` next to ``package.json``."""
    configured = get_settings().web_vendor_dir
    return configured.expanduser() if configured else REPO_ROOT / "node_modules"


def d3_path() -> Path | None:
    """The ``d3.min.js`` to serve, or None (after one warning per folder) when it is missing."""
    base = vendor_dir()
    for candidate in (base / "d3" / "dist" / "d3.min.js", base / "d3.min.js"):
        if candidate.is_file():
            return candidate
    with _warned_lock:
        if base not in _warned:
            _warned.add(base)
            log.warning(
                "D3 not found under %s: the web page at / will load without its chart. "
                "Run `npm ci` in %s (or set %s to a node_modules folder holding d3).",
                base,
                REPO_ROOT,
                VENDOR_ENV,
            )
    return None


class StaticFileSystem(BaseLocalFileSystem):
    """The local file system, where a path that cannot name a file is simply not found.

    Litestar turns anything but FileNotFoundError/PermissionError from ``stat`` into a 500:
    a NUL byte (``/static/%00index.html``: ValueError), a name too long, or a file used as a
    folder (``/static/app.js/x``: NotADirectoryError). Those are a client's bad path: 404.
    """

    async def info(self, path: Any, **kwargs: Any) -> Any:
        if "\x00" in str(path):
            raise FileNotFoundError(path)
        try:
            return await super().info(path, **kwargs)
        except PermissionError:
            raise
        except (OSError, ValueError) as exc:
            raise FileNotFoundError(path) from exc


def render_index() -> str:
    """``index.html`` with the D3 script tag where D3 is available, a marker where not."""
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    available = d3_path() is not None
    html = html.replace(D3_PLACEHOLDER, D3_SCRIPT if available else "")
    return html.replace('data-d3="pending"', f'data-d3="{"available" if available else "missing"}"')


@get("/", include_in_schema=False, sync_to_thread=False, cache_control=NO_CACHE)
def index() -> Response[str]:
    """The page: trending list, filters, search and the D3 chart."""
    return Response(render_index(), media_type=MediaType.HTML)


@get(
    "/static/vendor/{name:str}",
    include_in_schema=False,
    sync_to_thread=False,
    cache_control=NO_CACHE,
)
def vendor_file(name: str) -> File:
    """D3, from node_modules; the only vendored file."""
    if name != "d3.min.js":
        raise NotFoundException(detail=f"No vendored file {name!r}.")
    path = d3_path()
    if path is None:
        raise NotFoundException(
            detail="D3 is not installed: run `npm ci` in the repository root "
            f"(or set {VENDOR_ENV})."
        )
    return File(path=path, media_type="text/javascript; charset=utf-8")


web_route_handlers = [
    index,
    vendor_file,
    create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        name="web-static",
        file_system=StaticFileSystem(),
        include_in_schema=False,
        cache_control=NO_CACHE,
    ),
]

# Say so at startup too, not only when the page is first requested.
d3_path()

__all__ = ["d3_path", "vendor_dir", "web_route_handlers"]
