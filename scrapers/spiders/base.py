"""What both spiders share: named sources, the listing-page walk, error accounting."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from scrapers import extract


def parse_sources(value: str | dict[str, str] | None) -> dict[str, str]:
    """``"reelhub=http://a/,filmfolio=http://b/"`` -> ``{"reelhub": ..., "filmfolio": ...}``.

    A bare URL is named after its host (``www.reelhub.com`` -> ``reelhub``)."""
    if isinstance(value, dict):
        return dict(value)
    sources: dict[str, str] = {}
    for part in (value or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, url = part.partition("=")
        if not sep or "://" in name:
            url = part
            host = (urlsplit(url).hostname or "source").removeprefix("www.")
            name = host.split(".")[0]
        if not urlsplit(url).scheme:
            raise ValueError(f"source {name!r} needs an absolute URL, got {url!r}")
        sources[name.strip()] = url.strip()
    return sources


class CatalogSpider(scrapy.Spider):
    """Walks each source's paginated listing and hands title pages to ``parse_title``."""

    def __init__(
        self, sources: str | dict[str, str] = "", crawl_date: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.sources = parse_sources(sources)
        if not self.sources:
            raise ValueError("no sources: pass -a sources=name=URL[,name=URL...]")
        self.crawl_date = (
            date.fromisoformat(crawl_date).isoformat() if crawl_date else date.today().isoformat()
        )

    def count(self, key: str, n: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key, n)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for name, url in self.sources.items():
            yield scrapy.Request(
                url, callback=self.parse_listing, errback=self.on_error, cb_kwargs={"source": name}
            )

    def parse_listing(self, response: Response, source: str) -> Iterator[scrapy.Request]:
        if not isinstance(response, TextResponse):
            self.count("errors/type/NonTextResponse")
            return
        self.count("pages/listing")
        self.count(f"source/{source}/pages")
        links = extract.listing_links(response)
        for href in links.titles:
            yield response.follow(
                href, callback=self.parse_title, errback=self.on_error, cb_kwargs={"source": source}
            )
        if links.next_page:
            yield response.follow(
                links.next_page,
                callback=self.parse_listing,
                errback=self.on_error,
                cb_kwargs={"source": source},
            )

    def parse_title(self, response: Response, source: str) -> Iterator[Any]:
        raise NotImplementedError

    def record_extraction(self, result: extract.Extraction, page: str) -> None:
        self.count(f"extract/{page}_{result.method}")
        if result.jsonld_malformed:
            self.count("extract/jsonld_malformed", result.jsonld_malformed)
        if result.jsonld_repaired:
            self.count("extract/jsonld_repaired", result.jsonld_repaired)
        if result.method == "none":
            self.count(f"errors/extract/{page}_empty")
            self.logger.warning("Nothing extracted from %s page", page)

    def on_error(self, failure: Failure) -> None:
        """Count failed requests by HTTP status or exception type (robots.txt refusals are
        counted by Scrapy as ``robotstxt/forbidden``)."""
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        if failure.check(HttpError):
            status = failure.value.response.status
            self.count(f"errors/status/{status}")
            self.logger.warning("HTTP %s for %s", status, url)
            return
        if failure.check(scrapy.exceptions.IgnoreRequest):
            return
        self.count(f"errors/type/{failure.type.__name__}")
        self.logger.warning("%s for %s: %s", failure.type.__name__, url, failure.getErrorMessage())
