"""The web page served at ``/``: plain HTML, CSS and ES modules, plus D3 served locally.

Also the API docs' front-end bundles (Scalar at ``/schema``, Swagger UI at
``/schema/swagger``; see :mod:`serving.web.docs`), served the same way.

``web_route_handlers`` is mounted by :func:`serving.app.create_app`:

* ``GET /`` the page (``static/index.html``), not in the OpenAPI schema;
* ``GET /static/...`` the page's own files from ``serving/web/static/``;
* ``GET /static/vendor/<name>`` a file of :data:`VENDOR_FILES` from the repository's
  ``node_modules`` (``npm ci`` installs the versions pinned in ``package.json``): D3, Swagger
  UI (``swagger-ui-dist``) and Scalar (``@scalar/api-reference``). Nothing is fetched from a
  CDN: the page and the API docs work with no internet.

Where the files live is resolved on every request, so running ``npm ci`` while the server
runs is enough. ``TRENDING_WEB_VENDOR_DIR`` overrides it: a ``node_modules`` folder (holding
``d3/dist/d3.min.js`` and so on) or a folder holding the files themselves (``d3.min.js``). Without D3 the page still
loads and says so where the chart would be, and the server logs a warning naming ``npm ci``;
without the docs bundles ``/schema`` says so instead of rendering a blank page.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import MediaType, Response, get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.file_system import BaseLocalFileSystem
from litestar.params import FromPath
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


@dataclass(frozen=True)
class VendorFile:
    """A third-party file served at ``/static/vendor/<name>``, from an npm package."""

    package: str  # as in package.json
    path: str  # inside the package's folder under node_modules
    media_type: str
    used_by: str  # what is missing without it, for the warning


JS = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
# Licences: d3 ISC, swagger-ui-dist Apache-2.0, @scalar/api-reference MIT (each package's
# LICENSE file under node_modules; versions pinned exactly in package.json/package-lock.json).
VENDOR_FILES: dict[str, VendorFile] = {
    "d3.min.js": VendorFile("d3", "dist/d3.min.js", JS, "the web page's chart at /"),
    "swagger-ui-bundle.js": VendorFile(
        "swagger-ui-dist", "swagger-ui-bundle.js", JS, "the Swagger UI docs at /schema/swagger"
    ),
    "swagger-ui-standalone-preset.js": VendorFile(
        "swagger-ui-dist",
        "swagger-ui-standalone-preset.js",
        JS,
        "the Swagger UI docs at /schema/swagger",
    ),
    "swagger-ui.css": VendorFile(
        "swagger-ui-dist", "swagger-ui.css", CSS, "the Swagger UI docs at /schema/swagger"
    ),
    # The browser build: one self-contained script (no chunks loaded at run time).
    "scalar-standalone.js": VendorFile(
        "@scalar/api-reference", "dist/browser/standalone.js", JS, "the Scalar docs at /schema"
    ),
}
VENDOR_URL = "/static/vendor/{}"

_warned: set[tuple[Path, str]] = set()
_warned_lock = threading.Lock()


def vendor_dir() -> Path:
    """``$TRENDING_WEB_VENDOR_DIR``, else the ``node_modules`` next to ``package.json``."""
    configured = get_settings().web_vendor_dir
    return configured.expanduser() if configured else REPO_ROOT / "node_modules"


def vendor_path(name: str) -> Path | None:
    """The file of ``VENDOR_FILES[name]`` to serve, or None (after one warning per package
    and folder) when it is missing."""
    spec = VENDOR_FILES[name]
    base = vendor_dir()
    for candidate in (base / spec.package / spec.path, base / name):
        if candidate.is_file():
            return candidate
    with _warned_lock:
        if (base, spec.package) not in _warned:
            _warned.add((base, spec.package))
            log.warning(
                "%s not found under %s: %s will not work. "
                "Run `npm ci` in %s (or set %s to a node_modules folder holding %s).",
                spec.package,
                base,
                spec.used_by,
                REPO_ROOT,
                VENDOR_ENV,
                spec.package,
            )
    return None


def d3_path() -> Path | None:
    """The ``d3.min.js`` to serve, or None (after one warning per folder) when it is missing."""
    return vendor_path("d3.min.js")


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
def vendor_file(name: FromPath[str]) -> File:
    """A file of ``VENDOR_FILES`` (D3, Swagger UI, Scalar), from node_modules; nothing else."""
    spec = VENDOR_FILES.get(name)
    if spec is None:
        raise NotFoundException(detail=f"No vendored file {name!r}.")
    path = vendor_path(name)
    if path is None:
        what = "D3" if spec.package == "d3" else spec.package
        raise NotFoundException(
            detail=f"{what} is not installed: run `npm ci` in the repository root "
            f"(or set {VENDOR_ENV})."
        )
    return File(path=path, media_type=spec.media_type)


@get("/docs/dbt", include_in_schema=False, sync_to_thread=False, cache_control=NO_CACHE)
def dbt_docs() -> File:
    """The dbt project's docs (models, columns, tests, lineage), one HTML file as `make docs`
    or `make run` built it; the Dagster UI's dbt assets link here."""
    page = get_settings().dbt_docs_page
    if not page.is_file():
        raise NotFoundException(
            detail=f"The dbt docs are not built yet: run `make docs` (it writes {page})."
        )
    return File(path=page, media_type=MediaType.HTML, content_disposition_type="inline")


web_route_handlers = [
    index,
    vendor_file,
    dbt_docs,
    create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        name="web-static",
        file_system=StaticFileSystem(),
        include_in_schema=False,
        cache_control=NO_CACHE,
    ),
]

# Say so at startup too, not only when the page or the docs are first requested.
for _name in VENDOR_FILES:
    vendor_path(_name)

__all__ = ["VENDOR_FILES", "d3_path", "vendor_dir", "vendor_path", "web_route_handlers"]
