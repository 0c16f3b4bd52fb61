"""What a fan reads on the page, at a desktop (1280×800) and a phone (375×740) width: no
internal ids or hashes in the title panel, and a very long title shown whole (wrapped,
never cut off), in the list and in the panel.

Chromium via ``playwright`` against the real API over loopback, like ``test_web_page``
(whose browser, artifacts and page helpers this reuses), on a small catalogue of its own.
Screenshots land in ``$TRENDING_TEST_ARTIFACTS/web`` (else the test's tmp dir); their
paths are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serving"))
import test_web_page as web_page  # noqa: E402
from serving_fixtures import (  # noqa: E402
    FixtureTitle,
    build_serving_tables,
    running_api,
    write_warehouse,
)
from test_web_page import AS_OF, TIMEOUT_MS, Browsing, _screenshot, _wait_ready  # noqa: E402

from trending_assets.lib.snapshot import build_snapshot, publish_snapshot  # noqa: E402

LONG_TITLE = (
    "The Extraordinarily Unbelievable Chronicles of Supercalifragilisticexpialidociousness "
    "and the Midnight Express to Kathmandu: Part Seventeen"
)
TITLES: tuple[FixtureTitle, ...] = (
    FixtureTitle("c01", LONG_TITLE, 2024, "movie", ("adventure", "comedy"), (9, 8, 9, 8)),
    FixtureTitle("c02", "Harbor Lights", 2023, "tv", ("drama",), (7, 8, 6)),
    FixtureTitle("c03", "Night Shift", 2022, "tv", ("crime", "thriller"), (6, 7)),
    FixtureTitle("c04", "Paper Moon Rising", 2021, "movie", ("romance", "drama"), (8, 8)),
)
RANKS = {"c01": 1, "c02": 2, "c03": 3, "c04": 4}
# What the pipeline really writes into these fields: ids and content hashes.
MODEL_ID = "minilm-extractive+ridge-3f9ac2d417be0a61+tags-5d41402a+genres-logreg@9f86d081884c"
PROMPT_VERSION = "local-v2"
GENRE_MODEL_VERSION = "20240528T000000Z-9f86d081884c7d65"
HEX_HASH = re.compile(r"[0-9a-f]{12,}", re.IGNORECASE)

# The page tests' Chromium and screenshot folder ($TRENDING_TEST_ARTIFACTS, else tmp_path).
browser = web_page.browser
artifacts = web_page.artifacts

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 740}}


@dataclass
class SizedBrowsing(Browsing):
    """``Browsing`` at one named viewport."""

    name: str = ""
    viewport: dict[str, int] = field(default_factory=dict)


def _enrich(warehouse: Path) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        names = dict(con.execute("select genre_id, genre_name from genres").fetchall())
        con.execute(
            """
            create or replace table llm_enrichments (
                title_id varchar, provider varchar, model varchar, prompt_version varchar,
                schema_version varchar, genres varchar[], summary varchar, vibe_score integer,
                vibe_tags varchar[])
            """
        )
        con.executemany(
            "insert into llm_enrichments values (?, 'local', ?, ?, '1', ?, ?, 8, ?)",
            [
                (t.title_id, MODEL_ID, PROMPT_VERSION, list(t.genre_ids),
                 f"Reviewers call {t.title} a delight. The ending lands.",
                 ["gripping", "slow burn", "dark"])
                for t in TITLES
            ],
        )  # fmt: skip
        con.execute(
            """
            create or replace table title_predictions (
                title_id varchar, genre_id varchar, genre_name varchar, probability double,
                predicted boolean, model_name varchar, model_version varchar)
            """
        )
        con.executemany(
            "insert into title_predictions values (?, ?, ?, ?, ?, 'logreg', ?)",
            [
                (t.title_id, gid, names[gid], round(0.9 - 0.2 * j, 2), j == 0, GENRE_MODEL_VERSION)
                for t in TITLES
                for j, gid in enumerate((*t.genre_ids, "family"))
            ],
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
            "insert into trending_scores values (?, ?, 3, 3.0, 1, 1.0, 1.5, 1.2, 8.0, 1.1, ?, true, ?)",
            [(tid, AS_OF, 3.0 - rank / 2, rank) for tid, rank in RANKS.items()],
        )
    finally:
        con.close()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    root = tmp_path_factory.mktemp("web-content")
    warehouse = write_warehouse(root / "warehouse.duckdb", TITLES, serving=False)
    _enrich(warehouse)
    build_serving_tables(warehouse)
    info = build_snapshot(warehouse, root / "serving")
    publish_snapshot(root / "serving", info.version)
    with running_api(root / "serving") as client:
        yield client


@pytest.fixture(params=sorted(VIEWPORTS))
def browsing(request, browser, api: httpx.Client) -> Iterator[SizedBrowsing]:
    viewport = VIEWPORTS[request.param]
    context = browser.new_context(
        viewport=viewport,
        reduced_motion="reduce",
        base_url=str(api.base_url),
        is_mobile=request.param == "phone",
        has_touch=request.param == "phone",
        device_scale_factor=1,
    )
    context.set_default_timeout(TIMEOUT_MS)
    b = SizedBrowsing(context.new_page(), name=request.param, viewport=viewport)
    web_page.watch(b)
    try:
        yield b
    finally:
        context.close()


def _open_panel(page, title_id: str):
    page.locator(f'[data-testid="title-item"][data-title-id="{title_id}"] button').click()
    panel = page.locator(
        f'[data-testid="title-panel"][data-state="ready"][data-title-id="{title_id}"]'
    )
    panel.wait_for()
    return panel


# JS: how an element sits in the viewport, and whether its text is clipped.
_FIT = """el => {
  const box = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  return {left: box.left, right: box.right, width: box.width,
          scrollWidth: el.scrollWidth, clientWidth: el.clientWidth,
          textOverflow: style.textOverflow, whiteSpace: style.whiteSpace,
          viewport: document.documentElement.clientWidth, text: el.textContent};
}"""


def _assert_fully_visible(locator, what: str) -> None:
    fit = locator.evaluate(_FIT)
    assert fit["text"] == LONG_TITLE, (what, fit)
    assert fit["scrollWidth"] <= fit["clientWidth"], (what, "text overflows its box", fit)
    assert fit["left"] >= 0 and fit["right"] <= fit["viewport"] + 0.5, (what, "off screen", fit)
    assert fit["textOverflow"] != "ellipsis" and fit["whiteSpace"] != "nowrap", (what, fit)


def test_the_title_panel_shows_no_internal_ids_or_hashes(
    browsing: SizedBrowsing, api: httpx.Client, artifacts: Path
) -> None:
    # The ids stay in the API's JSON (provenance), for whoever needs them...
    detail = api.get("/titles/c02").json()
    assert detail["enrichment"]["model"] == MODEL_ID
    assert detail["enrichment"]["prompt_version"] == PROMPT_VERSION
    assert detail["model_genres"]["model_version"] == GENRE_MODEL_VERSION
    assert HEX_HASH.search(json.dumps(detail))
    # ...but a fan reading the panel never sees them.
    page = browsing.page
    page.goto("/")
    _wait_ready(page)
    panel = _open_panel(page, "c02")
    text = panel.inner_text()
    assert not HEX_HASH.search(text), HEX_HASH.search(text)
    for internal in (MODEL_ID, PROMPT_VERSION, GENRE_MODEL_VERSION, "logreg", "prompt", "minilm"):
        assert internal not in text, internal
    # A readable credit instead, and the content itself is still there.
    assert "our review model" in panel.locator('[data-testid="panel-credit"]').inner_text()
    assert (
        "predicted by our model" in panel.locator('[data-testid="panel-model-credit"]').inner_text()
    )
    assert (
        panel.locator('[data-testid="panel-tag"]').all_inner_texts()
        == detail["enrichment"]["vibe_tags"]
    )
    _screenshot(page, artifacts, f"web-content-panel-{browsing.name}.png")
    browsing.assert_clean()


def test_a_long_title_is_shown_whole(
    browsing: SizedBrowsing, api: httpx.Client, artifacts: Path
) -> None:
    page = browsing.page
    page.goto("/")
    _wait_ready(page)
    # Nothing on the page is wider than the screen (no sideways scrolling on a phone).
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], widths

    item = page.locator('[data-testid="title-item"][data-title-id="c01"] .title-name')
    item.scroll_into_view_if_needed()
    _assert_fully_visible(item, "list")
    _screenshot(page, artifacts, f"web-content-list-{browsing.name}.png")

    panel = _open_panel(page, "c01")
    heading = panel.locator('[data-testid="panel-title"]')
    _assert_fully_visible(heading, "panel")
    # The panel fits the screen too.
    box = panel.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= browsing.viewport["width"] + 0.5, box
    shot = artifacts / f"web-content-long-title-{browsing.name}.png"
    page.screenshot(path=str(shot))  # what the screen shows, panel open
    print(f"\nscreenshot: {shot}")
    browsing.assert_clean()
