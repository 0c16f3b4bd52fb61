"""Extraction of pages shaped like well-known movie, TV and encyclopedia sites.

Each page under ``fixtures/sites/<site>_like/`` imitates the current markup of one real
site (IMDb, Rotten Tomatoes, Metacritic, TMDB, Letterboxd, Wikipedia, JustWatch, Trakt,
TVmaze, AllMovie): its class-naming scheme, JSON-LD shape, OpenGraph tags, title suffixes,
tracking parameters, pagination, cookie banners and script blobs. Titles, people and text
are invented. Its ``.expected.json`` says what a careful reader makes of the page, in the
format of ``fixtures/pages`` (see ``test_real_markup.py``), and the same checks run here.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from parsel import Selector
from realish_site import FixturePage
from test_real_markup import _assert_reviews_match, _listing, _review

from scrapers import extract

SITES_DIR = Path(__file__).resolve().parent / "fixtures" / "sites"


def _load() -> list[FixturePage]:
    pages = []
    for expected_path in sorted(SITES_DIR.glob("*/*.expected.json")):
        name = expected_path.name.removesuffix(".expected.json")
        pages.append(
            FixturePage(
                family=expected_path.parent.name,
                name=name,
                html=expected_path.with_name(f"{name}.html").read_text(encoding="utf-8"),
                expected=json.loads(expected_path.read_text(encoding="utf-8")),
            )
        )
    return pages


PAGES = _load()
TITLES = [p for p in PAGES if p.kind == "title"]
REVIEWS = [p for p in PAGES if p.kind == "reviews"]
SKIPS = [p for p in PAGES if p.kind == "skip"]


def _id(page: FixturePage) -> str:
    return f"{page.family}/{page.name}"


def _sel(page: FixturePage) -> Selector:
    return Selector(text=page.html)


def test_fixture_pages_are_well_formed() -> None:
    assert len(PAGES) >= 30
    urls = [p.expected["url"] for p in PAGES]
    assert len(set(urls)) == len(urls), "two fixtures claim the same URL"
    for page in PAGES:
        assert urlsplit(page.expected["url"]).netloc == "realish.test", _id(page)
        assert page.kind in ("title", "skip", "reviews"), _id(page)
        if page.kind == "title":
            assert {"title", "year", "title_type", "plot", "genres", "release_date"} <= set(
                page.expected
            ), _id(page)


@pytest.mark.parametrize("page", TITLES, ids=_id)
def test_title_page_gives_one_correct_listing(page: FixturePage) -> None:
    want = page.expected
    result = extract.extract_listing(_sel(page), want["url"])
    assert result.skipped is None, result.skipped
    assert len(result.records) == 1, result.records
    record = result.records[0]
    assert record["source_title_id"]
    listing = _listing(record)
    got = {key: listing[key] for key in ("title", "year", "title_type", "plot", "genres")}
    got["release_date"] = listing["release_date"]
    assert got == {
        key: want[key] for key in ("title", "year", "title_type", "plot", "genres", "release_date")
    }


@pytest.mark.parametrize("page", TITLES, ids=_id)
def test_missing_fields_are_counted_not_silently_empty(page: FixturePage) -> None:
    result = extract.extract_listing(_sel(page), page.expected["url"])
    for field in ("plot", "year"):
        if page.expected[field] is None:
            assert field in result.missing, (field, result.missing)
        else:
            assert field not in result.missing, (field, result.missing)


@pytest.mark.parametrize("page", [p for p in TITLES if "reviews" in p.expected], ids=_id)
def test_reviews_embedded_in_title_pages(page: FixturePage) -> None:
    want = page.expected["reviews"]
    result = extract.extract_listing(_sel(page), page.expected["url"])
    title_id = result.records[0]["source_title_id"] if result.records else None
    for review in result.reviews:
        assert review["source_title_id"] == title_id
    _assert_reviews_match([_review(r) for r in result.reviews], want, _id(page))


@pytest.mark.parametrize("page", SKIPS, ids=_id)
def test_non_title_pages_give_no_listing(page: FixturePage) -> None:
    result = extract.extract_listing(_sel(page), page.expected["url"])
    assert result.records == []
    reason = page.expected["reason"]
    if reason is not None:
        assert result.skipped == reason
        assert result.method == "skipped"


@pytest.mark.parametrize("page", REVIEWS, ids=_id)
def test_review_pages(page: FixturePage) -> None:
    want = page.expected
    result = extract.extract_reviews(_sel(page), title_id="x", page_url=want["url"])
    for review in result.records:
        assert review["source_title_id"]
    _assert_reviews_match([_review(r) for r in result.records], want["reviews"], _id(page))


@pytest.mark.parametrize("page", [p for p in PAGES if "next_page" in p.expected], ids=_id)
def test_next_page_link(page: FixturePage) -> None:
    links = extract.page_links(_sel(page), page.expected["url"])
    assert links.next_page == page.expected["next_page"]


@pytest.mark.parametrize("page", [p for p in PAGES if "reviews_link" in p.expected], ids=_id)
def test_reviews_link_found_on_title_page(page: FixturePage) -> None:
    links = extract.page_links(_sel(page), page.expected["url"])
    assert links.reviews, "no reviews link"
    got, want = urlsplit(links.reviews), urlsplit(page.expected["reviews_link"])
    assert (got.netloc, got.path) == (want.netloc, want.path)


@pytest.mark.parametrize("page", [p for p in PAGES if "links_include" in p.expected], ids=_id)
def test_listing_like_pages_expose_their_title_links(page: FixturePage) -> None:
    links = extract.page_links(_sel(page), page.expected["url"])
    assert set(page.expected["links_include"]) <= set(links.links)
