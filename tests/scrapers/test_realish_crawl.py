"""A real crawl, zero-config, of the loopback "real-like" site (``realish_site.py``).

``python -m scrapers.crawl ... realish=<url>`` with no site config: discovery from the
start URL, robots.txt and its sitemaps; titles recognised by their content; both
pagination styles; reviews from review pages and from title pages; the 429 retried
after its ``Retry-After``; nothing off the host or under a forbidden path requested;
every fetched page accounted for in the crawl log.
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from parsel import Selector
from realish_site import (
    EXPECTED_REVIEW_COUNT,
    EXPECTED_REVIEWS,
    EXPECTED_TITLES,
    FORBIDDEN_PREFIXES,
    LISTING_TARGETS,
    MISSING_PATH,
    RETRY_PATH,
    REVIEW_TARGETS,
    SITEMAP_ONLY,
    SITEMAP_TARGETS,
    SKIPPED,
    TITLE_PAGES,
    serve_realish_site,
)

REPO = Path(__file__).resolve().parents[2]
CRAWL_DATE = "2026-11-20"
OUTCOMES = {
    "title",
    "reviews",
    "listing",
    "skipped",
    "empty",
    "error",
    "sitemap",
    "robots",
    "other",
}


def _jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _target(url_or_path: str) -> str:
    parts = urlsplit(url_or_path)
    return unquote(parts.path) + (f"?{parts.query}" if parts.query else "")


def _path(url_or_path: str) -> str:
    return unquote(urlsplit(url_or_path).path)


def _run_crawl(url: str, out: Path, sites_dir: Path | None = None) -> subprocess.CompletedProcess:
    extra = ["--sites-dir", str(sites_dir)] if sites_dir else []
    return subprocess.run(
        [sys.executable, "-m", "scrapers.crawl", "--out", str(out), "--date", CRAWL_DATE,
         "--log-level", "WARNING", *extra, f"realish={url}"],
        cwd=REPO, capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def _collect(site, out: Path, result: subprocess.CompletedProcess) -> dict:
    host = urlsplit(site.url).netloc
    pages_logs = {path.name: _jsonl(path) for path in sorted(out.glob("*.pages.jsonl"))}
    stats = {}
    for name in ("listings", "reviews"):
        path = out / f"{name}.stats.json"
        if path.exists():
            stats[name] = json.loads(path.read_text(encoding="utf-8"))
    return {
        "site": site,
        "host": host,
        "out": out,
        "result": result,
        "listings": _jsonl(out / "listings.jsonl"),
        "reviews": _jsonl(out / "reviews.jsonl"),
        "pages_logs": pages_logs,
        "stats": stats,
        "hits": [h for h in list(site.log) if h.host == host],
        "other_hits": [h for h in list(site.log) if h.host != host],
    }


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    out = tmp_path_factory.mktemp("realish")
    with serve_realish_site() as site:
        result = _run_crawl(site.url, out)
        yield _collect(site, out, result)


def _key(listing: dict) -> tuple:
    return (listing["title"], listing["year"], listing["title_type"])


# -- the site itself (no crawl): what the crawl tests below rely on ------------------------


def _fetch(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_realish_site_serves_what_its_docstring_promises() -> None:
    with serve_realish_site() as site:
        base = site.url
        status, headers, body = _fetch(urljoin(base, "robots.txt"))
        assert status == 200 and f"Sitemap: {base}sitemap_index.xml" in body.decode()
        assert "Disallow: /private/" in body.decode()
        status, headers, body = _fetch(urljoin(base, "sitemap-titles.xml.gz"))
        assert status == 200 and headers["Content-Type"] == "application/x-gzip"
        sitemap = gzip.decompress(body).decode()
        for path in SITEMAP_ONLY:
            assert f"<loc>{base.rstrip('/')}{path}</loc>" in sitemap
        assert _fetch(urljoin(base, RETRY_PATH))[0] == 429
        assert _fetch(urljoin(base, RETRY_PATH))[0] == 200
        assert _fetch(urljoin(base, MISSING_PATH))[0] == 404
        assert _fetch(urljoin(base, "title/tt0000101/?ref_=hm_fea_1"))[0] == 200
        assert _fetch(urljoin(base, "wiki/Glasshouse_Rain_%28film%29"))[0] == 200

        # Walk the site as a crawler would (links + sitemaps, robots.txt obeyed).
        pages_sitemap = _fetch(urljoin(base, "sitemap-pages.xml"))[2].decode()
        locs = re.findall(r"<loc>([^<]+)</loc>", sitemap + pages_sitemap)
        queue = ["/", *(_target(loc) for loc in locs)]
        linked: set[str] = set()
        seen: set[str] = set()
        while queue:
            target = queue.pop()
            if target in seen:
                continue
            seen.add(target)
            page_url = urljoin(base, target.lstrip("/"))
            status, _, body = _fetch(page_url)
            if target == MISSING_PATH:
                assert status == 404
                continue
            assert status == 200, target
            for href in Selector(text=body.decode("utf-8")).xpath("//a/@href").getall():
                url = urljoin(page_url, href).split("#")[0]
                if href.startswith("#") or urlsplit(url).netloc != urlsplit(base).netloc:
                    continue
                linked.add(_path(url))
                if not _path(url).startswith(FORBIDDEN_PREFIXES):
                    queue.append(_target(url))
        assert set(EXPECTED_TITLES) <= {_path(t) for t in seen}
        assert not set(SITEMAP_ONLY) & linked, "sitemap-only titles must not be linked"
        assert set(REVIEW_TARGETS) <= seen
        assert "/private/drafts/" in linked and "/private/title/tt0000900/" in linked
    assert len(EXPECTED_TITLES) == 21 and EXPECTED_REVIEW_COUNT == 27


# -- the crawl -------------------------------------------------------------------------------


def test_crawl_exits_zero_and_lands_its_files(crawl):
    result = crawl["result"]
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("listings.jsonl", "reviews.jsonl", "listings.stats.json", "listings.pages.jsonl"):
        assert (crawl["out"] / name).is_file(), name


def test_exactly_the_expected_titles(crawl):
    got = Counter(_key(d) for d in crawl["listings"])
    want = Counter(EXPECTED_TITLES.values())
    assert got == want, {"missing": want - got, "unexpected": got - want}
    assert {d["source"] for d in crawl["listings"]} == {"realish"}
    assert len({d["source_title_id"] for d in crawl["listings"]}) == len(EXPECTED_TITLES)


def test_listing_fields_match_the_fixture_pages(crawl):
    by_key = {_key(d): d for d in crawl["listings"]}
    for page in TITLE_PAGES:
        want = page.expected
        got = by_key.get((want["title"], want["year"], want["title_type"]))
        assert got is not None, page.name
        for field in ("plot", "genres", "release_date"):
            assert got[field] == want[field], (page.name, field, got[field])
        assert got["crawl_date"] == CRAWL_DATE


def test_reviews_counted_attributed_and_normalised(crawl):
    reviews = crawl["reviews"]
    assert len(reviews) == EXPECTED_REVIEW_COUNT, Counter(r["source_title_id"] for r in reviews)
    assert len({r["source_review_id"] for r in reviews}) == len(reviews)
    title_of = {d["source_title_id"]: d["title"] for d in crawl["listings"]}
    name_of_path = {path: value[0] for path, value in EXPECTED_TITLES.items()}
    got = Counter((title_of.get(r["source_title_id"]), r["author"], r["rating"]) for r in reviews)
    want = Counter(
        (name_of_path[path], author, rating) for path, author, rating in EXPECTED_REVIEWS
    )
    assert got == want, {"missing": want - got, "unexpected": got - want}
    for review in reviews:
        assert review["rating"] is None or (
            isinstance(review["rating"], int) and 1 <= review["rating"] <= 10
        )
        assert review["text"] and review["crawl_date"] == CRAWL_DATE


def test_robots_txt_and_host_boundaries_are_respected(crawl):
    paths = [_path(h.path) for h in crawl["hits"]]
    assert not [p for p in paths if p.startswith(FORBIDDEN_PREFIXES)]
    assert not crawl["other_hits"], crawl["other_hits"]
    for entries in crawl["pages_logs"].values():
        for entry in entries:
            assert urlsplit(entry["url"]).netloc == crawl["host"], entry
    agents = {h.user_agent for h in crawl["hits"]}
    assert agents and all(a.startswith("TrendingNowBot/") for a in agents), agents


def test_robots_txt_and_sitemaps_are_read(crawl):
    targets = {_target(h.path) for h in crawl["hits"]}
    assert "/robots.txt" in targets
    assert set(SITEMAP_TARGETS) <= targets


def test_429_is_retried_after_its_pause(crawl):
    hits = [h for h in crawl["hits"] if _path(h.path) == RETRY_PATH and h.method == "GET"]
    assert [h.status for h in hits][0] == 429, hits
    # Both spiders fetch the page; the one refused must come back after the pause.
    assert any(h.status == 200 and h.at - hits[0].at >= 0.9 for h in hits[1:]), (
        "Retry-After: 1 was not honoured"
    )
    backoffs = [s.get("backoff/429", 0) for s in crawl["stats"].values()]
    assert sum(backoffs) == 1, crawl["stats"]
    title = EXPECTED_TITLES[RETRY_PATH]
    assert title in {_key(d) for d in crawl["listings"]}


def test_every_fetched_page_has_exactly_one_outcome(crawl):
    logs = crawl["pages_logs"]
    assert "listings.pages.jsonl" in logs and logs["listings.pages.jsonl"]
    outcomes: dict[str, list[dict]] = defaultdict(list)
    for name, entries in logs.items():
        counts = Counter(_target(e["url"]) for e in entries)
        assert not [t for t, n in counts.items() if n > 1], (name, counts.most_common(3))
        for entry in entries:
            assert {"url", "source", "status", "outcome"} <= set(entry), entry
            assert entry["source"] == "realish" and entry["outcome"] in OUTCOMES, entry
            outcomes[_target(entry["url"])].append(entry)
    fetched = {_target(h.path) for h in crawl["hits"]}
    assert not fetched - set(outcomes), sorted(fetched - set(outcomes))

    def by_path(path: str) -> list[dict]:
        return [e for target, entries in outcomes.items() if _path(target) == path for e in entries]

    for path in EXPECTED_TITLES:
        assert "title" in {e["outcome"] for e in by_path(path)}, path
    assert any(e["outcome"] == "title" and e["status"] == 200 for e in by_path(RETRY_PATH))
    for target in REVIEW_TARGETS:
        assert "reviews" in {e["outcome"] for e in outcomes[target]}, target
    for path in ("/shows/northbound-static/season-1/episode-1/", "/name/nm0000203/",
                 "/tv/456-copper-valley/season/1/episode/3", "/game/lanternfall/",
                 "/company/co0000301/"):  # fmt: skip
        entries = by_path(path)
        assert entries, path
        assert all(e["outcome"] == "skipped" for e in entries), entries
        assert {e.get("detail") for e in entries} == {SKIPPED[path]}, entries
    for target in LISTING_TARGETS:
        assert {e["outcome"] for e in outcomes[target]} == {"listing"}, target
    missing = outcomes[MISSING_PATH]
    assert missing and all(e["outcome"] == "error" and e["status"] == 404 for e in missing)
    assert all("404" in str(e.get("detail")) for e in missing)
    assert {e["outcome"] for e in outcomes["/robots.txt"]} == {"robots"}
    for target in SITEMAP_TARGETS:
        assert {e["outcome"] for e in outcomes[target]} == {"sitemap"}, target


def test_stats_count_the_titles_per_source(crawl):
    stats = crawl["stats"]["listings"]
    assert stats["sources"]["realish"]["titles"] == len(EXPECTED_TITLES)
    assert stats["items"] == len(crawl["listings"])


def test_start_from_a_deep_url_discovers_the_site_through_sitemaps(tmp_path):
    with serve_realish_site() as site:
        # The page has no links at all: the rest is only reachable through robots.txt.
        result = _run_crawl(urljoin(site.url, "films/ribbon-of-smoke"), tmp_path)
        found = _collect(site, tmp_path, result)
    assert result.returncode == 0, result.stderr[-3000:]
    targets = {_target(h.path) for h in found["hits"]}
    assert "/robots.txt" in targets and "/sitemap-titles.xml.gz" in targets
    got = {_key(d) for d in found["listings"]}
    assert {EXPECTED_TITLES[p] for p in SITEMAP_ONLY} <= got
    assert got == set(EXPECTED_TITLES.values())
    assert not [h for h in found["hits"] if _path(h.path).startswith(FORBIDDEN_PREFIXES)]


def test_links_to_pages_already_requested_cost_no_page_budget(crawl, tmp_path):
    """Real pages link to the same titles again and again (menus, "more like this",
    every page of a list). Those repeats must not use up the page budget: with a budget
    just above the pages each spider fetched, the crawl still gets everything. (When the
    repeats counted, a budget of this size got 9 of the 21 titles.)"""
    budget = max(len(log) for log in crawl["pages_logs"].values()) + 2
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "realish.yml").write_text(f"name: realish\nmax_pages: {budget}\n", encoding="utf-8")
    out = tmp_path / "out"
    with serve_realish_site() as site:
        result = _run_crawl(site.url, out, sites_dir=sites)
        found = _collect(site, out, result)
    assert result.returncode == 0, result.stderr[-3000:]
    assert {_key(d) for d in found["listings"]} == set(EXPECTED_TITLES.values())
    assert len(found["reviews"]) == len(crawl["reviews"]) == EXPECTED_REVIEW_COUNT
    for name, stats in found["stats"].items():
        assert stats.get("links/already_requested", 0) > 0, name
        assert not stats.get("source/realish/budget_skipped"), (name, budget)
    assert "page budget" not in result.stderr


def test_a_site_with_no_titles_fails_the_crawl(tmp_path):
    with serve_realish_site(variant="empty") as site:
        result = _run_crawl(site.url, tmp_path)
        paths = {_path(h.path) for h in site.log}
    assert result.returncode == 3, (result.returncode, result.stderr[-3000:])
    assert "realish" in result.stderr and "0 titles" in result.stderr, result.stderr[-3000:]
    assert {"/", "/about/"} <= paths
