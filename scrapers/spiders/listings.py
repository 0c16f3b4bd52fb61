"""``listings``: one item per title page found on each source."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from scrapers import extract
from scrapers.items import LISTING_FIELDS, ListingItem
from scrapers.spiders.base import CatalogSpider


class ListingsSpider(CatalogSpider):
    """Discover each source's title pages and emit their titles.

    Run with ``-a sources=NAME=URL[,NAME=URL...]``, a site name that has a site file
    (``-a sources=reelhub``), or a bare URL.
    """

    name = "listings"
    emits_listings = True

    def on_title(
        self,
        response: Response,
        record: dict[str, Any],
        result: extract.Extraction,
        links: extract.PageLinks,
    ) -> Iterator[Any]:
        source = response.meta["source"]
        site = self.sites[source]
        yield ListingItem(
            source=source,
            crawl_date=self.crawl_date,
            genre_vocabulary=site.genre_vocabulary,
            **record,
        )

    def carried_item(self, source: str, row: dict[str, Any]) -> ListingItem:
        return ListingItem(**{name: row[name] for name in LISTING_FIELDS if name in row})
