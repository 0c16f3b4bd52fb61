"""The API docs (Scalar at ``/schema``, Swagger UI at ``/schema/swagger``) work offline.

Their bundles come from ``node_modules`` (``npm ci``: ``swagger-ui-dist`` and
``@scalar/api-reference``, pinned in ``package.json``), served by the app at
``/static/vendor/...``; no page references another host. Over loopback HTTP always; in
Debian's Chromium (driven by ``playwright``, as in ``test_web_page.py``) when installed.
"""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serving"))
from serving_fixtures import running_api  # noqa: E402

import serving.web as web  # noqa: E402
from serving.web import docs  # noqa: E402

# As in test_web_page.py: Debian's Chromium, never a downloaded browser.
CHROMIUM = Path("/usr/bin/chromium") if Path("/usr/bin/chromium").exists() else None
if CHROMIUM is None and shutil.which("chromium"):
    CHROMIUM = Path(shutil.which("chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 30_000
TITLE = "Trending Now API"
DOCS_PAGES = {"/schema": "Scalar", "/schema/swagger": "Swagger UI"}
DOCS_FILES = {"/schema": (docs.SCALAR_JS,), "/schema/swagger": docs.SWAGGER_FILES}


class _Links(HTMLParser):
    """Every ``src``/``href`` of a page, with the tag and ``rel`` it came from."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            if found.get(name):
                self.links.append((tag, found.get("rel") or "", found[name]))


def _links(html: str) -> list[tuple[str, str, str]]:
    parser = _Links()
    parser.feed(html)
    parser.close()
    return parser.links


def _installed(page: str) -> bool:
    return all(web.vendor_path(name) is not None for name in DOCS_FILES[page])


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    # The docs need no data: an API with no snapshot published yet serves them all the same.
    serving = tmp_path_factory.mktemp("docs") / "serving"
    serving.mkdir()
    with running_api(serving) as client:
        yield client


# ------------------------------------------------------------------- without a browser


@pytest.mark.parametrize("page", sorted(DOCS_PAGES))
def test_docs_reference_only_local_assets(api: httpx.Client, page: str) -> None:
    if not _installed(page):
        pytest.skip(f"{DOCS_PAGES[page]} not installed under {web.vendor_dir()}: run `npm ci`")
    response = api.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    links = _links(html)
    assert links, html
    base = str(api.base_url) + page
    scripts = styles = 0
    for tag, rel, url in links:
        absolute = urlsplit(urljoin(base, url))
        assert not urlsplit(url).netloc and not urlsplit(url).scheme, f"{page}: {url}"
        assert absolute.hostname == "127.0.0.1", f"{page}: {url}"
        asset = api.get(url)
        assert asset.status_code == 200, f"{page}: {url} -> {asset.status_code}"
        kind = asset.headers["content-type"]
        if tag == "script":
            scripts += 1
            assert "javascript" in kind, (url, kind)
        elif "stylesheet" in rel:
            styles += 1
            assert kind.startswith("text/css"), (url, kind)
        elif "icon" in rel:
            assert kind.startswith("image/"), (url, kind)
        else:
            raise AssertionError(f"{page}: unexpected link <{tag} rel={rel!r}> {url}")
    assert scripts >= 1 and styles >= 1, links
    # Nothing else in the page names another host either (inline config, fonts).
    for needle in ("cdn.jsdelivr.net", "unpkg.com", "fonts.googleapis", "fonts.scalar.com"):
        assert needle not in html, f"{page}: {needle}"
    for name in DOCS_FILES[page]:
        assert f"/static/vendor/{name}" in html
        served = api.get(f"/static/vendor/{name}")
        assert served.content == web.vendor_path(name).read_bytes()


def test_scalar_is_told_not_to_fetch_fonts(api: httpx.Client) -> None:
    if not _installed("/schema"):
        pytest.skip(f"Scalar not installed under {web.vendor_dir()}: run `npm ci`")
    html = api.get("/schema").text
    assert '"withDefaultFonts":false' in html and '"telemetry":false' in html


def test_without_the_bundles_the_docs_say_why(
    api: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    monkeypatch.setenv(web.VENDOR_ENV, str(tmp_path / "empty-node-modules"))
    for page, ui in DOCS_PAGES.items():
        with caplog.at_level(logging.WARNING, logger="serving.web"):
            response = api.get(page)
        assert response.status_code == 200
        html = response.text
        assert 'data-docs="missing"' in html and "npm ci" in html and ui in html, html
        assert "/static/vendor/" not in html
        assert "/schema/openapi.json" in html
        for _tag, _rel, url in _links(html):
            assert not urlsplit(url).netloc, url
    messages = [r.getMessage() for r in caplog.records]
    for package in ("swagger-ui-dist", "@scalar/api-reference"):
        assert sum(package in m and "npm ci" in m for m in messages) == 1, messages
    # Logged once per folder, not on every request.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="serving.web"):
        api.get("/schema")
    assert not caplog.records
    for name in (docs.SCALAR_JS, *docs.SWAGGER_FILES):
        missing = api.get(f"/static/vendor/{name}")
        assert missing.status_code == 404 and "npm ci" in missing.json()["detail"]


def test_unknown_vendor_files_are_not_served(api: httpx.Client) -> None:
    for name in ("other.js", "..%2Fpackage.json", "swagger-ui-dist", "standalone.js"):
        assert api.get(f"/static/vendor/{name}").status_code == 404, name


# ------------------------------------------------------------------- in Chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        pytest.skip("Chromium not installed (/usr/bin/chromium; apt-get install chromium)")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _open(browser, api: httpx.Client, path: str):
    """The page at ``path``, plus requests that left loopback (aborted) and page errors."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, base_url=str(api.base_url)
    )
    context.set_default_timeout(TIMEOUT_MS)
    foreign: list[str] = []
    errors: list[str] = []

    def only_loopback(route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.goto(path)
    return context, page, foreign, errors


def test_swagger_ui_renders_offline(browser, api: httpx.Client) -> None:
    if not _installed("/schema/swagger"):
        pytest.skip(f"Swagger UI not installed under {web.vendor_dir()}: run `npm ci`")
    context, page, foreign, errors = _open(browser, api, "/schema/swagger")
    try:
        info = page.wait_for_selector(".swagger-ui .info .title")
        assert TITLE in info.inner_text()
        page.wait_for_selector(".swagger-ui .opblock")  # the operations are listed
        assert page.locator(".swagger-ui .opblock").count() > 3
        page.wait_for_load_state("networkidle")
        assert foreign == [], f"requests left loopback: {foreign}"
        assert errors == [], errors
    finally:
        context.close()


def test_scalar_renders_offline(browser, api: httpx.Client) -> None:
    if not _installed("/schema"):
        pytest.skip(f"Scalar not installed under {web.vendor_dir()}: run `npm ci`")
    context, page, foreign, errors = _open(browser, api, "/schema")
    try:
        heading = page.get_by_role("heading", name=TITLE).first
        heading.wait_for()
        assert heading.is_visible()
        # The description, and the operations grouped by tag in the sidebar.
        page.get_by_text("Movie and TV titles from the published serving snapshot").wait_for()
        for tag in ("health", "titles", "discover"):
            assert page.get_by_text(tag, exact=True).count() >= 1, tag
        assert page.get_by_text("Powered by Scalar").count() >= 1
        assert page.get_by_text("Developer Tools").count() == 0  # showDeveloperTools: never
        page.wait_for_load_state("networkidle")
        assert foreign == [], f"requests left loopback: {foreign}"
        assert errors == [], errors
    finally:
        context.close()


# ------------------------------------------------------------------- the dbt docs


@pytest.fixture(scope="module")
def dbt_docs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the dbt docs as `make docs` builds them (no warehouse yet)."""
    import os
    import subprocess

    data = tmp_path_factory.mktemp("dbt-docs") / "data"
    completed = subprocess.run(
        [sys.executable, "-m", "trending_assets.cli", "docs"],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "TRENDING_DATA_DIR": str(data)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    return data


def test_the_dbt_docs_are_served_once_built(
    api: httpx.Client, dbt_docs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRENDING_DATA_DIR", str(tmp_path / "nothing-built"))
    missing = api.get("/docs/dbt")
    assert missing.status_code == 404 and "make docs" in missing.json()["detail"]
    monkeypatch.setenv("TRENDING_DATA_DIR", str(dbt_docs_dir))
    served = api.get("/docs/dbt")
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/html")
    assert "attachment" not in served.headers.get("content-disposition", "")
    assert served.content == (dbt_docs_dir / "dbt_docs" / "static_index.html").read_bytes()


def test_the_dbt_docs_render_a_model_page_offline(
    browser, api: httpx.Client, dbt_docs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The link a dbt asset carries in the Dagster UI (test_asset_graph.py).
    monkeypatch.setenv("TRENDING_DATA_DIR", str(dbt_docs_dir))
    context, page, foreign, errors = _open(
        browser, api, "/docs/dbt#!/model/model.trending_now.titles"
    )
    try:
        page.get_by_text("One row per resolved movie or TV title", exact=False).first.wait_for()
        page.wait_for_load_state("networkidle")
        assert foreign == [], f"requests left loopback: {foreign}"
        assert errors == [], errors
    finally:
        context.close()
