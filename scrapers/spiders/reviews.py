"""``reviews``: every review shown for each title: embedded in the title page, and on its
reviews pages (followed page after page)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from scrapers import extract
from scrapers.extract.common import id_from_url
from scrapers.items import REVIEW_FIELDS, ReviewItem
from scrapers.spiders.base import CatalogSpider


class ReviewsSpider(CatalogSpider):
    """Emit every review of every title page of each source."""

    name = "reviews"
    emits_reviews = True
    carry_requires_items = False

    def emit(self, source: str, records: list[dict[str, Any]], page_url: str) -> Iterator[Any]:
        for record in records:
            self.count(f"source/{source}/reviews")
            yield ReviewItem(source=source, crawl_date=self.crawl_date, **record)

    def carried_item(self, source: str, row: dict[str, Any]) -> ReviewItem:
        self.count(f"source/{source}/reviews")
        return ReviewItem(**{name: row[name] for name in REVIEW_FIELDS if name in row})

    def on_title(
        self,
        response: Response,
        record: dict[str, Any],
        result: extract.Extraction,
        links: extract.PageLinks,
    ) -> Iterator[Any]:
        source = response.meta["source"]
        site = self.sites[source]
        title_id = record["source_title_id"]
        yield from self.emit(source, result.reviews, response.url)
        href = site.reviews_url_for(record["url"] or response.url, title_id) or links.reviews
        if not href:
            self.count("reviews/no_reviews_link")
            self.count(f"source/{source}/no_reviews_link")
            return
        hops = response.meta.get("hops", 0)
        req = self.request(
            href, source, self.parse_page, hops=hops, priority=25, role="reviews",
            title_id=title_id, force=True,
        )  # fmt: skip
        if req is not None:
            yield req

    def parse_reviews_page(self, response: Response) -> Iterator[Any]:
        source = response.meta["source"]
        site = self.sites[source]
        title_id = response.meta.get("title_id") or id_from_url(response.url)
        result = extract.extract_reviews(response, title_id, response.url, site)
        self.count(f"extract/reviews_{result.method}")
        if result.jsonld_malformed:
            self.count("extract/jsonld_malformed", result.jsonld_malformed)
        if result.jsonld_repaired:
            self.count("extract/jsonld_repaired", result.jsonld_repaired)
        if result.records:
            self.record(
                response, source, "reviews", result.method, items=len(result.records),
                title_id=title_id,
            )  # fmt: skip
        else:
            self.count("errors/extract/reviews_empty")
            self.record(
                response, source, "empty", "no reviews found on a reviews page", title_id=title_id
            )
            self.logger.warning("No reviews extracted from %s", response.url)
        yield from self.emit(source, result.records, response.url)
        links = extract.page_links(response, response.url)
        if links.next_page and result.records:
            req = self.request(
                links.next_page, source, self.parse_page, hops=response.meta.get("hops", 0),
                priority=25, role="reviews", title_id=title_id, force=True,
            )  # fmt: skip
            if req is not None:
                yield req
