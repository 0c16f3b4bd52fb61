"""``listings``: one item per title page, schema.org JSON-LD first, HTML fallback second."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response, TextResponse

from scrapers import extract
from scrapers.items import ListingItem
from scrapers.spiders.base import CatalogSpider


class ListingsSpider(CatalogSpider):
    """Crawl the listing pages of each source and emit its titles.

    Run with ``-a sources=reelhub=http://127.0.0.1:8101/,filmfolio=...``.
    """

    name = "listings"

    def parse_title(self, response: Response, source: str) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            self.count("errors/type/NonTextResponse")
            return
        self.count("pages/title")
        result = extract.extract_listing(response, response.url)
        self.record_extraction(result, "title")
        for record in result.records:
            record["url"] = response.url.split("?")[0]
            yield ListingItem(source=source, crawl_date=self.crawl_date, **record)
