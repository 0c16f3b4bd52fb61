"""Entity-encoded markup, from raw rows to the API's JSON: never served as live markup.

Titles and plots arrive entity-encoded (``&lt;img src=x onerror=...&gt;``) from crawled
sites, dataset files and the TMDb API. Decoding happens in ``clean_text`` (the scrapers'
item pipeline, and the dbt macro every staging model applies); both strip the tags that
decoding produces and defuse a ``<`` that could still open one. Checked end to end: raw
rows -> the real ``dbt build`` -> the serving snapshot -> the API over HTTP.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from serving_fixtures import running_api

from scrapers.pipelines import clean_text
from trending_assets.lib.snapshot import build_snapshot, publish_snapshot

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dbt"))
import test_dbt_build as dbt_fixture  # noqa: E402  (its raw-table DDL and dbt runner)

# Where an HTML parser would start a tag, a comment or a declaration.
LIVE_MARKUP = re.compile(r"<[A-Za-z/!?]")

XSS_TITLE = "Harbor &lt;img src=x onerror=alert(1)&gt;Lights"
XSS_PLOT = (
    "&lt;script&gt;alert(1)&lt;/script&gt;A ferry&#60;svg onload=alert(2)&#62; crosses "
    "the bay &amp;lt;b&amp;gt; at night. I &lt;3 it, a &lt; b. &lt;img src=x onerror=alert(3)"
)


def _row(template: tuple, source_title_id: str, title: str, plot: str) -> tuple:
    """A copy of one of the dbt fixture's raw rows with our id, title and plot (the column
    order is the raw contract's: source, source_title_id, url, title, year, type, plot ...)."""
    row = list(template)
    row[1], row[2], row[3], row[6] = source_title_id, None, title, plot
    return tuple(row)


def _insert(con: duckdb.DuckDBPyConnection, table: str, row: tuple) -> None:
    con.execute(f"insert into {table} values ({', '.join('?' * len(row))})", list(row))


@pytest.fixture(scope="module")
def hostile_api(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    tmp_path = tmp_path_factory.mktemp("hostile")
    warehouse = tmp_path / "warehouse.duckdb"
    dbt_fixture.write_raw_warehouse(warehouse)
    with duckdb.connect(str(warehouse)) as con:
        # Crawled: what the Scrapy item pipeline stores (its clean_text), and what an
        # external crawler dropping landing files might store (raw): dbt cleans both.
        crawl = dbt_fixture.CRAWL_LISTINGS[-3]
        _insert(con, "raw.listings", _row(crawl, "x-1", clean_text(XSS_TITLE), XSS_PLOT))
        _insert(con, "raw.listings", _row(crawl, "x-2", "Deep &lt;iframe src=//evil&gt; Blue",
                                          clean_text(XSS_PLOT)))  # fmt: skip
        # Dataset files and the TMDb API: raw strings, decoded only by the dbt macro.
        _insert(con, "raw.dataset_listings",
                _row(dbt_fixture.DATASET_LISTINGS[1], "x-3", "Quiet &#x3C;b&#x3E;Fields", XSS_PLOT))  # fmt: skip
        _insert(con, "raw.api_releases",
                _row(dbt_fixture.API_RELEASES[0], "x-4", "Night &lt;a href=&quot;javascript:alert(4)&quot;&gt;Owl&lt;/a&gt;",
                     XSS_PLOT))  # fmt: skip
    code, _, output = dbt_fixture.run_dbt_build(warehouse)
    assert code == 0, output[-4000:]
    serving = tmp_path / "serving"
    publish_snapshot(serving, build_snapshot(warehouse, serving).version)
    with running_api(serving) as client:
        ids = {
            item["title"]: item["id"]
            for item in client.get("/titles", params={"limit": 100}).json()["items"]
        }
        yield client, ids


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_decoded_markup_is_stripped_not_served(
    hostile_api: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, ids = hostile_api
    assert {"Harbor Lights", "Deep Blue", "Quiet Fields", "Night Owl"} <= set(ids), ids
    detail = client.get(f"/titles/{ids['Harbor Lights']}").json()
    # Tags gone (with <script> blocks, their content: dbt drops them whole), the text
    # around them kept; "<3" and "a < b" are text and stay; markup escaped twice stays
    # escaped (inert); an unclosed tag keeps its words but cannot open a tag.
    assert detail["plot"] == (
        "A ferry crosses the bay &lt;b&gt; at night. I <3 it, a < b. < img src=x onerror=alert(3)"
    )


def test_no_text_field_served_holds_live_markup(
    hostile_api: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, ids = hostile_api
    responses = [
        client.get("/titles", params={"limit": 100}),
        client.get("/search", params={"q": "harbor ferry night owl quiet deep"}),
        client.get("/genres"),
        *(client.get(f"/titles/{title_id}") for title_id in ids.values()),
    ]
    checked = 0
    for response in responses:
        assert response.status_code == 200, response.text
        for text in _strings(response.json()):
            assert not LIVE_MARKUP.search(text), (str(response.url), text)
            checked += 1
    assert checked > 50
