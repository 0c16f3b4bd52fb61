"""Extraction on pages rendered by the demo sites and on hand-written edge cases."""

from __future__ import annotations

import re
from datetime import date

import pytest
from parsel import Selector

from scrapers import extract
from scrapers.demo_site import build_catalog
from scrapers.demo_site.render import RENDERERS
from scrapers.pipelines import normalize_listing, normalize_review
from scrapers.sites import BUILTIN_SITES_DIR, load_site

AS_OF = date(2026, 12, 31)
BASE = "http://127.0.0.1:9/"
# The demo sites' own site files: their selectors cover pages whose JSON-LD is broken.
SITES = {name: load_site(BUILTIN_SITES_DIR / f"{name}.yml") for name in ("reelhub", "filmfolio")}


@pytest.fixture(scope="module")
def catalog():
    return build_catalog(120, seed=11)


def _page(catalog, site: str, listing, reviews: bool = False) -> Selector:
    renderer = RENDERERS[site](catalog.sites[site])
    page = (
        renderer.reviews_page(listing, 1, AS_OF, BASE)
        if reviews
        else renderer.title_page(listing, AS_OF, BASE)
    )
    return Selector(text=page.encoded().decode(page.charset))


def _first(catalog, site: str, trouble: str | None = None, with_reviews: bool = False):
    for lst in catalog.sites[site].listings:
        wanted = (trouble is None and not lst.troubles) or (trouble in lst.troubles)
        if wanted and (not with_reviews or len(lst.reviews) > 3):
            return lst
    raise LookupError(trouble)


def _expected(lst) -> dict:
    t = lst.title
    return {
        "source_title_id": lst.site_id,
        "title": lst.display_name,
        "year": t.year,
        "title_type": t.title_type,
        "genres": list(lst.labels),
        "original_language": t.original_language,
        "release_date": t.release_date.isoformat(),
    }


def _subset(record: dict, expected: dict) -> dict:
    return {k: record.get(k) for k in expected}


def test_reelhub_jsonld_title(catalog):
    lst = _first(catalog, "reelhub")
    result = extract.extract_listing(_page(catalog, "reelhub", lst), BASE + "title/x")
    assert result.method == "jsonld" and result.jsonld_malformed == 0
    record = result.records[0]
    assert _subset(record, _expected(lst)) == _expected(lst)
    assert record["plot"] == lst.title.plot
    assert record["url"] == f"{BASE}title/{lst.site_id}"


def test_reelhub_html_fallback_matches_jsonld(catalog):
    lst = _first(catalog, "reelhub")
    sel = _page(catalog, "reelhub", lst)
    stripped = Selector(text=re.sub(r"<script.*?</script>", "", sel.get(), flags=re.S))
    result = extract.extract_listing(stripped, BASE, SITES["reelhub"])
    assert result.method == "html"
    assert _subset(result.records[0], _expected(lst)) == _expected(lst)


def test_malformed_jsonld_is_repaired_or_falls_back(catalog):
    broken = [
        lst for lst in catalog.sites["reelhub"].listings if "malformed_jsonld" in lst.troubles
    ]
    assert broken
    for lst in broken:
        result = extract.extract_listing(_page(catalog, "reelhub", lst), BASE, SITES["reelhub"])
        assert result.jsonld_malformed + result.jsonld_repaired == 1
        record = normalize_listing({"source": "reelhub", **result.records[0]}, "2026-12-31")
        assert record["title"] == lst.display_name
        assert record["plot"] == lst.title.plot
        assert record["genres"] == list(lst.labels)


@pytest.mark.parametrize(
    "block, objects, malformed, repaired",
    [
        ('{"@type": "Movie", "name": "A"}', 1, 0, 0),
        ('[{"@type": "Movie", "name": "A"}, {"@type": "Thing"}]', 2, 0, 0),
        (
            '{"@context": "https://schema.org", "@graph": [{"@type": ["Movie"], "name": "A"}]}',
            1,
            0,
            0,
        ),
        ('{"@type": "Movie", "name": "A",}', 1, 0, 1),
        ('{"@type": "Movie", "description": "line\nbreak"}', 1, 0, 1),
        ('<!-- {"@type": "Movie", "name": "A"} -->', 1, 0, 0),
        ('{"@type": "Movie", "name": "A"', 0, 1, 0),
        ('{"@type": "Movie", "name": "The "A""}', 0, 1, 0),
        ("", 0, 0, 0),
    ],
)
def test_parse_jsonld_tolerates_broken_blocks(block, objects, malformed, repaired):
    result = extract.parse_jsonld([block])
    assert (len(result.objects), result.malformed, result.repaired) == (
        objects,
        malformed,
        repaired,
    )


def test_jsonld_value_shapes():
    html = """<html><head><script type="application/ld+json">
    {"@type": "TVSeries", "name": {"@value": "Show"}, "url": "http://s/tv/abc-1",
     "startDate": "2019-04-02T00:00:00Z", "genre": "Drama", "inLanguage": {"name": "French"}}
    </script></head><body></body></html>"""
    record = extract.extract_listing(Selector(text=html)).records[0]
    assert record == {
        "source_title_id": "abc-1",
        "url": "http://s/tv/abc-1",
        "title": "Show",
        "year": 2019,
        "title_type": "tv",
        "plot": None,
        "genres": ["Drama"],
        "original_language": "fr",
        "release_date": "2019-04-02",
    }


def test_page_without_anything_extracts_nothing():
    result = extract.extract_listing(Selector(text="<html><body><p>hi</p></body></html>"))
    assert result.records == [] and result.method == "none"


def test_filmfolio_title_page(catalog):
    lst = _first(catalog, "filmfolio")
    result = extract.extract_listing(_page(catalog, "filmfolio", lst), BASE + "film/x")
    assert result.method == "html"
    assert _subset(result.records[0], _expected(lst)) == _expected(lst)
    assert result.records[0]["plot"] == lst.title.plot.replace("'", "&#x27;")


def test_missing_plot_and_markup_plot_on_both_sites(catalog):
    for site in ("reelhub", "filmfolio"):
        lst = _first(catalog, site, "missing_plot")
        assert extract.extract_listing(_page(catalog, site, lst), BASE).records[0]["plot"] is None
        lst = _first(catalog, site, "markup_in_text")
        raw = extract.extract_listing(_page(catalog, site, lst), BASE).records[0]["plot"]
        assert "<" in raw or "&lt;" in raw
        record = normalize_listing(
            {"source": site, **extract.extract_listing(_page(catalog, site, lst), BASE).records[0]}
        )
        assert record["plot"] == lst.title.plot


def test_non_utf8_filmfolio_page_relies_on_meta_charset(catalog):
    lst = _first(catalog, "filmfolio", "non_utf8")
    renderer = RENDERERS["filmfolio"](catalog.sites["filmfolio"])
    page = renderer.title_page(lst, AS_OF, BASE)
    assert page.content_type_header() == "text/html"
    assert 'charset=iso-8859-1"' in page.body


@pytest.mark.parametrize("site", ["reelhub", "filmfolio"])
def test_reviews_page(catalog, site):
    lst = _first(catalog, site, with_reviews=True)
    sel = _page(catalog, site, lst, reviews=True)
    result = extract.extract_reviews(sel, None, site=SITES[site])
    assert result.method == ("jsonld" if site == "reelhub" else "html")
    shown = sorted(
        (r for r in lst.reviews if r.review_date <= AS_OF),
        key=lambda r: (r.review_date, r.review_id),
        reverse=True,
    )[:10]
    got = {r["source_review_id"]: r for r in result.records}
    assert list(got) == [r.review_id for r in shown]
    for review in shown:
        record = got[review.review_id]
        assert record["source_title_id"] == lst.site_id
        assert record["rating"] == review.rating
        assert record["review_date"] == review.review_date.isoformat()
        assert (
            normalize_review({"source": site, **record})["text"] == review.text
            if review.text.strip()
            else True
        )
    if site == "reelhub":
        stripped = Selector(text=re.sub(r"<script.*?</script>", "", sel.get(), flags=re.S))
        html_only = extract.extract_reviews(stripped, None, site=SITES[site]).records
        assert [r["source_review_id"] for r in html_only] == list(got)
        assert [r["rating"] for r in html_only] == [got[k]["rating"] for k in got]


def test_listing_links_on_both_markups(catalog):
    for site in ("reelhub", "filmfolio"):
        renderer = RENDERERS[site](catalog.sites[site])
        page = renderer.listing_page(1, AS_OF)
        url = f"{BASE.rstrip('/')}{renderer.listing_path}?{renderer.page_param}=1"
        links = extract.page_links(Selector(text=page.body), url)
        titles = [u for u in links.links if SITES[site].title_urls.matches(u)]
        assert len(titles) >= 24
        assert (
            links.next_page == f"{BASE.rstrip('/')}{renderer.listing_path}?{renderer.page_param}=2"
        )
        n = renderer._page_count(len(catalog.sites[site].listed(AS_OF)))
        last = renderer.listing_page(n, AS_OF)
        last_url = f"{BASE.rstrip('/')}{renderer.listing_path}?{renderer.page_param}={n}"
        assert extract.page_links(Selector(text=last.body), last_url).next_page is None


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2024-03-05", "2024-03-05"),
        ("05/03/2024", "2024-03-05"),
        ("March 05, 2024", "2024-03-05"),
        ("2024-03-05T10:00:00Z", "2024-03-05"),
        ("soon", None),
        (None, None),
    ],
)
def test_parse_date(value, expected):
    assert extract.parse_date(value) == expected


@pytest.mark.parametrize(
    "value, best, expected",
    [
        (7, None, 7),
        ("7/10", None, 7),
        ("8", "10", 8),
        (4, 5, 8),
        (3.5, 5, 7),
        ("n/a", None, "n/a"),
        (None, None, None),
        # No scale stated: above 10 reads as a 0-100 score; impossible values pass on
        # (out of range) so the pipeline drops them with a reason.
        (42, None, 4.2),
        (85, "100", 8.5),
        (0, "100", 1),
        (11, "10", 11),
        (101, None, 101),
        ("B+", None, 8.5),
        ("★★★½☆", None, 7),
        ("Rated 4 out of 5", None, 8),
    ],
)
def test_parse_rating(value, best, expected):
    assert extract.parse_rating(value, best) == expected


def test_small_helpers():
    assert extract.title_type_of("Feature film") == "movie"
    assert extract.title_type_of("TVSeries") == "tv"
    assert extract.title_type_of("Podcast") == "podcast"
    assert extract.language_code("EN") == "en"
    assert extract.language_code("Spanish") == "es"
    assert extract.language_code("pt-BR") == "pt"
    assert extract.language_code("Klingon") is None
