"""The crawler both spiders share: discovery, page classification and accounting.

Given only a start URL, a source is crawled the way a person would explore a site:
robots.txt (obeyed) and its ``Sitemap:`` lines, ``/sitemap.xml``, sitemap indexes and
``.xml.gz`` files; then same-site links, breadth-first, within the site's page budget and
depth. A page is a *title page* when its own content says so (structured data or markup
describing a movie or TV series), a *listing* when it leads to title pages, and a
*reviews page* when it is reached through a title's reviews link (or its URL matches the
site file's review pattern). Requests never leave the source's hosts.

Every fetched page ends in exactly one recorded outcome (``self.page_log``), written
beside the feed as ``<spider>.pages.jsonl`` by :mod:`scrapers.extensions`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots
from twisted.python.failure import Failure
from w3lib.url import canonicalize_url

from scrapers import extract
from scrapers.carry import PreviousCrawl, lastmod_day
from scrapers.extract.links import _REVIEWS_HREF
from scrapers.sites import SiteConfig, resolve_sources

# Links not worth a request on any site: accounts, carts, sharing, edit and print views,
# wiki namespaces ("Special:", "Talk:"), feeds, language and sort switches.
DEFAULT_DENY = re.compile(
    r"/(?:login|log-in|signin|sign-in|signup|sign-up|register|logout|account|cart|checkout|"
    r"subscribe|newsletter|share|print|edit|preferences|settings|privacy|terms|cookies?|"
    r"contact|help|faq|jobs|careers|advertis\w*|press|feed|rss|ajax|api|graphql|cdn-cgi)"
    r"(?:[/?#.]|$)|/[^/?#]*:[^/?#]|[?&](?:action=edit|oldid=|diff=|printable=|share=|"
    r"sort=|order=|lang=|language=|redirect=|returnurl=|return_to=|utm_)",
    re.I,
)
# Paths that usually hold one title (a hint for crawl order only; content decides).
TITLE_HINT = re.compile(
    r"/(?:title|titles|movie|movies|film|films|tv|series|show|shows|m|watch)/[^/?#]+/?$|"
    r"/tt\d{5,}|\(film\)|_film\)|\(tv_series\)",
    re.I,
)


def parse_sources(value: str | dict[str, str] | None) -> dict[str, str]:
    """``"reelhub=http://a/,filmfolio=http://b/"`` -> ``{"reelhub": ..., "filmfolio": ...}``
    (start URLs only; :func:`scrapers.sites.resolve_sources` gives whole site configs)."""
    sites = resolve_sources(value)
    return {name: site.start_urls[0] if site.start_urls else "" for name, site in sites.items()}


class CatalogSpider(scrapy.Spider):
    """Discovers each source's pages and hands title and review pages to the subclass."""

    emits_listings = False
    emits_reviews = False
    # A title page is carried forward only if the previous feed holds its items (its
    # listing); the reviews spider carries titles without reviews too.
    carry_requires_items = True

    def __init__(
        self,
        sources: str | dict[str, str] | list[str] = "",
        crawl_date: str | None = None,
        sites_dir: str | None = None,
        previous: str | None = None,
        previous_date: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sites: dict[str, SiteConfig] = resolve_sources(
            sources, [sites_dir] if sites_dir else []
        )
        if not self.sites:
            raise ValueError("no sources: pass -a sources=name=URL[,name=URL...] or a site name")
        self.sources = {n: (s.start_urls[0] if s.start_urls else "") for n, s in self.sites.items()}
        self.crawl_day = date.fromisoformat(crawl_date) if crawl_date else date.today()
        self.crawl_date = self.crawl_day.isoformat()
        # The previous crawl's page log and feed, to carry unchanged title pages forward
        # (scrapers/carry.py); None: every page is fetched.
        self.previous: PreviousCrawl | None = None
        if previous and previous_date:
            self.previous = PreviousCrawl.load(
                Path(previous), self.name, date.fromisoformat(previous_date)
            )
        self.netlocs: dict[str, set[str]] = {}
        for name, site in self.sites.items():
            netlocs = {urlsplit(u).netloc.lower() for u in site.start_urls + site.sitemaps}
            self.netlocs[name] = netlocs | {h.lower() for h in site.allowed_domains}
        self.allowed_domains = sorted({h for s in self.sites.values() for h in s.hosts})
        self.scheduled: Counter[str] = Counter()
        # Every URL requested so far, as Scrapy's duplicate filter keys it (the canonical
        # URL: query arguments sorted, fragment dropped). A page links to the same title
        # many times (menus, "more like this", pagination); those repeats are dropped here,
        # before they count against the page budget, not later by the filter.
        self.requested: set[str] = set()
        self.budget_hit: set[str] = set()
        self.page_log: list[dict[str, Any]] = []
        self.title_urls: set[str] = set()
        self.title_ids: defaultdict[str, set[str]] = defaultdict(set)
        self.page_links_of: dict[str, set[str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> CatalogSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        # Per-site politeness: one download slot per host with the site's concurrency
        # and delay (settings are still open here; they freeze after the spider exists).
        slots = dict(crawler.settings.getdict("DOWNLOAD_SLOTS"))
        for site in spider.sites.values():
            for host in site.hosts:
                slots.setdefault(
                    host,
                    {"concurrency": site.politeness.concurrency, "delay": site.politeness.delay},
                )
        crawler.settings.set("DOWNLOAD_SLOTS", slots, priority="spider")
        return spider

    # -- accounting ---------------------------------------------------------------------

    def count(self, key: str, n: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key, n)

    def record(
        self,
        response: Response | None,
        source: str,
        outcome: str,
        detail: str = "",
        items: int = 0,
        url: str | None = None,
        status: int | None = None,
        **extra: Any,
    ) -> None:
        """One page's outcome: counted and logged with its URL (``extra``: ``title_id``
        and ``fetched_on`` for title and reviews pages, which the next crawl carries by)."""
        entry = {
            "url": url or (response.url if response is not None else ""),
            "source": source,
            "status": status if status is not None else (response.status if response else None),
            "outcome": outcome,
            "detail": detail,
            "items": items,
            **extra,
        }
        self.page_log.append(entry)
        self.count(f"outcome/{outcome}")
        if outcome == "skipped" and detail:
            self.count(f"skipped/{detail}")
        self.count(f"source/{source}/{outcome}")

    # -- requests -----------------------------------------------------------------------

    def on_site(self, source: str, url: str) -> bool:
        return urlsplit(url).netloc.lower() in self.netlocs[source]

    def request(
        self,
        url: str,
        source: str,
        callback: Any,
        *,
        hops: int = 0,
        priority: int = 0,
        role: str = "page",
        title_id: str | None = None,
        force: bool = False,
    ) -> scrapy.Request | None:
        """A request within the source's hosts, page budget and depth (else ``None``); a
        URL already requested gives ``None`` and costs no budget."""
        site = self.sites[source]
        if not self.on_site(source, url):
            self.count("links/offsite")
            return None
        if not force and hops > site.max_depth:
            self.count("links/too_deep")
            return None
        key = canonicalize_url(url)
        if key in self.requested:
            self.count("links/already_requested")
            return None
        if self.scheduled[source] >= site.max_pages:
            if source not in self.budget_hit:
                self.budget_hit.add(source)
                self.logger.warning(
                    "%s: page budget of %d reached; raise max_pages in its site file",
                    source,
                    site.max_pages,
                )
            self.count(f"source/{source}/budget_skipped")
            return None
        self.scheduled[source] += 1
        self.requested.add(key)
        meta: dict[str, Any] = {"source": source, "hops": hops, "role": role}
        if title_id:
            meta["title_id"] = title_id
        if not site.politeness.autothrottle:
            meta["autothrottle_dont_adjust_delay"] = True
        return scrapy.Request(
            url, callback=callback, errback=self.on_error, priority=priority, meta=meta
        )

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for name, site in self.sites.items():
            for url in site.start_urls:
                req = self.request(url, name, self.parse_page, priority=50, force=True)
                if req is not None:
                    yield req
            for url in site.sitemaps:
                req = self.request(url, name, self.parse_sitemap, priority=40, force=True)
                if req is not None:
                    yield req
            if site.use_sitemaps:
                origins = {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in site.start_urls}
                for origin in sorted(origins):
                    req = self.request(
                        f"{origin}/robots.txt", name, self.parse_robots, priority=60, force=True
                    )
                    if req is not None:
                        req.meta["origin"] = origin
                        req.meta["handle_httpstatus_all"] = True
                        yield req

    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        source, origin = response.meta["source"], response.meta["origin"]
        sitemaps: list[str] = []
        if response.status == 200 and isinstance(response, TextResponse):
            sitemaps = [u.strip() for u in sitemap_urls_from_robots(response.body, response.url)]
        self.record(response, source, "robots", f"{len(sitemaps)} sitemap(s)")
        if not sitemaps:
            sitemaps = [f"{origin}/sitemap.xml"]
        for url in sitemaps:
            req = self.request(url, source, self.parse_sitemap, priority=40, force=True)
            if req is not None:
                req.meta["role"] = "sitemap"
                yield req

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        source = response.meta["source"]
        body = response.body
        if body[:2] == b"\x1f\x8b":
            try:
                body = gunzip(body, max_size=200 * 1024 * 1024)
            except OSError as error:
                self.record(response, source, "error", f"unreadable gzip sitemap: {error}")
                return
        try:
            sitemap = Sitemap(body)
        except Exception as error:  # lxml raises several types on junk
            self.record(response, source, "error", f"not a sitemap: {type(error).__name__}")
            return
        site = self.sites[source]
        entries = [(e["loc"].strip(), e.get("lastmod")) for e in sitemap if e.get("loc")]
        self.record(response, source, "sitemap", f"{sitemap.type} with {len(entries)} URL(s)")
        # The whole sitemap is settled (requests made, pages carried forward) before
        # anything is yielded: Scrapy consumes a callback's output lazily, and links found
        # meanwhile on other pages would otherwise request the pages carried here.
        requests: list[scrapy.Request] = []
        carried: list[Any] = []
        for url, lastmod in entries:
            if sitemap.type == "sitemapindex":
                req = self.request(url, source, self.parse_sitemap, priority=40, force=True)
            else:
                if not self.worth_following(source, url):
                    continue
                reviews = self.looks_like_reviews(site, url) and not site.title_urls.matches(url)
                if reviews and not self.emits_reviews:
                    continue
                items = None if reviews else self.carry_forward(source, url, lastmod)
                if items is not None:
                    carried += items
                    continue
                priority = 20 if self.looks_like_title(site, url) else 5
                req = self.request(
                    url, source, self.parse_page, hops=1, priority=priority,
                    role="reviews" if reviews else "page",
                )  # fmt: skip
            if req is not None:
                requests.append(req)
        yield from requests
        yield from carried

    def carry_forward(self, source: str, url: str, lastmod: object) -> list[Any] | None:
        """The items of a title page that did not change since the previous crawl read it,
        or ``None`` when it must be fetched (the rule: scrapers/carry.py). A carried page
        and its reviews pages count as requested: links to them are not followed."""
        if self.previous is None or not len(self.previous):
            return None
        key = canonicalize_url(url)
        if key in self.requested:
            return None  # fetched already in this crawl (linked before the sitemap came)
        site = self.sites[source]
        changed = lastmod_day(lastmod)
        page = self.previous.carryable(
            source, url, changed, self.crawl_day, site.recrawl_after_days,
            requires_items=self.carry_requires_items,
        )  # fmt: skip
        if page is None:
            self.count("carry/fetched" if changed is not None else "carry/no_lastmod")
            return None
        rows = self.previous.carried_rows(source, page, url, self.crawl_day)
        self.requested.add(key)
        for reviews_url in self.previous.reviews_page_urls(source, page, url):
            self.requested.add(canonicalize_url(reviews_url))
        self.title_urls.add(url)
        if page.title_id not in self.title_ids[source]:
            self.title_ids[source].add(page.title_id)
            self.count(f"source/{source}/titles")
        self.count("carry/pages")
        self.count("carry/items", len(rows))
        self.record(
            None, source, "carried", f"unchanged since {changed}", items=len(rows), url=url,
            status=None, title_id=page.title_id, fetched_on=page.fetched_on.isoformat(),
        )  # fmt: skip
        return [self.carried_item(source, row) for row in rows]

    def carried_item(self, source: str, row: dict[str, Any]) -> Any:
        """One row of the previous feed as this spider's item (the subclass's item type)."""
        raise NotImplementedError

    def worth_following(self, source: str, url: str) -> bool:
        site = self.sites[source]
        if site.follow.denies(url) or (site.follow.allow and not site.follow.allows(url)):
            return False
        if site.title_urls.matches(url) or site.listing_urls.matches(url):
            return True
        if site.review_urls.matches(url):
            return self.emits_reviews
        return not DEFAULT_DENY.search(url[url.find("//") + 2 :])

    @staticmethod
    def looks_like_title(site: SiteConfig, url: str) -> bool:
        if site.title_urls.allow:
            return site.title_urls.matches(url)
        return bool(TITLE_HINT.search(urlsplit(url).path))

    def looks_like_reviews(self, site: SiteConfig, url: str) -> bool:
        if site.review_urls.allow:
            return site.review_urls.matches(url)
        return bool(_REVIEWS_HREF.search(url[url.find("//") + 2 :]))

    # -- pages --------------------------------------------------------------------------

    def parse_page(self, response: Response) -> Iterator[Any]:
        source = response.meta["source"]
        site = self.sites[source]
        if not isinstance(response, TextResponse):
            self.record(response, source, "skipped", "not an HTML page")
            return
        if response.meta.get("role") == "reviews" or (
            site.review_urls.matches(response.url) and not site.title_urls.matches(response.url)
        ):
            yield from self.parse_reviews_page(response)
            return
        result = extract.extract_listing(response, response.url, site)
        self.note_extraction(result, source)
        links = extract.page_links(response, response.url)
        if result.records:
            record = result.records[0]
            self.title_urls.add(response.url)
            self.title_urls.add(record["url"])
            if record["source_title_id"] not in self.title_ids[source]:
                self.title_ids[source].add(record["source_title_id"])
                self.count(f"source/{source}/titles")  # distinct titles, not pages
            for name in result.missing:
                self.count(f"missing/{name}")
                self.count(f"source/{source}/missing_{name}")
            yield from self.on_title(response, record, result, links)
            self.record(
                response, source, "title", result.method, items=1 + len(result.reviews),
                title_id=record["source_title_id"], fetched_on=self.crawl_date,
            )  # fmt: skip
        elif result.skipped:
            self.record(response, source, "skipped", result.skipped)
        else:
            # A listing if it leads to title pages (decided when the crawl ends).
            self.page_links_of[response.url] = set()
            self.record(response, source, "other", "")
        yield from self.follow_links(response, links, is_title=bool(result.records))

    def follow_links(
        self, response: Response, links: extract.PageLinks, is_title: bool
    ) -> Iterator[scrapy.Request]:
        source, hops = response.meta["source"], response.meta.get("hops", 0)
        site = self.sites[source]
        followed = self.page_links_of.get(response.url)
        if links.next_page and self.on_site(source, links.next_page):
            # Pagination costs no depth: page 40 of a list is as close as page 1.
            req = self.request(
                links.next_page, source, self.parse_page, hops=hops, priority=30,
                role=response.meta.get("role", "page"),
            )  # fmt: skip
            if req is not None:
                yield req
        for url in links.links:
            if not self.on_site(source, url):
                self.count("links/offsite")
                continue
            if followed is not None:
                followed.add(url)
            if url == links.next_page or not self.worth_following(source, url):
                continue
            if self.looks_like_reviews(site, url) and not site.title_urls.matches(url):
                # Reviews pages are reached from their title (on_title); one linked from
                # elsewhere (a home page, a "latest reviews" list) still is one.
                if self.emits_reviews:
                    req = self.request(
                        url, source, self.parse_page, hops=hops + 1, priority=15, role="reviews"
                    )
                    if req is not None:
                        yield req
                continue
            title_like = self.looks_like_title(site, url)
            priority = 20 if title_like else (10 if site.listing_urls.matches(url) else 0)
            req = self.request(url, source, self.parse_page, hops=hops + 1, priority=priority)
            if req is not None:
                yield req

    def on_title(
        self,
        response: Response,
        record: dict[str, Any],
        result: extract.Extraction,
        links: extract.PageLinks,
    ) -> Iterator[Any]:
        """What the subclass does with a title page (emit the listing, follow reviews)."""
        return iter(())

    def parse_reviews_page(self, response: Response) -> Iterator[Any]:
        source = response.meta["source"]
        self.record(response, source, "reviews", "not collected by this spider")
        return iter(())

    def note_extraction(self, result: extract.Extraction, source: str) -> None:
        self.count(f"extract/title_{result.method}")
        if result.jsonld_malformed:
            self.count("extract/jsonld_malformed", result.jsonld_malformed)
        if result.jsonld_repaired:
            self.count("extract/jsonld_repaired", result.jsonld_repaired)
        for note in result.notes:
            self.count(f"extract/{note.replace(':', '_')}")

    def on_error(self, failure: Failure) -> None:
        """Every failed request is one recorded outcome (robots.txt refusals included)."""
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        source = request.meta.get("source", "?") if request is not None else "?"
        if failure.check(HttpError):
            status = failure.value.response.status
            self.count(f"errors/status/{status}")
            self.count(f"source/{source}/errors")
            self.record(None, source, "error", f"http {status}", url=url, status=status)
            self.logger.warning("HTTP %s for %s", status, url)
            return
        if failure.check(scrapy.exceptions.IgnoreRequest):
            reason = str(failure.value) or "ignored"
            detail = "robots.txt" if "robots" in reason.lower() else reason
            self.record(None, source, "skipped", detail, url=url, status=None)
            return
        name = failure.type.__name__ if failure.type else "Exception"
        self.count(f"errors/type/{name}")
        self.count(f"source/{source}/errors")
        self.record(None, source, "error", name, url=url)
        self.logger.warning("%s for %s: %s", name, url, failure.getErrorMessage())

    def closed(self, reason: str) -> None:
        self.settle_outcomes()

    def settle_outcomes(self) -> None:
        """Settle the provisional outcomes: pages that led to titles are listings."""
        if getattr(self, "_settled", False):
            return
        self._settled = True
        title_urls = {u.split("#")[0] for u in self.title_urls}
        per_source: defaultdict[str, int] = defaultdict(int)
        for entry in self.page_log:
            if entry["outcome"] != "other":
                continue
            links = self.page_links_of.get(entry["url"], set())
            n = len(links & title_urls)
            entry["title_links"] = n
            if n:
                entry["outcome"], entry["detail"] = "listing", f"{n} title link(s)"
                per_source[entry["source"]] += 1
                self.count("outcome/other", -1)
                self.count("outcome/listing")
                self.count(f"source/{entry['source']}/other", -1)
                self.count(f"source/{entry['source']}/listing_pages")
            else:
                entry["detail"] = "no title links"
