"""The page at ``/`` in headless Chromium, against the real API over loopback HTTP.

Debian's Chromium (``/usr/bin/chromium``) is driven by the ``playwright`` package; no browser
is ever downloaded. The page's only third-party code, D3, is served by the app from
``node_modules`` (``npm ci``); every request the page makes must go to 127.0.0.1.

Screenshots land in ``$TRENDING_TEST_ARTIFACTS`` (else the test's tmp dir); the paths are
printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serving"))
from serving_fixtures import (  # noqa: E402
    FixtureTitle,
    build_serving_tables,
    running_api,
    write_warehouse,
)

import serving.web as web  # noqa: E402
from trending_assets.lib.snapshot import build_snapshot, publish_snapshot  # noqa: E402

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
AS_OF = date(2024, 5, 28)

# A catalogue of its own, so the test does not depend on what other suites' fixture holds:
# 16 titles, 13 of them ranked, 3 not (too few recent reviews), 2 without a vibe score, and
# one whose title is markup that must show as text.
TITLES: tuple[FixtureTitle, ...] = (
    FixtureTitle(
        "w01", "Starfall Protocol", 2024, "movie", ("science_fiction", "action"), (9, 8, 9, 8, 9, 7)
    ),
    FixtureTitle("w02", "The Bakery on Elm", 2023, "tv", ("comedy", "drama"), (8, 9, 7, 8)),
    FixtureTitle("w03", "Midnight Ledger", 2022, "tv", ("crime", "thriller"), (7, 8, 9)),
    FixtureTitle("w04", "Paper Lanterns", 2024, "movie", ("animation", "family"), (9, 9, 10, 8, 9)),
    FixtureTitle("w05", "Hollow Creek", 2021, "movie", ("horror",), (5, 6, 4, 7)),
    FixtureTitle("w06", "Laugh Track", 2024, "tv", ("comedy",), (6, 7, 5)),
    FixtureTitle("w07", "Iron Meridian", 2020, "movie", ("war", "history", "drama"), (8, 8)),
    FixtureTitle("w08", "Salt & Saffron", 2023, "tv", ("reality",), (6, 5, 7, 6)),
    FixtureTitle("w09", "Last Light Over Kestrel", 2024, "movie", ("drama", "romance"), (9, 8, 8)),
    FixtureTitle("w10", "The <i>Italic</i> Job", 2019, "movie", ("crime", "comedy"), (7, 6)),
    FixtureTitle("w11", "Deep Field", 2022, "tv", ("documentary",), (9, 9, 8)),
    FixtureTitle("w12", "Ghosts of Harbor Street", 2023, "tv", ("mystery", "drama"), (8, 7, 9, 8)),
    FixtureTitle("w13", "Rocket Pups", 2024, "tv", ("kids", "animation", "comedy"), (8, 9)),
    FixtureTitle("w14", "Quiet Orbit", 2018, "movie", ("science_fiction", "drama"), (7,)),
    FixtureTitle("w15", "Canyon Drifters", 2017, "movie", ("western",), (6,)),
    FixtureTitle("w16", "Velvet Static", 2024, "tv", ("music", "drama"), ()),
)
# title_id -> (rank or None, score, recent reviews)
TRENDING = {
    "w01": (1, 3.1, 6), "w04": (2, 2.8, 5), "w02": (3, 2.5, 4), "w12": (4, 2.2, 4),
    "w09": (5, 2.0, 3), "w06": (6, 1.9, 3), "w03": (7, 1.7, 3), "w11": (8, 1.6, 3),
    "w08": (9, 1.4, 4), "w05": (10, 1.2, 4), "w13": (11, 1.1, 2), "w10": (12, 0.9, 2),
    "w07": (13, 0.8, 2), "w14": (None, 0.4, 1), "w15": (None, 0.3, 1), "w16": (None, 0.0, 0),
}  # fmt: skip
NO_ENRICHMENT = {"w13", "w16"}  # no vibe score: drawn in the chart's "no vibe" band
VIBE_TAGS = ["gripping", "cosy", "big-screen", "twisty", "heartfelt", "eerie", "witty"]


@dataclass
class Browsing:
    """A page plus what it did wrong: console errors and requests that left loopback."""

    page: object
    errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.foreign_requests == [], f"requests left loopback: {self.foreign_requests}"
        assert self.errors == [], f"console errors: {self.errors}"


def _enrich(warehouse: Path) -> None:
    """Enrichments, genre-model predictions and trending scores for most titles."""
    con = duckdb.connect(str(warehouse))
    try:
        names = dict(con.execute("select genre_id, genre_name from genres").fetchall())
        enrichments, predictions = [], {}
        for i, t in enumerate(TITLES):
            if t.title_id not in NO_ENRICHMENT:
                tags = [VIBE_TAGS[(i + k) % len(VIBE_TAGS)] for k in range(3)]
                summary = f"Reviewers on {t.title}: {tags[0]} and {tags[1]}, {tags[2]} at the end."
                rated = [r for r in t.ratings if r is not None] or [5]
                vibe = max(1, min(10, round(sum(rated) / len(rated))))
                enrichments.append((t.title_id, list(t.genre_ids), summary, vibe, tags))
            # The model: the title's own genres likely, a few others not.
            for j, genre_id in enumerate(t.genre_ids):
                predictions[t.title_id, genre_id] = round(0.93 - 0.17 * j, 2)
            for j, genre_id in enumerate(("drama", "comedy", "thriller", "family")):
                predictions.setdefault((t.title_id, genre_id), round(0.31 - 0.07 * j, 2))
        con.execute(
            """
            create or replace table llm_enrichments (
                title_id varchar, provider varchar, model varchar, prompt_version varchar,
                schema_version varchar, genres varchar[], summary varchar, vibe_score integer,
                vibe_tags varchar[])
            """
        )
        con.executemany(
            "insert into llm_enrichments values (?, 'local', 'local-v1', 'v2', '1', ?, ?, ?, ?)",
            enrichments,
        )
        con.execute(
            """
            create or replace table title_predictions (
                title_id varchar, genre_id varchar, genre_name varchar, probability double,
                predicted boolean, model_name varchar, model_version varchar)
            """
        )
        con.executemany(
            "insert into title_predictions values (?, ?, ?, ?, ?, 'logreg', '20240528T000000Z-web')",
            [(tid, gid, names[gid], prob, prob >= 0.5) for (tid, gid), prob in predictions.items()],
        )
        con.execute(
            """
            create or replace table trending_scores (
                title_id varchar, as_of date, recent_reviews bigint, recent_weight double,
                history_reviews bigint, expected_recent double, momentum double,
                relative_volume double, vibe double, vibe_factor double, score double,
                eligible boolean, rank integer)
            """
        )
        con.executemany(
            "insert into trending_scores values (?, ?, ?, ?, 1, 1.0, 1.5, 1.2, 7.0, 1.1, ?, ?, ?)",
            [
                (tid, AS_OF, recent, float(recent), score, rank is not None, rank)
                for tid, (rank, score, recent) in TRENDING.items()
            ],
        )
    finally:
        con.close()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    root = tmp_path_factory.mktemp("web")
    warehouse = write_warehouse(root / "warehouse.duckdb", TITLES, serving=False)
    _enrich(warehouse)
    build_serving_tables(warehouse)  # the real dbt serving models
    info = build_snapshot(warehouse, root / "serving")
    publish_snapshot(root / "serving", info.version)
    with running_api(root / "serving") as client:
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        pytest.skip("Chromium not installed (/usr/bin/chromium; apt-get install chromium)")
    if web.d3_path() is None:
        pytest.skip(f"D3 not installed under {web.vendor_dir()}: run `npm ci` in the repo root")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("TRENDING_TEST_ARTIFACTS") or tmp_path) / "web"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def browsing(browser, api: httpx.Client) -> Iterator[Browsing]:
    context = browser.new_context(
        viewport={"width": 1440, "height": 960}, reduced_motion="reduce", base_url=str(api.base_url)
    )
    context.set_default_timeout(TIMEOUT_MS)
    b = watch(Browsing(context.new_page()))
    try:
        yield b
    finally:
        context.close()


def watch(b: Browsing) -> Browsing:
    """Record ``b.page``'s console errors and page errors on ``b``; let only loopback
    requests through (any other is recorded in ``b.foreign_requests`` and aborted)."""
    page = b.page
    page.on("console", lambda msg: b.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: b.errors.append(f"pageerror: {exc}"))

    def only_loopback(route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            b.foreign_requests.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    return b


def _wait_ready(page, *, genre: str = "", type_: str = "", q: str = "") -> None:
    query = f"genre={genre}&type={type_}&q={q}"
    page.wait_for_selector(f'#app[data-state="ready"][data-query="{query}"]')


def _shown_ids(page) -> list[str]:
    return page.eval_on_selector_all(
        '[data-testid="title-item"]', "nodes => nodes.map(n => n.dataset.titleId)"
    )


def _mark_ids(page) -> list[str]:
    return page.eval_on_selector_all(
        "svg circle.title-mark", "nodes => nodes.map(n => n.dataset.titleId)"
    )


def _trending_ids(api: httpx.Client, **params: str) -> list[str]:
    response = api.get("/trending", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def _assert_chart_matches_list(page) -> list[str]:
    """One mark per title shown, each a title of the list, and nothing else plotted."""
    shown = _shown_ids(page)
    marks = _mark_ids(page)
    assert len(marks) == len(shown), (marks, shown)
    assert sorted(marks) == sorted(shown)
    return shown


def _screenshot(page, artifacts: Path, name: str) -> Path:
    path = artifacts / name
    page.screenshot(path=str(path), full_page=True)
    print(f"\nscreenshot: {path}")
    return path


# ------------------------------------------------------------------- without a browser


def test_page_and_assets_are_served_locally(api: httpx.Client) -> None:
    page = api.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<script type="module" src="/static/app.js">' in html
    for name in ("app.js", "style.css"):
        asset = api.get(f"/static/{name}")
        assert asset.status_code == 200, name
    # No CDN: nothing the page ships references another host.
    for path in sorted(web.STATIC_DIR.rglob("*")):
        if path.is_file() and path.suffix in {".html", ".js", ".css"}:
            text = path.read_text(encoding="utf-8")
            assert "http://" not in text and "https://" not in text and "//cdn" not in text, path
    if web.d3_path() is not None:
        assert 'data-d3="available"' in html and "/static/vendor/d3.min.js" in html
        d3 = api.get("/static/vendor/d3.min.js")
        assert d3.status_code == 200 and "javascript" in d3.headers["content-type"]
        assert d3.content == web.d3_path().read_bytes()
    assert api.get("/static/vendor/other.js").status_code == 404
    assert "/" not in api.get("/schema/openapi.json").json()["paths"]


def test_without_d3_the_page_still_loads_and_says_why(
    api: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    monkeypatch.setenv(web.VENDOR_ENV, str(tmp_path / "empty-node-modules"))
    with caplog.at_level(logging.WARNING, logger="serving.web"):
        html = api.get("/").text
    assert 'data-d3="missing"' in html and "d3.min.js" not in html
    assert any("npm ci" in r.getMessage() for r in caplog.records), caplog.records
    missing = api.get("/static/vendor/d3.min.js")
    assert missing.status_code == 404 and "npm ci" in missing.json()["detail"]


# ------------------------------------------------------------------- in Chromium


def test_page_loads_with_one_mark_per_title(
    browsing: Browsing, api: httpx.Client, artifacts: Path
) -> None:
    page = browsing.page
    page.goto("/")
    _wait_ready(page)
    expected = _trending_ids(api)
    assert len(expected) == 13  # the ranked titles of the fixture
    assert _shown_ids(page) == expected  # in trending order
    _assert_chart_matches_list(page)
    # Titles with no vibe score are plotted too, in their own band.
    assert page.locator("circle.title-mark.no-vibe").count() == 1  # w13
    # Markup in a title is text, not markup.
    item = page.locator('[data-testid="title-item"][data-title-id="w10"]')
    assert "The <i>Italic</i> Job" in item.inner_text()
    assert item.locator("i").count() == 0
    assert page.locator('[data-testid="chart-message"]').is_hidden()
    # Hover shows the title's details.
    page.locator('circle.title-mark[data-title-id="w01"]').hover()
    tooltip = page.locator('[data-testid="tooltip"]')
    assert tooltip.is_visible() and "Starfall Protocol" in tooltip.inner_text()
    _screenshot(page, artifacts, "web-trending.png")
    browsing.assert_clean()


def test_filters_change_what_is_shown(browsing: Browsing, api: httpx.Client) -> None:
    page = browsing.page
    page.goto("/")
    _wait_ready(page)
    everything = _shown_ids(page)

    page.select_option('[data-testid="genre-filter"]', "comedy")
    _wait_ready(page, genre="comedy")
    comedy = _assert_chart_matches_list(page)
    assert comedy == _trending_ids(api, genre="comedy") == ["w02", "w06", "w13", "w10"]
    assert comedy != everything

    page.select_option('[data-testid="type-filter"]', "tv")
    _wait_ready(page, genre="comedy", type_="tv")
    comedy_tv = _assert_chart_matches_list(page)
    assert comedy_tv == _trending_ids(api, genre="comedy", type="tv") == ["w02", "w06", "w13"]
    assert "genre=comedy" in page.url and "type=tv" in page.url

    page.select_option('[data-testid="genre-filter"]', "")
    _wait_ready(page, type_="tv")
    tv = _assert_chart_matches_list(page)
    assert tv == _trending_ids(api, type="tv")
    assert {t.title_id for t in TITLES if t.title_type == "tv"} >= set(tv)

    # A reload keeps the filters (they live in the URL).
    page.reload()
    _wait_ready(page, type_="tv")
    assert _shown_ids(page) == tv
    browsing.assert_clean()


def test_a_genre_with_nothing_trending_shows_its_best_rated(
    browsing: Browsing, api: httpx.Client
) -> None:
    """Western (w15) has too few recent reviews for a rank: the page shows it as best
    rated, with a note, never "0 trending titles"; a genre with some trending titles
    lists those first and the best-rated ones after the note."""
    body = api.get("/trending", params={"limit": 100, "genre": "western"}).json()
    assert [i["basis"] for i in body["items"]] == ["best_rated_fallback"] and body["reason"]
    page = browsing.page
    page.goto("/?genre=western")
    _wait_ready(page, genre="western")
    assert _assert_chart_matches_list(page) == ["w15"]
    summary = page.locator('[data-testid="summary-line"]').inner_text()
    assert "0 trending" not in summary and "Not enough recent reviews" in summary
    note = page.locator('[data-testid="fallback-note"]')
    assert "best rated instead" in note.inner_text()
    assert note.get_attribute("title") == body["reason"]

    # Drama: four trending titles, then the note, then w14 and w16 (unranked).
    page.select_option('[data-testid="genre-filter"]', "drama")
    _wait_ready(page, genre="drama")
    items = api.get("/trending", params={"limit": 100, "genre": "drama"}).json()["items"]
    assert _assert_chart_matches_list(page) == [i["id"] for i in items]
    fallback = [i["id"] for i in items if i["basis"] == "best_rated_fallback"]
    assert sorted(fallback) == ["w14", "w16"]
    order = page.eval_on_selector_all(
        '[data-testid="title-list"] > li',
        "ns => ns.map(n => n.dataset.titleId || n.dataset.testid)",
    )
    assert order[order.index("fallback-note") + 1 :] == fallback
    browsing.assert_clean()


def test_search_shows_results(browsing: Browsing, api: httpx.Client, artifacts: Path) -> None:
    page = browsing.page
    page.goto("/")
    _wait_ready(page)
    page.fill('[data-testid="search-input"]', "Harbor")
    page.press('[data-testid="search-input"]', "Enter")
    _wait_ready(page, q="Harbor")
    body = api.get("/search", params={"q": "Harbor", "limit": 20}).json()
    expected = [item["id"] for item in body["items"]]
    assert expected and expected[0] == "w12", body
    shown = _assert_chart_matches_list(page)
    assert shown == expected
    summary = page.locator('[data-testid="summary-line"]').inner_text()
    assert "Harbor" in summary and body["mode"] in summary

    # Titles that are not trending, or have no vibe score, still get their one mark.
    page.fill('[data-testid="search-input"]', "orbit velvet")
    page.press('[data-testid="search-input"]', "Enter")
    _wait_ready(page, q="orbit velvet")
    body = api.get("/search", params={"q": "orbit velvet", "limit": 20}).json()
    assert {"w14", "w16"} <= {item["id"] for item in body["items"]}, body
    assert _assert_chart_matches_list(page) == [item["id"] for item in body["items"]]

    page.click('[data-testid="clear-search"]')
    _wait_ready(page)
    assert _shown_ids(page) == _trending_ids(api)
    browsing.assert_clean()


def test_click_opens_the_title_panel(
    browsing: Browsing, api: httpx.Client, artifacts: Path
) -> None:
    page = browsing.page
    page.goto("/")
    _wait_ready(page)
    detail = api.get("/titles/w12").json()
    assert detail["enrichment"] and detail["model_genres"]

    page.locator('circle.title-mark[data-title-id="w12"]').click()
    panel = page.locator('[data-testid="title-panel"][data-state="ready"][data-title-id="w12"]')
    panel.wait_for()
    assert panel.locator('[data-testid="panel-title"]').inner_text() == "Ghosts of Harbor Street"
    assert (
        panel.locator('[data-testid="panel-summary"]').inner_text()
        == detail["enrichment"]["summary"]
    )
    tags = panel.locator('[data-testid="panel-tag"]').all_inner_texts()
    assert tags == detail["enrichment"]["vibe_tags"]
    probabilities = sorted(
        detail["model_genres"]["probabilities"], key=lambda p: -p["probability"]
    )[:8]
    rows = panel.locator('[data-testid="probability-row"]')
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.genreId)") == [
        p["genre_id"] for p in probabilities
    ]
    assert f"{round(probabilities[0]['probability'] * 100)}%" in rows.first.inner_text()
    assert page.locator('circle.title-mark.selected[data-title-id="w12"]').count() == 1
    _screenshot(page, artifacts, "web-title-panel.png")

    # "More like this" opens the neighbour's panel.
    similar = api.get("/titles/w12/similar", params={"limit": 5}).json()["items"]
    shown_similar = panel.locator('[data-testid="similar-item"]')
    assert shown_similar.evaluate_all("n => n.map(x => x.dataset.titleId)") == [
        t["id"] for t in similar
    ]
    shown_similar.first.click()
    page.locator(
        f'[data-testid="title-panel"][data-state="ready"][data-title-id="{similar[0]["id"]}"]'
    ).wait_for()

    # Escape closes it; a list item opens another title.
    page.keyboard.press("Escape")
    assert page.locator('[data-testid="title-panel"]').is_hidden()
    page.locator('[data-testid="title-item"][data-title-id="w13"] button').click()
    page.locator('[data-testid="title-panel"][data-state="ready"][data-title-id="w13"]').wait_for()
    assert "No review summary yet" in page.locator('[data-testid="panel-summary"]').inner_text()
    browsing.assert_clean()


def test_panel_of_an_unranked_title_shows_no_rank(browsing: Browsing, api: httpx.Client) -> None:
    """w14 has trending scores but no rank (too few recent reviews): "—", never "#null"."""
    detail = api.get("/titles/w14").json()
    assert detail["trending"] is not None and detail["trending"]["rank"] is None
    page = browsing.page
    page.goto("/")
    _wait_ready(page)
    page.fill('[data-testid="search-input"]', "Quiet Orbit")
    page.press('[data-testid="search-input"]', "Enter")
    _wait_ready(page, q="Quiet Orbit")
    page.locator('[data-testid="title-item"][data-title-id="w14"] button').click()
    panel = page.locator('[data-testid="title-panel"][data-state="ready"][data-title-id="w14"]')
    panel.wait_for()
    rank = panel.locator('[data-testid="panel-rank"] .stat-value').inner_text()
    assert rank == "—"
    assert "null" not in panel.inner_text() and "undefined" not in panel.inner_text()

    # A ranked title still shows its rank.
    page.keyboard.press("Escape")
    page.click('[data-testid="clear-search"]')
    _wait_ready(page)
    page.locator('[data-testid="title-item"][data-title-id="w12"] button').click()
    panel = page.locator('[data-testid="title-panel"][data-state="ready"][data-title-id="w12"]')
    panel.wait_for()
    assert panel.locator('[data-testid="panel-rank"] .stat-value').inner_text() == "#4"
    browsing.assert_clean()


def test_without_d3_the_list_still_works(
    browsing: Browsing, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, api: httpx.Client
) -> None:
    monkeypatch.setenv(web.VENDOR_ENV, str(tmp_path / "no-node-modules"))
    page = browsing.page
    page.goto("/")
    _wait_ready(page)
    message = page.locator('[data-testid="chart-message"]')
    assert message.is_visible() and "npm ci" in message.inner_text()
    assert page.locator("svg circle.title-mark").count() == 0
    assert _shown_ids(page) == _trending_ids(api)
    browsing.assert_clean()


def test_no_snapshot_yet_is_explained(browser, tmp_path: Path) -> None:
    """Before the first snapshot the API answers 503; the page says what to do and retries."""
    (tmp_path / "serving").mkdir()
    with running_api(tmp_path / "serving") as empty_api:
        context = browser.new_context(base_url=str(empty_api.base_url), reduced_motion="reduce")
        context.set_default_timeout(TIMEOUT_MS)
        try:
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto("/")
            page.wait_for_selector('#app[data-state="error"]')
            status = page.locator('[data-testid="status"]')
            assert status.is_visible() and "No snapshot has been published yet" in (
                status.inner_text()
            )
            assert page.locator('[data-testid="empty-list"]').count() == 1
            assert errors == []  # 503s are logged by the browser, but nothing throws
        finally:
            context.close()
