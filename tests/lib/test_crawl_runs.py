"""Running a crawl and reading what it says per source (trending_assets.lib.crawl), the
settings' source entries, the raw tables' new columns, and the crawl log in the landing area.

The exit-status-3 contract is tested twice: against a stand-in process (the parsing) and
against the real `python -m scrapers.crawl` on a loopback site with no title at all.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from trending_assets.lib import crawl, landing
from trending_assets.lib.ingest import store_raw_batch
from trending_assets.lib.lake import LocalLake
from trending_assets.lib.validation import CrawledListing, split_valid_rows
from trending_assets.lib.warehouse import (
    CRAWL_SOURCES_TABLE,
    ensure_raw_tables,
    replace_crawl_sources,
)
from trending_assets.settings import TrendingSettings, check_source_entry, crawl_plan

DAY = date(2026, 10, 2)

# The stats files' per-source shape (docs/contracts.md): today's and the older one.
NEW_STATS = {
    "listings": {
        "sources": {
            "reelhub": {"pages": 40, "items": 30, "titles": 30, "listing_pages": 9,
                        "skipped": 1, "empty": 0, "errors": 0},
            "bare": {"pages": 3, "items": 0, "titles": 0, "listing_pages": 1, "skipped": 2,
                     "empty": 0, "errors": 0},
        },
        "outcomes": {"title": 30, "listing": 10, "skipped": 3},
        "missing_fields": {"plot": 4, "year": 1},
    },
    "reviews": {"sources": {"reelhub": {"pages": 50, "reviews": 120, "items": 120}}},
}  # fmt: skip
OLD_STATS = {
    "listings": {"sources": {"reelhub": {"pages": 12, "items": 10}}},
    "reviews": {"sources": {"reelhub": {"pages": 9, "items": 25}}},
}


# --- entries and names -----------------------------------------------------------------


def test_sources_pass_through_as_entries() -> None:
    assert crawl.source_arguments({"reelhub": "http://a/"}) == ["reelhub=http://a/"]
    entries = ["reelhub=http://a/", " filmfolio ", "https://www.example.org/films"]
    assert crawl.source_arguments(entries) == [
        "reelhub=http://a/",
        "filmfolio",
        "https://www.example.org/films",
    ]
    assert [crawl.source_name(e) for e in crawl.source_arguments(entries)] == [
        "reelhub",
        "filmfolio",
        None,  # a bare URL: the crawler names it after its host
    ]


def test_source_entries_accept_pairs_site_names_and_urls(tmp_path: Path, monkeypatch) -> None:
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "mysite.yml").write_text("start_urls: [https://example.org/]\n")
    monkeypatch.setenv(
        "TRENDING_SOURCES", "a_site=https://a.example/, mysite ,https://www.b.example/x"
    )
    monkeypatch.setenv("TRENDING_SITES_DIR", str(sites))
    settings = TrendingSettings()
    assert settings.sites_dir == sites
    assert settings.source_entries() == [
        "a_site=https://a.example/",
        "mysite",
        "https://www.b.example/x",
    ]
    assert settings.source_urls() == {"a_site": "https://a.example/"}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("nosuchsite", "'nosuchsite': a bare site name needs a site file nosuchsite.yml"),
        ("Bad Name", "'Bad Name' is neither name=http(s)://..."),
        ("a=ftp://x/", "'a=ftp://x/' is not of the form name=http(s)://"),
        ("a=", "'a=' is not of the form name=http(s)://"),
        ("https://", "'https://' is not an http(s) URL"),
    ],
)
def test_a_bad_source_entry_is_an_error_naming_it(tmp_path: Path, entry: str, message: str) -> None:
    with pytest.raises(ValueError, match="TRENDING_SOURCES entry") as error:
        check_source_entry(entry, [tmp_path])
    assert message in str(error.value)


def test_a_bare_site_name_is_found_in_the_built_in_folder(tmp_path: Path) -> None:
    builtin = tmp_path / "builtin"
    builtin.mkdir()
    (builtin / "reelhub.yaml").write_text("start_urls: [http://127.0.0.1:8101/]\n")
    assert check_source_entry(" reelhub ", [tmp_path / "user", builtin]) == "reelhub"


@pytest.mark.parametrize(
    ("profile", "sources", "plan"),
    [
        ("demo", [], ([], True)),
        ("demo", ["a=https://a.example/"], (["a=https://a.example/"], False)),
        ("demo", ["demo", "a=https://a.example/"], (["a=https://a.example/"], True)),
        ("full", ["a=https://a.example/"], (["a=https://a.example/"], False)),
        ("full", ["demo"], ([], True)),
    ],
)
def test_the_crawl_plan_follows_the_profile(
    tmp_path: Path, profile: str, sources: list[str], plan: tuple[list[str], bool]
) -> None:
    assert crawl_plan(sources, [tmp_path], profile) == plan


def test_the_full_profile_with_no_source_is_an_error_not_a_demo_crawl(
    tmp_path: Path, monkeypatch
) -> None:
    with pytest.raises(ValueError, match="TRENDING_PROFILE=full crawls only TRENDING_SOURCES"):
        crawl_plan([], [tmp_path], "full")
    with pytest.raises(ValueError, match="use demo or full"):
        crawl_plan([], [tmp_path], "production")
    monkeypatch.setenv("TRENDING_PROFILE", "demo")
    monkeypatch.delenv("TRENDING_SOURCES", raising=False)
    assert TrendingSettings().uses_demo_sites


# --- what the crawler reports per source -------------------------------------------------


def test_empty_source_lines_name_the_source_and_cause() -> None:
    stderr = (
        "listings: 3 items, 4 pages\n"
        "crawl failed: listings: source bare yielded 0 titles (3 pages: 1 listing with 0"
        " title links, 2 skipped: not a title)\n"
        "crawl failed: listings: source other yielded 0 titles\n"
        "crawl failed: reviews: no stats file\n"
    )
    assert crawl.parse_empty_sources(stderr) == {
        "bare": "3 pages: 1 listing with 0 title links, 2 skipped: not a title",
        "other": "",
    }


def test_source_summary_reads_todays_and_older_stats() -> None:
    summary = crawl.source_summary(NEW_STATS, sources=["reelhub", "bare", "silent"])
    listings = summary[summary["spider"] == "listings"].set_index("source")
    assert listings.loc["reelhub", ["pages", "titles", "listing_pages", "skipped"]].tolist() == [
        40,
        30,
        9,
        1,
    ]
    assert listings.loc["bare", "titles"] == 0
    assert "3 page(s) fetched, none a title page" in listings.loc["bare", "empty_cause"]
    assert listings.loc["silent", "empty_cause"] == "no page fetched"
    assert listings.loc["reelhub", "empty_cause"] is None
    reviews = summary[summary["spider"] == "reviews"].set_index("source")
    assert reviews.loc["reelhub", "reviews"] == 120

    old = crawl.source_summary(OLD_STATS).set_index(["spider", "source"])
    assert old.loc[("listings", "reelhub"), "titles"] == 10  # `items`, no `titles` yet
    assert old.loc[("reviews", "reelhub"), "reviews"] == 25

    table = crawl.source_summary_markdown(summary)
    assert table.splitlines()[0] == (
        "| source | pages | titles | reviews | listing pages | skipped | empty | errors |"
    )
    assert "| bare | 3 | 0 | 0 | 1 | 2 | 0 | 0 |" in table
    assert "**bare yielded 0 titles**" in table


def _fake_crawl(monkeypatch, returncode: int, stderr: str, stats: dict) -> list[list[str]]:
    """Stand in for the crawl process: write the files a crawl writes, exit as told."""
    calls: list[list[str]] = []

    def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        calls.append(command)
        out = Path(command[command.index("--out") + 1])
        for feed in crawl.FEEDS:
            (out / f"{feed}.jsonl").write_text("")
            (out / f"{feed}.stats.json").write_text(json.dumps(stats.get(feed, {})))
            (out / f"{feed}.pages.jsonl").write_text(
                json.dumps({"url": "http://x/", "source": "bare", "outcome": "skipped"}) + "\n"
            )
        return subprocess.CompletedProcess(command, returncode, "", stderr)

    monkeypatch.setattr(crawl, "_run_streaming", run)
    return calls


def test_exit_status_3_is_a_completed_crawl_naming_its_empty_sources(
    tmp_path: Path, monkeypatch
) -> None:
    stderr = "crawl failed: listings: source bare yielded 0 titles (no title page found)\n"
    calls = _fake_crawl(monkeypatch, 3, stderr, NEW_STATS)
    output = crawl.run_crawl(
        ["reelhub=http://a/", "bare"], tmp_path, crawl_date=DAY, sites_dir=tmp_path / "sites"
    )
    assert calls[0][-4:] == ["--sites-dir", str(tmp_path / "sites"), "reelhub=http://a/", "bare"]
    assert output.returncode == 3
    assert output.empty_sources == ["bare"]
    assert output.empty_causes == {"bare": "no title page found"}
    assert output.failures == [stderr.strip()]
    assert output.outcomes("listings") == {"listing": 10, "skipped": 3, "title": 30}
    assert output.outcomes("reviews") == {"skipped": 1}  # counted from the crawl log
    assert output.missing_fields("listings") == {"plot": 4, "year": 1}


def test_exit_status_3_without_lines_takes_the_empty_sources_from_the_stats(
    tmp_path: Path, monkeypatch
) -> None:
    _fake_crawl(monkeypatch, 3, "", NEW_STATS)
    output = crawl.run_crawl({"reelhub": "http://a/"}, tmp_path, crawl_date=DAY)
    assert output.empty_sources == ["bare"]


@pytest.mark.parametrize("returncode", [1, 2, 137])
def test_other_failures_raise(tmp_path: Path, monkeypatch, returncode: int) -> None:
    _fake_crawl(monkeypatch, returncode, "crawl failed: listings: no stats file\n", {})
    with pytest.raises(crawl.CrawlError, match=f"crawl exited with {returncode}"):
        crawl.run_crawl({"a": "http://a/"}, tmp_path, crawl_date=DAY)


@pytest.fixture
def titleless_site() -> Iterator[str]:
    """A loopback site whose one page names no movie or show: a crawl finds no title."""
    page = (
        b"<!doctype html><html><head><title>Garden tips</title></head><body>"
        b"<h1>Tomatoes in October</h1><p>Water them less as the nights get cold.</p>"
        b"</body></html>"
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/robots.txt":
                body, status, kind = b"User-agent: *\nAllow: /\n", 200, "text/plain"
            elif self.path in ("/", "/index.html"):
                body, status, kind = page, 200, "text/html; charset=utf-8"
            else:
                body, status, kind = b"not found", 404, "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_the_real_crawl_of_a_titleless_site_exits_3_and_names_it(
    tmp_path: Path, titleless_site: str
) -> None:
    progress: list[tuple[str, bool]] = []
    output = crawl.run_crawl(
        {"gardening": titleless_site},
        tmp_path / "out",
        crawl_date=DAY,
        timeout_s=300,
        on_progress=lambda text, final: progress.append((text, final)),
    )
    # each spider's last progress line came through while the crawl ran, marked final
    finals = [text for text, final in progress if final]
    assert any(t.startswith("listings: ") and t.endswith("(finished)") for t in finals), progress
    assert any(t.startswith("reviews: ") for t in finals), progress
    assert output.returncode == crawl.EXIT_EMPTY_SOURCES
    assert output.empty_sources == ["gardening"]
    assert output.empty_causes["gardening"]  # the crawler says why
    assert any("source gardening yielded 0 titles" in line for line in output.failures)
    for feed in crawl.FEEDS:  # every file is written all the same
        assert output.feed_path(feed).exists()
        assert output.stats_path(feed).exists()
        assert output.pages_path(feed).exists()
    pages = [json.loads(line) for line in output.pages_path("listings").read_text().splitlines()]
    assert any(p["url"] == titleless_site and p["source"] == "gardening" for p in pages)
    summary = crawl.source_summary(
        output.stats, sources=["gardening"], empty_causes=output.empty_causes
    )
    row = summary[(summary["spider"] == "listings") & (summary["source"] == "gardening")]
    assert row["titles"].tolist() == [0]
    assert row["pages"].tolist()[0] >= 1


def test_the_crawl_process_is_read_as_it_runs_and_killed_at_its_timeout(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "print('2026 [x] INFO: crawl progress: listings: 50 pages, 40 items, 0 dropped', "
        "file=sys.stderr, flush=True)\n"
        "print('plain line', flush=True)\n"
        "time.sleep(60)\n"
    )
    seen: list[tuple[str, bool]] = []
    with pytest.raises(crawl.CrawlError, match="did not finish within 2s"):
        crawl._run_streaming(
            [sys.executable, "-c", script],
            timeout_s=2,
            on_progress=lambda text, final: seen.append((text, final)),
        )
    assert seen == [("listings: 50 pages, 40 items, 0 dropped", False)]


def test_the_crawl_process_output_is_kept_for_its_failure_lines() -> None:
    script = (
        "import sys; print('crawl failed: listings: no stats file', file=sys.stderr); sys.exit(1)"
    )
    completed = crawl._run_streaming([sys.executable, "-c", script], timeout_s=30, on_progress=None)
    assert completed.returncode == 1
    assert "crawl failed: listings: no stats file" in completed.stderr


# --- verdicts over raw.crawl_sources ------------------------------------------------------


def _summary_rows(day: date, titles: dict[str, int], crawled_at: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"crawl_date": day, "spider": "listings", "source": source, "pages": n + 1,
             "titles": n, "empty_cause": None if n else "no title page",
             "crawled_at": pd.Timestamp(crawled_at)}
            for source, n in titles.items()
        ]
    )  # fmt: skip


def test_the_checked_day_is_the_runs_partition_else_the_latest_crawl() -> None:
    summary = pd.concat(
        [
            _summary_rows(date(2026, 10, 1), {"a": 10}, "2026-10-05 08:00"),
            _summary_rows(date(2026, 10, 3), {"a": 9}, "2026-10-03 08:00"),
        ]
    )
    # the 1st was re-crawled last (a backfill): it is the latest crawl
    assert crawl.crawl_day_to_check(summary) == date(2026, 10, 1)
    assert crawl.crawl_day_to_check(summary, "2026-10-03") == date(2026, 10, 3)
    assert crawl.crawl_day_to_check(summary, "2026-10-02") == date(2026, 10, 1)  # not crawled
    assert crawl.crawl_day_to_check(pd.DataFrame()) is None


def test_empty_sources_and_sharp_drops_against_the_previous_crawl() -> None:
    summary = pd.concat(
        [
            _summary_rows(date(2026, 10, 1), {"a": 100, "b": 40, "c": 0}, "2026-10-01 08:00"),
            _summary_rows(date(2026, 10, 2), {"a": 49, "b": 20, "c": 5, "d": 0}, "2026-10-02"),
        ]
    )
    day = date(2026, 10, 2)
    assert crawl.empty_sources_on(summary, day)["source"].tolist() == ["d"]
    drops = crawl.yield_drops(summary, day)
    # a: 100 -> 49 (< 50 %); b: 40 -> 20 is exactly half, not below; c had nothing to lose
    assert drops.to_dict("records") == [
        {"source": "a", "previous_day": "2026-10-01", "before": 100, "after": 49, "ratio": 0.49}
    ]


# --- the raw tables ------------------------------------------------------------------------


def test_crawl_sources_are_replaced_per_day() -> None:
    con = duckdb.connect()
    ensure_raw_tables(con)
    summary = crawl.source_summary(NEW_STATS, sources=["reelhub", "bare"])
    assert replace_crawl_sources(con, DAY, summary) == 4
    assert replace_crawl_sources(con, DAY, summary.head(1)) == 1
    replace_crawl_sources(con, date(2026, 10, 3), summary)
    rows = con.execute(
        f"select crawl_date, spider, source, titles, empty_cause is not null"
        f" from {CRAWL_SOURCES_TABLE} order by all"
    ).fetchall()
    assert rows[0] == (DAY, "listings", "bare", 0, True)
    assert len(rows) == 5


def test_a_warehouse_from_before_genre_vocabulary_still_loads(tmp_path: Path) -> None:
    """An older raw.listings (no genre_vocabulary) gains the column; its rows stay, null."""
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute(
        """create table raw.listings (
            source varchar, source_title_id varchar, url varchar, title varchar, year integer,
            title_type varchar, plot varchar, genres varchar[], original_language varchar,
            release_date date, ingested_at timestamp, crawl_date date)"""
    )
    con.execute(
        "insert into raw.listings values ('reelhub', 'rh-1', null, 'Old', 2020, 'movie', null,"
        " ['Drama'], null, null, now(), date '2026-09-24')"
    )
    lake = LocalLake(tmp_path / "lake")

    def store(rows: list[dict], day: date):
        return store_raw_batch(
            con,
            lake,
            table="listings",
            model=CrawledListing,
            rows=pd.DataFrame(rows).assign(crawl_date=day),
            asset="raw/listings",
            partition=day.isoformat(),
            lake_key=f"raw/listings/crawl_date={day}/listings.parquet",
            where="crawl_date = ?",
            params=[day],
        )

    # a feed from before the field: no genre_vocabulary anywhere
    older = store([{"source": "reelhub", "source_title_id": "rh-2", "title": "Older feed",
                    "title_type": "tv", "genres": []}], DAY)  # fmt: skip
    newer = store([{"source": "cinemaplex", "source_title_id": "c-1", "title": "New",
                    "year": 2024, "title_type": "movie", "genres": ["Sci-Fi"],
                    "genre_vocabulary": "tmdb"}], date(2026, 10, 3))  # fmt: skip
    assert (older.rows, older.quarantined, newer.rows, newer.quarantined) == (1, 0, 1, 0)
    assert con.execute(
        "select source_title_id, genre_vocabulary from raw.listings order by 1"
    ).fetchall() == [("c-1", "tmdb"), ("rh-1", None), ("rh-2", None)]


def test_crawled_listing_genre_vocabulary_is_optional_and_a_slug() -> None:
    frame = pd.DataFrame(
        {
            "source": "s",
            "source_title_id": ["1", "2", "3"],
            "url": None,
            "title": "T",
            "year": pd.array([2020] * 3, dtype="Int64"),
            "title_type": "movie",
            "plot": None,
            "genres": [["Drama"]] * 3,
            "original_language": None,
            "crawl_date": DAY,
        }
    )
    assert split_valid_rows(frame, CrawledListing).quarantined.empty  # no column at all
    frame["genre_vocabulary"] = [None, "ok_vocab_1", "Not A Slug"]
    outcome = split_valid_rows(frame, CrawledListing)
    assert outcome.valid["source_title_id"].tolist() == ["1", "2"]
    assert outcome.quarantined["reason"].str.contains("genre_vocabulary").tolist() == [True]


def test_the_crawl_log_is_kept_in_the_landing_area_but_never_ingested(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path)
    key = f"landing/crawl/{DAY}/listings.pages.jsonl"
    parsed = landing.parse_key(key)
    assert parsed is not None and (parsed.feed, parsed.kind) == ("listings", "pages")
    log = b'{"url": "http://x/", "source": "a", "outcome": "title", "items": 1}\n'
    lake.write_bytes(key, log)
    lake.write_bytes(f"landing/acme/{DAY}/listings.pages.jsonl", log)
    assert landing.inspect_file(parsed, log).ok
    feed = landing.load_partition_feed(lake, DAY.isoformat(), "listings")
    assert feed.rows.empty and feed.rejects.empty
    scan = landing.scan_landing(lake, landing.LandingCursor())
    assert not scan.accepted
    assert [i.key for i in scan.sidecars] == [f"landing/acme/{DAY}/listings.pages.jsonl"]
