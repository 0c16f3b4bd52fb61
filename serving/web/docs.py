"""The API docs UIs (Scalar at ``/schema``, Swagger UI at ``/schema/swagger``), offline.

Litestar's render plugins load their JavaScript and CSS from a CDN by default (Scalar's
unpinned), plus a favicon from jsDelivr. Here every URL the docs pages reference is local:
the bundles are the npm packages pinned in ``package.json`` (``swagger-ui-dist``, Apache-2.0;
``@scalar/api-reference``, MIT), served by :mod:`serving.web` at ``/static/vendor/...``; the
favicon and Scalar's stylesheet are the web page's own files under ``/static/``. Scalar is
told not to fetch its default fonts (``withDefaultFonts``), not to send telemetry and not to
offer its scalar.com tools (agent, MCP, developer toolbar).

Without the bundles (no ``npm ci``) the docs pages say so, naming ``npm ci`` and pointing at
the raw schema, instead of rendering blank; the server also logs a warning once.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin

from serving.web import VENDOR_ENV, VENDOR_FILES, VENDOR_URL, vendor_path

if TYPE_CHECKING:
    from litestar.connection import Request
    from litestar.openapi.plugins import OpenAPIRenderPlugin

FAVICON = "<link rel='icon' type='image/svg+xml' href='/static/favicon.svg'>"
SCALAR_JS = "scalar-standalone.js"
SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css")
# Scalar's configuration (data-configuration): nothing fetched from or sent to scalar.com.
SCALAR_OPTIONS: dict[str, Any] = {
    "withDefaultFonts": False,
    "telemetry": False,
    "agent": {"disabled": True},
    "mcp": {"disabled": True},
    # Its toolbar (shown on localhost by default) offers to share/deploy via scalar.com.
    "showDeveloperTools": "never",
}


def _missing_page(
    plugin: OpenAPIRenderPlugin, request: Request, title: str, ui: str, names: tuple[str, ...]
) -> bytes:
    missing = sorted({VENDOR_FILES[n].package for n in names if vendor_path(n) is None})
    schema = html.escape(plugin.get_openapi_json_route(request), quote=True)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>{FAVICON}</head>
<body data-docs="missing">
  <h1>{html.escape(title)}: API docs unavailable</h1>
  <p>The {ui} bundle is not installed ({html.escape(", ".join(missing))} missing from
  node_modules). Run <code>npm ci</code> in the repository root (or set
  <code>{VENDOR_ENV}</code> to a node_modules folder holding it), then reload.</p>
  <p>The OpenAPI schema itself is at <a href="{schema}">{schema}</a>.</p>
</body></html>
""".encode()


def _missing(names: tuple[str, ...]) -> bool:
    # Every file checked (not stopping at the first): each missing package is logged once.
    return not all([vendor_path(name) is not None for name in names])


class LocalScalarRenderPlugin(ScalarRenderPlugin):
    """Scalar from ``/static/vendor/``; a page naming ``npm ci`` when the bundle is missing."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("js_url", VENDOR_URL.format(SCALAR_JS))
        kwargs.setdefault("css_url", "/static/docs.css")
        kwargs.setdefault("favicon", FAVICON)
        kwargs.setdefault("options", SCALAR_OPTIONS)
        super().__init__(**kwargs)

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        if _missing((SCALAR_JS,)):
            title = openapi_schema["info"]["title"]
            return _missing_page(self, request, title, "Scalar", (SCALAR_JS,))
        return super().render(request, openapi_schema)


class LocalSwaggerRenderPlugin(SwaggerRenderPlugin):
    """Swagger UI from ``/static/vendor/``; a page naming ``npm ci`` when it is missing."""

    def __init__(self, **kwargs: Any) -> None:
        js, preset, css = (VENDOR_URL.format(name) for name in SWAGGER_FILES)
        kwargs.setdefault("js_url", js)
        kwargs.setdefault("standalone_preset_js_url", preset)
        kwargs.setdefault("css_url", css)
        kwargs.setdefault("favicon", FAVICON)
        super().__init__(**kwargs)

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        if _missing(SWAGGER_FILES):
            title = openapi_schema["info"]["title"]
            return _missing_page(self, request, title, "Swagger UI", SWAGGER_FILES)
        return super().render(request, openapi_schema)


def docs_render_plugins() -> list[OpenAPIRenderPlugin]:
    """The render plugins for ``OpenAPIConfig``: Scalar first (served at ``/schema``)."""
    return [LocalScalarRenderPlugin(), LocalSwaggerRenderPlugin()]


__all__ = ["LocalScalarRenderPlugin", "LocalSwaggerRenderPlugin", "docs_render_plugins"]
