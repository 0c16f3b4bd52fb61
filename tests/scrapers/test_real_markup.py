"""Extraction of real-world markup, one hand-written fixture page at a time.

Each page under ``fixtures/pages/<family>/`` imitates how a well-known kind of movie, TV
or encyclopedia site marks up its pages; its ``.expected.json`` says what a correct
extractor makes of it (see ``realish_site.py`` for the same pages served as a site).
Text is compared after ``clean_text`` and ratings after ``normalize_review`` (1-10).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from parsel import Selector
from realish_site import (
    FIXTURE_PAGES,
    REVIEW_PAGES,
    SKIP_PAGES,
    TITLE_PAGES,
    FixturePage,
    on_the_air_page,
    popular_page,
)

from scrapers import extract
from scrapers.pipelines import clean_text, normalize_listing, normalize_review

CRAWL_DATE = "2026-11-20"
BOILERPLATE = ("helpful", "Sign in", "Like review", "likes", "Permalink")


def _id(page: FixturePage) -> str:
    return f"{page.family}/{page.name}"


def _sel(page: FixturePage) -> Selector:
    return Selector(text=page.html)


def _listing(record: dict) -> dict:
    return normalize_listing({**record, "source": "x"}, CRAWL_DATE)


def _review(record: dict, title_id: str = "x") -> dict:
    return normalize_review(
        {**record, "source": "x", "source_title_id": record.get("source_title_id") or title_id},
        CRAWL_DATE,
    )


def _assert_reviews_match(got: list[dict], expected: list[dict], where: str) -> None:
    """``got`` (normalised review dicts) holds exactly the ``expected`` reviews, any order."""
    assert len(got) == len(expected), (where, [(r["author"], r["rating"]) for r in got])
    by_author = {r["author"]: r for r in got}
    assert set(by_author) == {e["author"] for e in expected}, where
    for want in expected:
        review = by_author[want["author"]]
        assert review["rating"] == want["rating"], (where, want["author"])
        assert review["review_date"] == want["review_date"], (where, want["author"])
        assert want["text_startswith"] in review["text"], (where, review["text"])
        # The review body, not the page around it: no vote footers, like buttons or bylines.
        assert not any(word in review["text"] for word in BOILERPLATE), (where, review["text"])
        assert want["author"] not in review["text"], (where, review["text"])


@pytest.mark.parametrize("page", TITLE_PAGES, ids=_id)
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
    if "method" in want:
        assert result.method == want["method"]


@pytest.mark.parametrize("page", TITLE_PAGES, ids=_id)
def test_missing_fields_are_counted_not_silently_empty(page: FixturePage) -> None:
    result = extract.extract_listing(_sel(page), page.expected["url"])
    for field in ("plot", "year"):
        if page.expected[field] is None:
            assert field in result.missing, (field, result.missing)
        else:
            assert field not in result.missing, (field, result.missing)


@pytest.mark.parametrize("page", [p for p in TITLE_PAGES if "reviews" in p.expected], ids=_id)
def test_reviews_embedded_in_title_pages(page: FixturePage) -> None:
    want = page.expected["reviews"]
    result = extract.extract_listing(_sel(page), page.expected["url"])
    title_id = result.records[0]["source_title_id"] if result.records else None
    if isinstance(want, int):
        assert len(result.reviews) == want
        return
    for review in result.reviews:
        assert review["source_title_id"] == title_id
    _assert_reviews_match([_review(r) for r in result.reviews], want, _id(page))


@pytest.mark.parametrize("page", SKIP_PAGES, ids=_id)
def test_non_title_pages_give_no_listing(page: FixturePage) -> None:
    result = extract.extract_listing(_sel(page), page.expected["url"])
    assert result.records == []
    reason = page.expected["reason"]
    if reason is not None:
        assert result.skipped == reason
        assert result.method == "skipped"


@pytest.mark.parametrize("page", REVIEW_PAGES, ids=_id)
def test_review_pages(page: FixturePage) -> None:
    want = page.expected
    result = extract.extract_reviews(_sel(page), title_id="x", page_url=want["url"])
    for review in result.records:
        # "x" unless the page's own structured data names the reviewed title.
        assert review["source_title_id"]
    _assert_reviews_match([_review(r) for r in result.records], want["reviews"], _id(page))


@pytest.mark.parametrize("page", [p for p in FIXTURE_PAGES if "next_page" in p.expected], ids=_id)
def test_next_page_link(page: FixturePage) -> None:
    links = extract.page_links(_sel(page), page.expected["url"])
    assert links.next_page == page.expected["next_page"]


@pytest.mark.parametrize(
    "page", [p for p in FIXTURE_PAGES if "reviews_link" in p.expected], ids=_id
)
def test_reviews_link_found_on_title_page(page: FixturePage) -> None:
    links = extract.page_links(_sel(page), page.expected["url"])
    assert links.reviews, "no reviews link"
    got, want = urlsplit(links.reviews), urlsplit(page.expected["reviews_link"])
    # The page links its reviews with tracking parameters (?ref_=...); the page is the same.
    assert (got.netloc, got.path) == (want.netloc, want.path)


@pytest.mark.parametrize(
    "page", [p for p in FIXTURE_PAGES if "links_include" in p.expected], ids=_id
)
def test_listing_like_pages_expose_their_title_links(page: FixturePage) -> None:
    links = extract.page_links(_sel(page), page.expected["url"])
    assert set(page.expected["links_include"]) <= set(links.links)


def test_pagination_by_page_numbers_and_next_text() -> None:
    url = "https://realish.test/movies/popular"
    first = extract.page_links(Selector(text=popular_page(1)), url)
    assert first.next_page == f"{url}?page=2"
    assert "https://realish.test/movie/512-paper-comets" in first.links
    second = extract.page_links(Selector(text=popular_page(2)), f"{url}?page=2")
    assert second.next_page == f"{url}?page=3"
    last = extract.page_links(Selector(text=popular_page(3)), f"{url}?page=3")
    assert last.next_page is None


def test_pagination_by_path_and_rel_next() -> None:
    url = "https://realish.test/tv/on-the-air/"
    first = extract.page_links(Selector(text=on_the_air_page(1)), url)
    assert first.next_page == f"{url}page/2/"
    last = extract.page_links(Selector(text=on_the_air_page(2)), f"{url}page/2/")
    assert last.next_page is None


@pytest.mark.parametrize(
    ("value", "best", "worst", "expected"),
    [
        (85, 100, 0, 8.5),
        (0, 100, 0, 1.0),
        (100, 100, 0, 10.0),
        (38, 100, None, 3.8),
        (4, 5, 1, 8.0),
        (3.5, 5, None, 7.0),
        (0.5, 5, 0.5, 1.0),
        (7, 10, 1, 7.0),
        (7, None, None, 7.0),
        ("85", "100", "0", 8.5),
        ("4", "5", "1", 8.0),
    ],
)
def test_normalize_rating(value, best, worst, expected) -> None:
    assert extract.normalize_rating(value, best=best, worst=worst) == pytest.approx(expected)


def test_normalize_rating_without_a_value() -> None:
    assert extract.normalize_rating(None) is None
    assert extract.normalize_rating(None, best=5) is None


@pytest.mark.parametrize(
    ("rating", "stored"), [(8.5, 9), (5.5, 6), (6.2, 6), (1.0, 1), (None, None)]
)
def test_normalised_ratings_round_half_up_to_1_to_10(rating, stored) -> None:
    record = {"source_title_id": "t1", "author": "a", "text": "Fine.", "rating": rating}
    assert _review(record)["rating"] == stored


def test_reviews_without_a_site_id_get_a_stable_hash_id() -> None:
    page = next(p for p in TITLE_PAGES if p.name == "lantern_keepers")
    reviews = extract.extract_listing(_sel(page), page.expected["url"]).reviews
    assert len(reviews) == 3
    assert all(r["source_review_id"] is None for r in reviews)
    first = [_review(r)["source_review_id"] for r in reviews]
    again = [
        _review(r)["source_review_id"]
        for r in extract.extract_listing(_sel(page), page.expected["url"]).reviews
    ]
    assert first == again
    assert all(i.startswith("h-") for i in first)
    assert len(set(first)) == len(first)


def test_hash_id_depends_on_the_review_not_on_the_call() -> None:
    base = {
        "source_review_id": None,
        "source_title_id": "t1",
        "author": "harbourgull",
        "review_date": "2024-03-12",
        "text": "It takes its time.",
        "rating": 8,
    }
    one, two = _review(dict(base)), _review(dict(base))
    assert one["source_review_id"] == two["source_review_id"]
    other_text = _review({**base, "text": "It takes its time, and then some."})
    other_author = _review({**base, "author": "noor.k"})
    other_title = _review({**base, "source_title_id": "t2"})
    ids = {
        one["source_review_id"],
        other_text["source_review_id"],
        other_author["source_review_id"],
        other_title["source_review_id"],
    }
    assert len(ids) == 4


def test_review_without_rating_is_kept_with_null_rating() -> None:
    page = next(p for p in REVIEW_PAGES if p.name == "salt_road_user_p1")
    result = extract.extract_reviews(_sel(page), title_id="x", page_url=page.expected["url"])
    crew = [_review(r) for r in result.records if clean_text(r["author"]) == "deserthighway66"]
    assert len(crew) == 1 and crew[0]["rating"] is None
