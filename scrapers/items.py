"""Crawl items: the listing and review records of docs/contracts.md (minus ingested_at,
plus crawl_date, the daily partition the crawl belongs to)."""

from __future__ import annotations

import scrapy


class ListingItem(scrapy.Item):
    source = scrapy.Field()
    source_title_id = scrapy.Field()
    url = scrapy.Field()
    title = scrapy.Field()
    year = scrapy.Field()
    title_type = scrapy.Field()
    plot = scrapy.Field()
    genres = scrapy.Field()
    original_language = scrapy.Field()
    release_date = scrapy.Field()
    genre_vocabulary = scrapy.Field()  # the site file's genre vocabulary (dbt seed), or None
    crawl_date = scrapy.Field()


class ReviewItem(scrapy.Item):
    source = scrapy.Field()
    source_review_id = scrapy.Field()
    source_title_id = scrapy.Field()
    author = scrapy.Field()
    rating = scrapy.Field()
    review_date = scrapy.Field()
    text = scrapy.Field()
    crawl_date = scrapy.Field()


LISTING_FIELDS: tuple[str, ...] = tuple(ListingItem.fields)
REVIEW_FIELDS: tuple[str, ...] = tuple(ReviewItem.fields)
