"""The demo catalog: deterministic, big and varied enough to train on, honest about trouble."""

from __future__ import annotations

import csv
import urllib.error
import urllib.request
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from scrapers.demo_site import (
    CANONICAL_GENRES,
    SITES,
    TROUBLE_KINDS,
    build_catalog,
    serve_demo_sites,
)
from scrapers.demo_site.catalog import MOVIE_ONLY, NEW_RELEASES_FROM, TV_ONLY
from scrapers.demo_site.render import RENDERERS

SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"


@pytest.fixture(scope="module")
def catalog():
    return build_catalog()


def _genre_map(site: str) -> dict[str, set[str]]:
    mapping: dict[str, set[str]] = {}
    with open(SEEDS / "genre_maps" / f"genre_map_{site}.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            mapping.setdefault(row["source_genre"], set())
            if row["genre_id"]:
                mapping[row["source_genre"]].add(row["genre_id"])
    return mapping


def test_same_seed_same_catalog_and_other_seed_differs(catalog):
    again = build_catalog()
    assert again.titles == catalog.titles
    for site in SITES:
        assert again.sites[site].listings == catalog.sites[site].listings
        assert again.sites[site].troubles == catalog.sites[site].troubles
    other = build_catalog(seed=7)
    assert [t.name for t in other.titles] != [t.name for t in catalog.titles]


def test_size_types_and_languages(catalog):
    assert len(catalog.titles) >= 1000
    movie_share = sum(t.title_type == "movie" for t in catalog.titles) / len(catalog.titles)
    assert 0.6 < movie_share < 0.8
    languages = Counter(t.original_language for t in catalog.titles)
    assert languages["en"] / len(catalog.titles) > 0.6
    assert {"fr", "es", "ja", "ko", "de", "hi"} <= set(languages)
    assert all(t.release_date.year == t.year for t in catalog.titles)


def test_titles_unique_except_the_planted_duplicate(catalog):
    names = Counter(t.name.lower() for t in catalog.titles)
    assert max(names.values()) == 1
    reelhub = catalog.sites["reelhub"]
    listed_names = Counter(lst.title.name for lst in reelhub.listings)
    assert [n for n, c in listed_names.items() if c > 1] == [
        lst.title.name for lst in reelhub.listings if "duplicate_title" in lst.troubles
    ]


def test_every_genre_present_and_type_rules_hold(catalog):
    seen = Counter(g for t in catalog.titles for g in t.genres)
    assert set(seen) == set(CANONICAL_GENRES)
    for t in catalog.titles:
        assert 1 <= len(t.genres) <= 4
        assert len(set(t.genres)) == len(t.genres)
        if t.title_type == "movie":
            assert not TV_ONLY & set(t.genres)
        else:
            assert not MOVIE_ONLY & set(t.genres)
    multi = sum(len(t.genres) > 1 for t in catalog.titles) / len(catalog.titles)
    assert multi > 0.5


def test_reviews_volume_spread_and_sentiment(catalog):
    counts = [len(t.reviews) for t in catalog.titles]
    assert sum(counts) / len(counts) >= 10
    assert max(counts) <= 40 and min(counts) == 0
    reviews = [r for t in catalog.titles for r in t.reviews]
    assert all(
        t.release_date <= r.review_date <= date(2026, 12, 31)
        for t in catalog.titles
        for r in t.reviews
    )
    assert len({r.review_date.year for r in reviews}) > 5
    positive = (
        "excellent",
        "loved",
        "brilliant",
        "superb",
        "masterpiece",
        "stunning",
        "great",
        "impressive",
        "enjoyable",
        "very good",
        "hooked",
        "easy to recommend",
        "adored",
        "flawless",
    )
    negative = (
        "awful",
        "hated",
        "terrible",
        "dreadful",
        "boring",
        "worst",
        "disappointing",
        "weak",
        "dull",
        "flat",
        "mediocre",
        "forgettable",
        "avoid",
    )

    def tone(text: str) -> int:
        low = text.lower()
        return sum(w in low for w in positive) - sum(w in low for w in negative)

    rated = [r for r in reviews if r.rating is not None and 1 <= r.rating <= 10 and r.text.strip()]
    high = [tone(r.text) for r in rated if r.rating >= 8]
    low = [tone(r.text) for r in rated if r.rating <= 3]
    assert sum(x > 0 for x in high) / len(high) > 0.8
    assert sum(x < 0 for x in low) / len(low) > 0.8


def test_plots_carry_genre_vocabulary_with_distractors(catalog):
    plotted = [t for t in catalog.titles if t.plot]
    assert len(plotted) / len(catalog.titles) > 0.95
    horror = [t for t in plotted if "horror" in t.genres]
    horror_words = (
        "haunted",
        "dread",
        "demon",
        "possessed",
        "cursed",
        "slasher",
        "blood",
        "nightmare",
    )
    assert sum(any(w in t.plot for w in horror_words) for t in horror) / len(horror) > 0.75
    not_horror = [t for t in plotted if "horror" not in t.genres]
    leak = sum(any(w in t.plot for w in horror_words) for t in not_horror) / len(not_horror)
    assert 0.01 < leak < 0.3
    lengths = Counter(t.plot.count(". ") + 1 for t in plotted)
    assert len(lengths) >= 4


def test_new_titles_arrive_after_october(catalog):
    new = [t for t in catalog.titles if t.listed_on >= NEW_RELEASES_FROM]
    assert 0.1 < len(new) / len(catalog.titles) < 0.2
    assert {t.listed_on.month for t in new} == {10, 11, 12}
    for site in catalog.sites.values():
        assert (
            len(site.listed(date(2026, 10, 15)))
            < len(site.listed(date(2026, 11, 20)))
            < len(site.listed(date(2026, 12, 31)))
        )


def test_site_membership_and_vocabularies_match_the_seeds(catalog):
    n = len(catalog.titles)
    on = {site: {lst.title.key for lst in catalog.sites[site].listings} for site in SITES}
    assert 0.65 < len(on["reelhub"]) / n < 0.85
    assert 0.45 < len(on["filmfolio"]) / n < 0.65
    assert len(on["reelhub"] & on["filmfolio"]) / n > 0.2
    for site in SITES:
        mapping = _genre_map(site)
        used = {label for lst in catalog.sites[site].listings for label in lst.labels}
        assert used == set(mapping), f"{site} labels differ from its mapping seed"
        for lst in catalog.sites[site].listings:
            mapped = set().union(*(mapping[label] for label in lst.labels))
            assert mapped == set(lst.title.genres), (site, lst.site_id, lst.labels)


def test_trouble_manifest_covers_every_kind(catalog):
    kinds = {t.kind for t in catalog.troubles(date(2026, 12, 31))}
    assert kinds == set(TROUBLE_KINDS)
    for site in SITES:
        site_kinds = {t.kind for t in catalog.sites[site].troubles}
        expected = set(TROUBLE_KINDS) - (
            {"malformed_jsonld", "duplicate_title"} if site == "filmfolio" else set()
        )
        assert site_kinds == expected
        # Planted on established titles, so any crawl from October on meets all of them.
        assert all(t.visible_from < NEW_RELEASES_FROM for t in catalog.sites[site].troubles)


def test_non_utf8_pages_are_encoded_in_their_charset(catalog):
    for site in SITES:
        renderer = RENDERERS[site](catalog.sites[site])
        odd = [lst for lst in catalog.sites[site].listings if "non_utf8" in lst.troubles]
        assert odd
        for lst in odd:
            page = renderer.title_page(lst, date(2026, 12, 31), "http://x/")
            assert page.charset in ("windows-1252", "iso-8859-1")
            body = page.encoded()
            assert lst.title.name.encode(page.charset) in body
            with pytest.raises(UnicodeDecodeError):
                body.decode("utf-8")


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode("latin-1")
    except urllib.error.HTTPError as error:
        return error.code, ""


def test_server_clock_robots_and_transient_errors():
    small = build_catalog(60, seed=5)
    with serve_demo_sites(small, as_of=date(2026, 9, 30)) as sites:
        base = sites.urls["reelhub"]
        status, robots = _get(base + "robots.txt")
        assert (
            status == 200
            and "Disallow: /private/" in robots
            and f"Sitemap: {base}sitemap.xml" in robots
        )
        status, sitemap = _get(base + "sitemap.xml")
        assert status == 200 and "<urlset" in sitemap

        late = next(
            lst for lst in small.sites["reelhub"].listings if lst.listed_on > date(2026, 10, 1)
        )
        assert _get(f"{base}title/{late.site_id}")[0] == 404
        sites.set_as_of(date(2026, 12, 31))
        assert _get(f"{base}title/{late.site_id}")[0] == 200

        flaky = next(
            lst for lst in small.sites["reelhub"].listings if "transient_500" in lst.troubles
        )
        assert _get(f"{base}title/{flaky.site_id}")[0] == 500
        assert _get(f"{base}title/{flaky.site_id}")[0] == 200
        statuses = [
            r.status for r in sites.requests_for("reelhub") if r.path == f"/title/{flaky.site_id}"
        ]
        assert statuses == [500, 200]
