"""``reviews``: walks listing -> title page -> paginated review pages of each source."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response, TextResponse

from scrapers import extract
from scrapers.items import ReviewItem
from scrapers.spiders.base import CatalogSpider


class ReviewsSpider(CatalogSpider):
    """Emit every review shown for every listed title of each source."""

    name = "reviews"

    def parse_title(self, response: Response, source: str) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            self.count("errors/type/NonTextResponse")
            return
        self.count("pages/title")
        href = extract.reviews_link(response)
        if not href:
            return
        listing = extract.extract_listing(response, response.url)
        title_id = listing.records[0]["source_title_id"] if listing.records else None
        yield response.follow(
            href,
            callback=self.parse_reviews,
            errback=self.on_error,
            cb_kwargs={"source": source, "title_id": title_id},
        )

    def parse_reviews(self, response: Response, source: str, title_id: str | None) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            self.count("errors/type/NonTextResponse")
            return
        self.count("pages/reviews")
        result = extract.extract_reviews(response, title_id)
        self.record_extraction(result, "reviews")
        for record in result.records:
            yield ReviewItem(source=source, crawl_date=self.crawl_date, **record)
        next_page = extract.next_page_link(response)
        if next_page:
            yield response.follow(
                next_page,
                callback=self.parse_reviews,
                errback=self.on_error,
                cb_kwargs={"source": source, "title_id": title_id},
            )
