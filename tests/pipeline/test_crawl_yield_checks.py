"""raw_crawl against a configured source that yields no title: the crawl completes, its
per-source summary is stored and shown, and the blocking check on raw/listings fails
naming the source (so nothing downstream runs); its fall from the previous crawl day
raises the warning check."""

import http.server
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from trending_assets.defs.ingest.assets import RAW_LISTINGS, daily_partitions, raw_crawl
from trending_assets.defs.ingest.checks import (
    crawl_sources_yield_titles,
    crawl_yield_stable,
    raw_listings_check,
)
from trending_assets.defs.resources import CrawlerResource, LakeResource, WarehouseResource
from trending_assets.lib.crawl import source_summary
from trending_assets.lib.warehouse import ensure_raw_tables, replace_crawl_sources

DAY = "2026-10-02"
PREVIOUS_DAY = date(2026, 10, 1)


@pytest.fixture
def titleless_site() -> Iterator[str]:
    """A loopback site whose one page names no movie or show."""
    page = (
        b"<!doctype html><html><head><title>Garden tips</title></head><body>"
        b"<h1>Tomatoes in October</h1><p>Water them less as the nights get cold.</p>"
        b"</body></html>"
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/robots.txt":
                body, status = b"User-agent: *\nAllow: /\n", 200
            elif self.path == "/":
                body, status = page, 200
            else:
                body, status = b"not found", 404
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@dg.asset(deps=[RAW_LISTINGS], partitions_def=daily_partitions)
def downstream_of_raw_listings() -> None:
    """Stands for everything after the crawl: it must not run on a blocked crawl."""


def test_a_source_with_no_title_fails_the_blocking_check_naming_it(
    tmp_path: Path, titleless_site: str
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    # The previous crawl day found 12 titles there (a layout change since?).
    with duckdb.connect(str(warehouse)) as con:
        ensure_raw_tables(con)
        before = source_summary(
            {"listings": {"sources": {"gardening": {"pages": 20, "titles": 12}}}}
        )
        replace_crawl_sources(con, PREVIOUS_DAY, before)

    result = dg.materialize(
        [
            raw_crawl,
            raw_listings_check,
            crawl_sources_yield_titles,
            crawl_yield_stable,
            downstream_of_raw_listings,
        ],
        partition_key=DAY,
        resources={
            "crawler": CrawlerResource(sources=[f"gardening={titleless_site}"], timeout_s=300),
            "lake": LakeResource(local_root=str(tmp_path / "lake")),
            "warehouse": WarehouseResource(database=str(warehouse)),
        },
        raise_on_error=False,
    )

    materialized = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    # the crawl completed and was stored; the blocked downstream never ran
    assert {"raw/listings", "raw/reviews"} <= set(materialized)
    assert "downstream_of_raw_listings" not in materialized
    listings = materialized["raw/listings"]
    assert listings["dagster/row_count"].value == 0
    assert "| gardening |" in listings["crawl_sources"].value
    assert "**gardening yielded 0 titles**" in listings["crawl_sources"].value
    assert list(listings["empty_sources"].value) == ["gardening"]
    assert isinstance(listings["crawl_outcomes"].value, dict)

    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    blocking = checks["crawl_sources_yield_titles"]
    assert not blocking.passed
    assert blocking.severity == dg.AssetCheckSeverity.ERROR
    assert "gardening" in blocking.description
    assert blocking.metadata["empty_source_names"].value == "gardening"
    assert blocking.metadata["empty_sources"].value["gardening"]  # the cause
    assert blocking.metadata["crawl_date"].value == DAY

    warning = checks["crawl_yield_stable"]
    assert not warning.passed
    assert warning.severity == dg.AssetCheckSeverity.WARN
    assert f"gardening: 12 titles on {PREVIOUS_DAY} -> 0 on {DAY}" in warning.description

    assert checks["raw_listings_matches_CrawledListing"].passed

    with duckdb.connect(str(warehouse), read_only=True) as con:
        stored = con.execute(
            "select crawl_date, spider, source, titles, empty_cause from raw.crawl_sources"
            " where crawl_date = ? order by spider",
            [date.fromisoformat(DAY)],
        ).df()
    listings_row = stored[stored["spider"] == "listings"].iloc[0]
    assert (listings_row["source"], listings_row["titles"]) == ("gardening", 0)
    assert listings_row["empty_cause"]
    assert set(stored["spider"]) == {"listings", "reviews"}
    assert (tmp_path / "lake" / "landing" / "crawl" / DAY / "listings.pages.jsonl").exists()
    # The crawl recorded its day beside the warehouse: daily partitions start there.
    assert (tmp_path / "first_crawl_day").read_text().strip() == DAY


def test_a_bare_site_name_without_a_site_file_is_an_error_naming_it(tmp_path: Path) -> None:
    result = dg.materialize(
        [raw_crawl],
        partition_key=DAY,
        resources={
            "crawler": CrawlerResource(sources=["nosuchsite"], sites_dir=str(tmp_path)),
            "lake": LakeResource(local_root=str(tmp_path / "lake")),
            "warehouse": WarehouseResource(database=str(tmp_path / "w.duckdb")),
        },
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = str(failure.event_specific_data.error)
    assert "'nosuchsite': a bare site name needs a site file nosuchsite.yml" in message


def test_the_full_profile_without_sources_fails_instead_of_crawling_the_demo(
    tmp_path: Path,
) -> None:
    result = dg.materialize(
        [raw_crawl],
        partition_key=DAY,
        resources={
            "crawler": CrawlerResource(profile="full", sources=[]),
            "lake": LakeResource(local_root=str(tmp_path / "lake")),
            "warehouse": WarehouseResource(database=str(tmp_path / "w.duckdb")),
        },
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "TRENDING_PROFILE=full crawls only TRENDING_SOURCES" in str(
        failure.event_specific_data.error
    )
    assert not (tmp_path / "lake" / "landing").exists()


def test_checks_pass_quietly_before_any_crawl(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("select 1")
    for check in (crawl_sources_yield_titles, crawl_yield_stable):
        context = dg.build_asset_check_context(
            resources={"warehouse": WarehouseResource(database=str(tmp_path / "w.duckdb"))}
        )
        outcome = check(context)
        assert outcome.passed
        assert "no crawl recorded yet" in outcome.metadata["note"].value


def test_summary_frames_round_trip_through_the_table(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        ensure_raw_tables(con)
        replace_crawl_sources(con, PREVIOUS_DAY, pd.DataFrame(columns=["spider", "source"]))
        assert con.execute("select count(*) from raw.crawl_sources").fetchone() == (0,)
