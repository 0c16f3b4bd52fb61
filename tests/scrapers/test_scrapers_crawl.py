"""End to end over loopback: the real crawl CLI against the demo sites, every trouble
page accounted for, and the standalone ``scrapy crawl`` command."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from html import unescape
from pathlib import Path

import pytest

from scrapers.demo_site import TROUBLE_KINDS, build_catalog, serve_demo_sites

REPO = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 20)
STATS_KEYS = {
    "spider",
    "finish_reason",
    "elapsed_seconds",
    "pages",
    "responses",
    "items",
    "drops",
    "dropped",
    "errors",
    "retries",
    "robots_forbidden",
    "extraction",
    "sources",
    "item_scraped_count",
    "response_received_count",
    "crawl_date",
    "source_urls",
}


def _norm(text: str) -> str:
    return " ".join(unescape(text).split())


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    catalog = build_catalog(150, seed=42)
    out = tmp_path_factory.mktemp("crawl")
    with serve_demo_sites(catalog, as_of=AS_OF) as sites:
        started = time.perf_counter()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "scrapers.crawl",
                "--out",
                str(out),
                "--date",
                "2026-11-20",
                "--log-level",
                "WARNING",
                *(f"{name}={url}" for name, url in sites.urls.items()),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=180,
        )
        elapsed = time.perf_counter() - started
        yield {
            "catalog": catalog,
            "sites": sites,
            "out": out,
            "result": result,
            "elapsed": elapsed,
            "listings": _jsonl(out / "listings.jsonl") if (out / "listings.jsonl").exists() else [],
            "reviews": _jsonl(out / "reviews.jsonl") if (out / "reviews.jsonl").exists() else [],
            "stats": {
                name: json.loads((out / f"{name}.stats.json").read_text())
                for name in ("listings", "reviews")
                if (out / f"{name}.stats.json").exists()
            },
            "log": list(sites.log),
        }


def test_crawl_succeeds_and_lands_the_contract_files(crawl):
    assert crawl["result"].returncode == 0, crawl["result"].stderr[-3000:]
    for name in ("listings.jsonl", "reviews.jsonl", "listings.stats.json", "reviews.stats.json"):
        assert (crawl["out"] / name).is_file()
    for name, stats in crawl["stats"].items():
        assert set(stats) >= STATS_KEYS, name
        assert stats["finish_reason"] == "finished"
        assert stats["crawl_date"] == "2026-11-20"
        assert set(stats["sources"]) == {"reelhub", "filmfolio"}
        assert stats["items"] == sum(s.get("items", 0) for s in stats["sources"].values())
    assert crawl["stats"]["listings"]["items"] == len(crawl["listings"])
    assert crawl["stats"]["reviews"]["items"] == len(crawl["reviews"])
    assert set(crawl["listings"][0]) == {
        "source",
        "source_title_id",
        "url",
        "title",
        "year",
        "title_type",
        "plot",
        "genres",
        "original_language",
        "release_date",
        "genre_vocabulary",
        "crawl_date",
    }
    assert {d["genre_vocabulary"] for d in crawl["listings"]} == {"reelhub", "filmfolio"}
    assert set(crawl["reviews"][0]) == {
        "source",
        "source_review_id",
        "source_title_id",
        "author",
        "rating",
        "review_date",
        "text",
        "crawl_date",
    }


def test_every_listed_title_and_shown_review_is_crawled_exactly(crawl):
    catalog = crawl["catalog"]
    listings = {(d["source"], d["source_title_id"]): d for d in crawl["listings"]}
    reviews = {(d["source"], d["source_review_id"]): d for d in crawl["reviews"]}
    assert len(listings) == len(crawl["listings"]) and len(reviews) == len(crawl["reviews"])
    expected_reviews = 0
    for site, site_catalog in catalog.sites.items():
        listed = site_catalog.listed(AS_OF)
        assert {k for k in listings if k[0] == site} == {(site, lst.site_id) for lst in listed}
        for lst in listed:
            item, title = listings[(site, lst.site_id)], lst.title
            assert item["title"] == _norm(lst.display_name)
            assert (item["year"], item["title_type"], item["plot"]) == (
                title.year,
                title.title_type,
                title.plot,
            )
            assert item["genres"] == list(lst.labels)
            assert item["release_date"] == title.release_date.isoformat()
            assert item["original_language"] == title.original_language
            for r in lst.reviews:
                bad = (r.rating is not None and not 1 <= r.rating <= 10) or not _norm(
                    r.text.replace("<p>", "").replace("</p>", "")
                )
                if r.review_date > AS_OF or bad:
                    assert (site, r.review_id) not in reviews
                    continue
                expected_reviews += 1
                got = reviews[(site, r.review_id)]
                assert (got["source_title_id"], got["rating"], got["text"], got["author"]) == (
                    lst.site_id,
                    r.rating,
                    r.text,
                    r.author,
                )
    assert expected_reviews == len(reviews)


def test_robots_txt_obeyed(crawl):
    paths = [r.path for r in crawl["log"]]
    assert not [p for p in paths if p.startswith("/private/")]
    for site in ("reelhub", "filmfolio"):
        assert any(r.site == site and r.path == "/robots.txt" for r in crawl["log"])
        agents = {r.user_agent for r in crawl["log"] if r.site == site}
        assert agents and all(a.startswith("TrendingNowBot/") for a in agents)
    private = sum(t.kind == "private_link" for t in crawl["catalog"].troubles(AS_OF))
    for stats in crawl["stats"].values():
        assert stats["robots_forbidden"] == private


def test_every_trouble_page_is_accounted_for(crawl):
    troubles = crawl["catalog"].troubles(AS_OF)
    kinds = Counter(t.kind for t in troubles)
    assert set(kinds) == set(TROUBLE_KINDS), "each kind must be exercised by this crawl"
    listings = {(d["source"], d["source_title_id"]): d for d in crawl["listings"]}
    review_ids = {(d["source"], d["source_review_id"]) for d in crawl["reviews"]}
    by_path = {}
    for record in crawl["log"]:
        by_path.setdefault((record.site, record.path), []).append(record.status)
    lst_stats, rev_stats = crawl["stats"]["listings"], crawl["stats"]["reviews"]
    title_of = {
        (s, lst.site_id): lst.title for s, c in crawl["catalog"].sites.items() for lst in c.listings
    }

    for t in troubles:
        key = (t.site, t.site_id)
        if t.kind in (
            "malformed_jsonld",
            "slow",
            "transient_500",
            "duplicate_title",
            "non_utf8",
            "markup_in_text",
        ):
            assert key in listings, t
            assert listings[key]["plot"] == title_of[key].plot, t
        if t.kind == "missing_plot":
            assert listings[key]["plot"] is None
        elif t.kind == "non_utf8":
            assert listings[key]["title"] == title_of[key].name and not title_of[key].name.isascii()
        elif t.kind == "transient_500":
            # One 500, then 200s (the two spiders ask concurrently; the log order may vary).
            assert sorted(by_path[(t.site, t.path)]).count(500) == 1, t
            assert 200 in by_path[(t.site, t.path)], t
        elif t.kind == "slow":
            assert 200 in by_path[(t.site, t.path)]
        elif t.kind == "duplicate_title":
            twins = [
                k
                for k, v in listings.items()
                if k[0] == t.site and v["title"] == listings[key]["title"]
            ]
            assert len(twins) == 2
        elif t.kind == "duplicate_link":
            # "?ref=featured" only tracks the click: the crawler asks for the title once.
            assert (t.site, t.path) not in by_path
            assert set(by_path[(t.site, t.path.split("?")[0])]) == {200}
        elif t.kind == "broken_link":
            assert set(by_path[(t.site, t.path)]) == {404}
        elif t.kind == "private_link":
            assert (t.site, t.path) not in by_path
        elif t.kind in ("bad_review_rating", "bad_review_text"):
            assert (t.site, t.review_id) not in review_ids

    malformed = kinds["malformed_jsonld"]
    extraction = lst_stats["extraction"]
    assert extraction.get("jsonld_malformed", 0) + extraction.get("jsonld_repaired", 0) == malformed
    assert lst_stats["drops"] == {}
    assert rev_stats["drops"] == {
        "rating_out_of_range": kinds["bad_review_rating"],
        "missing_text": kinds["bad_review_text"],
    }
    for stats in (lst_stats, rev_stats):
        assert stats["errors"] == {"status/404": kinds["broken_link"]}
    # The one-shot 500 goes to whichever spider asks first; the retry recovers it.
    assert lst_stats["retries"] + rev_stats["retries"] == kinds["transient_500"]


def test_shared_titles_appear_in_both_sources(crawl):
    def key(d: dict) -> tuple:
        return (d["title"].casefold(), d["year"], d["title_type"])

    by_source = {
        source: {key(d) for d in crawl["listings"] if d["source"] == source}
        for source in ("reelhub", "filmfolio")
    }
    shared = by_source["reelhub"] & by_source["filmfolio"]
    expected = sum(
        1
        for t in crawl["catalog"].titles
        if t.listed_on <= AS_OF
        and t.key in {lst.title.key for lst in crawl["catalog"].sites["filmfolio"].listings}
        and t.key in {lst.title.key for lst in crawl["catalog"].sites["reelhub"].listings}
    )
    assert len(shared) == expected > 20
    quirky = [d for d in crawl["listings"] if d["source"] == "filmfolio" and key(d) in shared]
    reel = {key(d): d["title"] for d in crawl["listings"] if d["source"] == "reelhub"}
    assert any(d["title"] != reel[key(d)] for d in quirky), (
        "case variants should survive to staging"
    )


def test_standalone_scrapy_crawl_command(tmp_path):
    catalog = build_catalog(40, seed=3)
    with serve_demo_sites(catalog, as_of=AS_OF) as sites:
        out = tmp_path / "out.jsonl"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "scrapy",
                "crawl",
                "listings",
                "-a",
                f"sources=filmfolio={sites.urls['filmfolio']}",
                "-a",
                "crawl_date=2026-11-20",
                "-O",
                str(out),
                "-s",
                "LOG_LEVEL=WARNING",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr[-3000:]
    items = _jsonl(out)
    expected = {lst.site_id for lst in catalog.sites["filmfolio"].listed(AS_OF)}
    assert {d["source_title_id"] for d in items} == expected
    assert {d["source"] for d in items} == {"filmfolio"}
    stats = json.loads((tmp_path / "listings.stats.json").read_text())
    assert stats["items"] == len(items) and stats["finish_reason"] == "finished"


def test_page_capped_smoke_crawl_is_not_a_failure(tmp_path):
    catalog = build_catalog(40, seed=3)
    with serve_demo_sites(catalog, as_of=AS_OF) as sites:
        result = subprocess.run(
            [sys.executable, "-m", "scrapers.crawl", "--out", str(tmp_path), "--max-pages", "8",
             "--log-level", "WARNING", *(f"{n}={u}" for n, u in sites.urls.items())],
            cwd=REPO, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    stats = json.loads((tmp_path / "listings.stats.json").read_text())
    assert stats["finish_reason"] == "closespider_pagecount"
    assert 0 < stats["items"] < len(catalog.sites["reelhub"].listed(AS_OF))


def test_unreachable_source_is_a_hard_failure(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "scrapers.crawl", "--out", str(tmp_path), "--log-level", "ERROR",
         "reelhub=http://127.0.0.1:9/"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "no page read from reelhub" in result.stderr
    assert "no page could be read" in result.stderr
