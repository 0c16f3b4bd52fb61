"""Carrying unchanged title pages forward: the rule (scrapers/carry.py), and a crawl of the
next day that carries pages lands what a crawl fetching every page lands."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from scrapers.carry import PreviousCrawl, lastmod_day, page_key
from scrapers.crawl import main
from scrapers.demo_site import build_catalog, serve_demo_sites
from trending_assets.lib.crawl import CARRY_FILES, fetch_previous_crawl, previous_crawl_day

DAY1 = date(2026, 11, 20)
DAY2 = DAY1 + timedelta(days=1)


# --- the rule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-11-30", date(2026, 11, 30)),
        ("2026-11-30T23:30:00-02:00", date(2026, 12, 1)),  # in UTC it is the next day
        ("2026-11-30T10:00:00Z", date(2026, 11, 30)),
        ("2026-11-30T10:00:00", date(2026, 11, 30)),
        (" 2026-11-30 ", date(2026, 11, 30)),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_lastmod_day_reads_w3c_datetimes(text: object, day: date | None) -> None:
    assert lastmod_day(text) == day


def test_pages_match_by_path_and_query_not_origin() -> None:
    assert page_key("http://127.0.0.1:8101/title/a?b=2&a=1#x") == "/title/a?a=1&b=2"
    assert page_key("https://example.org/title/a") == page_key("http://127.0.0.1:9/title/a")


def _previous(fetched_on: str | None = None, items: bool = True) -> PreviousCrawl:
    previous = PreviousCrawl(DAY1)
    entry = {"url": "http://old:1/title/t1", "source": "s", "outcome": "title", "title_id": "t1"}
    if fetched_on:
        entry["fetched_on"] = fetched_on
    rows = [
        {"source": "s", "source_title_id": "t1", "url": "http://old:1/title/t1", "title": "T",
         "crawl_date": DAY1.isoformat()},
    ] if items else []  # fmt: skip
    log = [
        entry,
        {"url": "http://old:1/title/t1/reviews?page=2", "source": "s", "outcome": "reviews",
         "title_id": "t1"},
        {"url": "http://old:1/title/t2", "source": "s", "outcome": "title"},  # no title id
    ]  # fmt: skip
    previous.index(log, rows)
    return previous


def test_a_page_unchanged_since_its_fetch_is_carried_with_todays_date_and_origin() -> None:
    previous = _previous()
    url = "http://new:2/title/t1"
    page = previous.carryable("s", url, DAY1 - timedelta(days=3), DAY2, 7)
    assert page is not None and page.title_id == "t1" and page.fetched_on == DAY1
    rows = previous.carried_rows("s", page, url, DAY2)
    assert rows == [
        {"source": "s", "source_title_id": "t1", "url": "http://new:2/title/t1", "title": "T",
         "crawl_date": DAY2.isoformat()},
    ]  # fmt: skip
    assert previous.reviews_page_urls("s", page, url) == ["http://new:2/title/t1/reviews?page=2"]


@pytest.mark.parametrize(
    ("why", "source", "url", "lastmod", "recrawl_after_days", "fetched_on"),
    [
        ("no lastmod", "s", "http://new:2/title/t1", None, 7, None),
        ("changed the day it was fetched", "s", "http://new:2/title/t1", DAY1, 7, None),
        ("changed after", "s", "http://new:2/title/t1", DAY2, 7, None),
        ("fetched too long ago", "s", "http://new:2/title/t1", DAY1 - timedelta(days=30), 7,
         (DAY2 - timedelta(days=7)).isoformat()),
        ("carrying turned off", "s", "http://new:2/title/t1", DAY1 - timedelta(days=3), 0, None),
        ("another source", "other", "http://new:2/title/t1", DAY1 - timedelta(days=3), 7, None),
        ("a page it did not read", "s", "http://new:2/title/t9", DAY1 - timedelta(days=3), 7,
         None),
        ("no title id in its log", "s", "http://new:2/title/t2", DAY1 - timedelta(days=3), 7,
         None),
    ],
)  # fmt: skip
def test_a_page_is_fetched_when_the_rule_does_not_hold(
    why: str, source, url, lastmod, recrawl_after_days, fetched_on
) -> None:
    previous = _previous(fetched_on)
    assert previous.carryable(source, url, lastmod, DAY2, recrawl_after_days) is None, why


def test_a_title_with_no_listing_is_carried_only_where_items_are_not_required() -> None:
    previous = _previous(items=False)
    args = ("s", "http://new:2/title/t1", DAY1 - timedelta(days=3), DAY2, 7)
    assert previous.carryable(*args) is None
    assert previous.carryable(*args, requires_items=False) is not None


def test_a_carried_page_keeps_the_day_it_was_last_fetched() -> None:
    previous = _previous(fetched_on=(DAY1 - timedelta(days=5)).isoformat())
    page = previous.carryable("s", "http://new:2/title/t1", DAY1 - timedelta(days=9), DAY2, 7)
    assert page is not None and page.fetched_on == DAY1 - timedelta(days=5)


def test_unreadable_lines_of_the_previous_crawl_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "listings.pages.jsonl").write_text(
        '{"url": "http://a/title/t1", "source": "s", "outcome": "title", "title_id": "t1"}\n'
        "{not json\n[1, 2]\n",
        encoding="utf-8",
    )
    (tmp_path / "listings.jsonl").write_text(
        '{"source": "s", "source_title_id": "t1"}\n\xff garbage\n', encoding="utf-8"
    )
    previous = PreviousCrawl.load(tmp_path, "listings", DAY1)
    assert len(previous) == 1 and previous.items == {
        ("s", "t1"): [{"source": "s", "source_title_id": "t1"}]
    }
    assert not len(PreviousCrawl.load(tmp_path / "missing", "listings", DAY1))


def test_the_previous_crawl_is_the_latest_complete_one_before_the_day(tmp_path: Path) -> None:
    prefix = "landing/crawl"
    keys = [f"{prefix}/2026-11-18/{name}" for name in CARRY_FILES]
    keys += [f"{prefix}/2026-11-19/{name}" for name in CARRY_FILES[:2]]  # incomplete
    keys += [f"{prefix}/{DAY2}/{name}" for name in CARRY_FILES]  # not before the day
    keys += [f"{prefix}/not-a-day/{name}" for name in CARRY_FILES]
    assert previous_crawl_day(keys, prefix, DAY2) == date(2026, 11, 18)
    assert previous_crawl_day(keys, prefix, date(2026, 11, 18)) is None

    store = {key: key.encode() for key in keys}
    found = fetch_previous_crawl(store.__getitem__, keys, prefix, DAY2, tmp_path / "prev")
    assert found == (tmp_path / "prev", date(2026, 11, 18))
    assert sorted(p.name for p in (tmp_path / "prev").iterdir()) == sorted(CARRY_FILES)
    assert (
        fetch_previous_crawl(store.__getitem__, keys, prefix, date(2026, 11, 18), tmp_path) is None
    )


# --- a real crawl of the next day -----------------------------------------------------------


def _crawl(out: Path, day: date, *extra: str) -> dict[str, dict]:
    catalog = build_catalog(n_titles=80, seed=7)
    with serve_demo_sites(catalog, as_of=day) as sites:
        argv = ["--out", str(out), "--date", day.isoformat(), "--log-level", "WARNING", *extra]
        assert main([*argv, *(f"{n}={u}" for n, u in sites.urls.items())]) == 0
    return {
        spider: json.loads((out / f"{spider}.stats.json").read_text(encoding="utf-8"))
        for spider in ("listings", "reviews")
    }


def _rows(out: Path, feed: str) -> dict[tuple[str, str], dict]:
    rows = {}
    for line in (out / f"{feed}.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        row.pop("url", None)  # on another port each day
        rows[(row["source"], row.get("source_review_id") or row["source_title_id"])] = row
    return rows


@pytest.fixture(scope="module")
def crawls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    root = tmp_path_factory.mktemp("carry")
    day1 = _crawl(root / "day1", DAY1)
    full = _crawl(root / "full", DAY2)
    carried = _crawl(
        root / "carried", DAY2, "--previous", str(root / "day1"), "--previous-date", str(DAY1)
    )
    return {"day1": (root / "day1", day1), "full": (root / "full", full),
            "carried": (root / "carried", carried)}  # fmt: skip


def test_the_next_day_carried_forward_lands_what_a_full_crawl_lands(crawls) -> None:
    full, carried = crawls["full"][0], crawls["carried"][0]
    for feed in ("listings", "reviews"):
        expected, got = _rows(full, feed), _rows(carried, feed)
        assert expected and got == expected, feed
        assert {row["crawl_date"] for row in got.values()} == {DAY2.isoformat()}


def test_unchanged_pages_are_not_fetched_and_changed_ones_are(crawls) -> None:
    day1_rows = _rows(crawls["day1"][0], "reviews")
    new_reviews = {
        k: r for k, r in _rows(crawls["full"][0], "reviews").items() if k not in day1_rows
    }
    assert new_reviews, "the demo catalogue adds reviews from one day to the next"
    for spider in ("listings", "reviews"):
        full, carried = crawls["full"][1][spider], crawls["carried"][1][spider]
        assert carried["pages"]["carried"] > 0, spider
        assert carried["pages"]["total"] < full["pages"]["total"] / 2, spider
        assert carried["carried_items"] > 0
        log = [json.loads(line) for line in
               (crawls["carried"][0] / f"{spider}.pages.jsonl").read_text().splitlines()]  # fmt: skip
        fetched = {e["title_id"] for e in log if e["outcome"] == "title"}
        carried_ids = {e["title_id"] for e in log if e["outcome"] == "carried"}
        assert not fetched & carried_ids
        assert all(e["fetched_on"] == DAY1.isoformat() for e in log if e["outcome"] == "carried")
    # Every title that got a review since is read again, not carried.
    log = [json.loads(line) for line in
           (crawls["carried"][0] / "reviews.pages.jsonl").read_text().splitlines()]  # fmt: skip
    fetched = {(e["source"], e["title_id"]) for e in log if e["outcome"] == "title"}
    assert {(r["source"], r["source_title_id"]) for r in new_reviews.values()} <= fetched


def test_previous_and_its_date_go_together_and_must_be_earlier(tmp_path: Path) -> None:
    base = [sys.executable, "-m", "scrapers.crawl", "--out", str(tmp_path), "--date", str(DAY2)]
    for extra in (["--previous", str(tmp_path)], ["--previous-date", str(DAY1)],
                  ["--previous", str(tmp_path), "--previous-date", str(DAY2)]):  # fmt: skip
        done = subprocess.run([*base, *extra, "reelhub=http://127.0.0.1:9/"], capture_output=True,
                              text=True, timeout=60)  # fmt: skip
        assert done.returncode == 2 and "--previous" in done.stderr
