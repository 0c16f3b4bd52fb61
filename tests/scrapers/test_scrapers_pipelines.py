"""Validation and normalisation: clean records through, every bad one dropped with a reason."""

from __future__ import annotations

import re

import pytest
from scrapy import Spider
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from scrapers.extensions import _feed_dir, summarize_stats
from scrapers.items import LISTING_FIELDS, REVIEW_FIELDS, ListingItem, ReviewItem
from scrapers.pipelines import (
    DeduplicationPipeline,
    InvalidRecord,
    ValidationPipeline,
    clean_text,
    normalize_listing,
    normalize_review,
)
from scrapers.spiders.base import parse_sources


def listing(**overrides) -> dict:
    record = {
        "source": "reelhub",
        "source_title_id": "rh-1",
        "url": "http://x/title/rh-1",
        "title": "The Last Harbor",
        "year": 2019,
        "title_type": "movie",
        "plot": "A detective returns.",
        "genres": ["Drama", "Mystery"],
        "original_language": "en",
        "release_date": "2019-03-04",
        "crawl_date": "2026-11-20",
    }
    return {**record, **overrides}


def review(**overrides) -> dict:
    record = {
        "source": "reelhub",
        "source_review_id": "rr-1",
        "source_title_id": "rh-1",
        "author": "Ada K.",
        "rating": 7,
        "review_date": "2026-01-02",
        "text": "Very good, the mystery kept me hooked.",
        "crawl_date": "2026-11-20",
    }
    return {**record, **overrides}


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("<p><em>Dark</em> and&nbsp;stormy.<br/>Really.</p>", "Dark and stormy. Really."),
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("Tom &amp;amp; Jerry", "Tom & Jerry"),
        ("&lt;p&gt;It&amp;#39;s here&lt;/p&gt;", "It's here"),
        ("  The  Last\n\tHarbor ", "The Last Harbor"),
        ("Cafe\u0301 Mu\u0308ller", "Café Müller"),
        ("I <3 this", "I <3 this"),
        ("<p> </p>", None),
        ("", None),
        (None, None),
    ],
)
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("&lt;img src=x onerror=alert(1)&gt;", None),
        ("Harbor &lt;img src=x onerror=alert(1)&gt;Lights", "Harbor Lights"),
        ("&#60;svg onload=alert(1)&#62;Title", "Title"),
        ("A &lt;img src=x onerror=alert(1)// tail", "A < img src=x onerror=alert(1)// tail"),
        ("<<<<<<b>b>b>b>b>img src=x onerror=1>", "< img src=x onerror=1>"),
        ("&amp;amp;amp;amp;lt;b&amp;amp;amp;amp;gt;x", "&lt;b&gt;x"),  # escaped: inert
        ("x &lt;!doctype html&gt; y", "x < !doctype html> y"),
        ("a<b", "a< b"),
        ("I &lt;3 this, a &lt; b", "I <3 this, a < b"),
    ],
)
def test_clean_text_never_returns_live_markup(raw, clean):
    """Entity-encoded markup is decoded, then stripped or defused: no "<" that an HTML
    parser would read as the start of a tag survives."""
    cleaned = clean_text(raw)
    assert cleaned == clean
    assert cleaned is None or not re.search(r"<[A-Za-z/!?]", cleaned)


def test_listing_normalised():
    record = normalize_listing(
        listing(
            title=" The&nbsp;Last  Harbor ",
            genres=["Drama", " Drama", "Action &amp; Adventure", ""],
            original_language="EN",
            year="2019",
            plot="<p>A <b>detective</b> returns.</p>",
        )
    )
    assert record["title"] == "The Last Harbor"
    assert record["genres"] == ["Drama", "Action & Adventure"]
    assert record["original_language"] == "en"
    assert record["year"] == 2019
    assert record["plot"] == "A detective returns."
    assert set(record) == set(LISTING_FIELDS)


def test_listing_year_from_release_date_and_bad_optional_fields_become_null():
    record = normalize_listing(
        listing(year=None, release_date="2018-07-01", original_language="English", plot="  ")
    )
    assert record["year"] == 2018
    assert record["original_language"] is None
    assert record["plot"] is None
    assert normalize_listing(listing(release_date="someday"))["release_date"] is None


@pytest.mark.parametrize(
    "overrides, reason",
    [
        ({"title": None}, "missing_title"),
        ({"title": "<span> </span>"}, "missing_title"),
        ({"title_type": "podcast"}, "bad_title_type"),
        ({"title_type": None}, "bad_title_type"),
        ({"year": 1700}, "implausible_year"),
        ({"year": 2035}, "implausible_year"),
        ({"year": "MCMXC"}, "implausible_year"),
        ({"source_title_id": ""}, "missing_id"),
        ({"source": None}, "missing_source"),
    ],
)
def test_listing_drop_reasons(overrides, reason):
    with pytest.raises(InvalidRecord) as error:
        normalize_listing(listing(**overrides))
    assert error.value.reason == reason


def test_review_normalised():
    record = normalize_review(review(rating="8", text="It&#39;s <b>great</b>", author=" Ada  K. "))
    assert record["rating"] == 8 and record["text"] == "It's great" and record["author"] == "Ada K."
    assert normalize_review(review(rating=None))["rating"] is None
    assert normalize_review(review(rating=7.6))["rating"] == 8
    assert set(record) == set(REVIEW_FIELDS)


@pytest.mark.parametrize(
    "overrides, reason",
    [
        ({"rating": 11}, "rating_out_of_range"),
        ({"rating": 0}, "rating_out_of_range"),
        ({"rating": -3}, "rating_out_of_range"),
        ({"rating": "n/a"}, "bad_rating"),
        ({"text": ""}, "missing_text"),
        ({"text": "<p> </p>"}, "missing_text"),
        ({"text": None}, "missing_text"),
        ({"source_title_id": None}, "missing_title_id"),
        ({"source_review_id": None, "text": ""}, "missing_text"),
    ],
)
def test_review_drop_reasons(overrides, reason):
    with pytest.raises(InvalidRecord) as error:
        normalize_review(review(**overrides))
    assert error.value.reason == reason


def test_review_without_site_id_gets_a_stable_content_id():
    first = normalize_review(review(source_review_id=None, text="Loved it", author="Ada"))
    again = normalize_review(review(source_review_id=None, text="Loved  it", author=" Ada"))
    other = normalize_review(review(source_review_id=None, text="Hated it", author="Ada"))
    assert first["source_review_id"].startswith("h-")
    assert first["source_review_id"] == again["source_review_id"]  # same after cleaning
    assert first["source_review_id"] != other["source_review_id"]
    elsewhere = normalize_review(
        review(source_review_id=None, text="Loved it", author="Ada", source_title_id="other")
    )
    assert elsewhere["source_review_id"] != first["source_review_id"]


@pytest.mark.parametrize("value, expected", [(7.5, 8), (8.49, 8), (1.0, 1), (9.5, 10), (10, 10)])
def test_fractional_ratings_round_half_up(value, expected):
    assert normalize_review(review(rating=value))["rating"] == expected


def test_pipelines_drop_with_reason_stats_and_deduplicate():
    crawler = get_crawler(Spider)
    validation = ValidationPipeline.from_crawler(crawler)
    dedup = DeduplicationPipeline.from_crawler(crawler)

    item = validation.process_item(ListingItem(**listing(title="Tom &amp; Jerry ")))
    assert item["title"] == "Tom & Jerry"
    assert dedup.process_item(item) is item
    with pytest.raises(DropItem, match="duplicate"):
        dedup.process_item(ListingItem(**listing()))
    # The same id in another source, or a review with that id, is not a duplicate.
    dedup.process_item(ListingItem(**listing(source="filmfolio")))
    dedup.process_item(ReviewItem(**review(source_review_id="rh-1")))

    with pytest.raises(DropItem, match="rating_out_of_range"):
        validation.process_item(ReviewItem(**review(rating=42)))
    with pytest.raises(DropItem, match="missing_text"):
        validation.process_item(ReviewItem(**review(text="   ")))
    with pytest.raises(DropItem, match="missing_text"):
        validation.process_item(ReviewItem(**review(text="")))
    stats = crawler.stats.get_stats()
    assert stats["drops/duplicate"] == 1
    assert stats["drops/rating_out_of_range"] == 1
    assert stats["drops/missing_text"] == 2


def test_summarize_stats_shape():
    raw = {
        "outcome/listing": 3,
        "outcome/title": 40,
        "outcome/reviews": 10,
        "outcome/skipped": 2,
        "response_received_count": 53,
        "missing/plot": 4,
        "item_scraped_count": 38,
        "drops/duplicate": 2,
        "errors/status/404": 3,
        "errors/type/TimeoutError": 1,
        "retry/count": 2,
        "robotstxt/forbidden": 3,
        "source/reelhub/title": 40,
        "source/reelhub/items": 38,
        "extract/jsonld_malformed": 1,
    }
    summary = summarize_stats(raw, "listings", "finished")
    assert summary["pages"] == {"listing": 3, "title": 40, "reviews": 10, "total": 53, "carried": 0}
    assert summary["drops"] == {"duplicate": 2} and summary["dropped"] == 2
    assert summary["errors"] == {"status/404": 3, "type/TimeoutError": 1}
    assert summary["outcomes"] == {"listing": 3, "title": 40, "reviews": 10, "skipped": 2}
    assert summary["missing_fields"] == {"plot": 4}
    assert summary["sources"] == {"reelhub": {"title": 40, "items": 38}}
    assert summary["drops/duplicate"] == 2 and summary["item_scraped_count"] == 38


def test_feed_dir_and_sources():
    assert str(_feed_dir({"out/listings.jsonl": {}})) == "out"
    assert str(_feed_dir({"file:///tmp/x/%(name)s.jsonl": {}})) == "/tmp/x"
    assert _feed_dir({"s3://bucket/x.jsonl": {}}) is None
    assert parse_sources("reelhub=http://a:1/, filmfolio=http://b:2/") == {
        "reelhub": "http://a:1/",
        "filmfolio": "http://b:2/",
    }
    assert parse_sources("https://www.reelhub.com/") == {"reelhub": "https://www.reelhub.com/"}
    with pytest.raises(ValueError):
        parse_sources("reelhub=/relative")
    with pytest.raises(ValueError, match="no URL and no site file"):
        parse_sources("nosuchsite")
