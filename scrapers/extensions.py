"""Save each crawl's stats as ``<spider>.stats.json`` next to its feed, so the pipeline
reports pages, items, drops and errors instead of losing them with the log; every
dropped item, with its reason, as ``<spider>.dropped.jsonl``, so a drop is quarantined
downstream rather than lost; and the crawl log, one line per fetched page with its
outcome, as ``<spider>.pages.jsonl``."""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import Spider, signals
from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

PAGE_KINDS = ("listing", "title", "reviews")
OUTCOMES = (
    "title",
    "carried",
    "reviews",
    "listing",
    "skipped",
    "empty",
    "error",
    "sitemap",
    "robots",
    "other",
)


def _feed_dir(feeds: dict[Any, Any]) -> Path | None:
    """Directory of the first local-file feed (``file://`` URIs or bare paths)."""
    for uri in feeds:
        text = str(uri)
        if text.startswith("file:"):
            return Path(urlsplit(text).path).parent
        if "://" not in text:
            return Path(text).parent
    return None


def summarize_stats(stats: dict[str, Any], spider_name: str, reason: str) -> dict[str, Any]:
    """The stats file's shape: headline numbers first, then every raw Scrapy stat at the
    top level too (``item_scraped_count``, ``drops/<reason>``, ``retry/count`` ...), so
    readers of either the summary or plain Scrapy stats find what they expect."""
    drops = {k.split("/", 1)[1]: v for k, v in stats.items() if k.startswith("drops/")}
    errors = {k.split("/", 1)[1]: v for k, v in stats.items() if k.startswith("errors/")}
    sources: dict[str, dict[str, int]] = defaultdict(dict)
    for key, value in stats.items():
        parts = key.split("/")
        if parts[0] == "source" and len(parts) == 3:
            sources[parts[1]][parts[2]] = value
    outcomes = {k.split("/", 1)[1]: v for k, v in stats.items() if k.startswith("outcome/") and v}
    pages = {
        "listing": outcomes.get("listing", 0),
        "title": outcomes.get("title", 0),
        "reviews": outcomes.get("reviews", 0) + outcomes.get("empty", 0),
    }
    pages["total"] = stats.get("response_received_count", 0)  # every fetched page
    # Title pages not fetched: unchanged since the previous crawl (scrapers/carry.py).
    pages["carried"] = outcomes.get("carried", 0)
    start = stats.get("start_time")
    elapsed = (datetime.now(UTC) - start).total_seconds() if isinstance(start, datetime) else None
    summary = {
        "spider": spider_name,
        "finish_reason": reason,
        "elapsed_seconds": round(elapsed, 3) if elapsed is not None else None,
        "pages": pages,
        "responses": stats.get("response_received_count", 0),
        "items": stats.get("item_scraped_count", 0),
        "carried_items": stats.get("carry/items", 0),
        "drops": drops,
        "dropped": sum(drops.values()),
        "errors": errors,
        "retries": stats.get("retry/count", 0),
        "robots_forbidden": stats.get("robotstxt/forbidden", 0),
        "extraction": {k.split("/", 1)[1]: v for k, v in stats.items() if k.startswith("extract/")},
        "outcomes": outcomes,
        "skipped": {k.split("/", 1)[1]: v for k, v in stats.items() if k.startswith("skipped/")},
        "missing_fields": {
            k.split("/", 1)[1]: v for k, v in stats.items() if k.startswith("missing/")
        },
        "sources": dict(sources),
    }
    raw = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in sorted(stats.items())}
    return {**raw, **summary}


class CrawlStatsExport:
    """Writes the summary on ``spider_closed``; the path comes from ``CRAWL_STATS_PATH``
    (may hold ``%(name)s``) or else sits beside the first local feed."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlStatsExport:
        ext = cls(crawler)
        crawler.signals.connect(ext.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(ext.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def item_dropped(
        self, item: Any, response: Any, exception: BaseException, spider: Spider
    ) -> None:
        path = self.dropped_path(spider)
        if path is None:
            return
        source = item.get("source") if hasattr(item, "get") else None
        if source and self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"source/{source}/dropped")
        path.parent.mkdir(parents=True, exist_ok=True)
        record = dict(item) if hasattr(item, "keys") else {"item": repr(item)}
        line = {"reason": str(exception), "record": record}
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")

    def dropped_path(self, spider: Spider) -> Path | None:
        stats = self.stats_path(spider)
        return stats.with_name(f"{spider.name}.dropped.jsonl") if stats is not None else None

    def item_scraped(self, item: Any, spider: Spider) -> None:
        source = item.get("source") if hasattr(item, "get") else None
        if source and self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"source/{source}/items")

    def stats_path(self, spider: Spider) -> Path | None:
        template = self.crawler.settings.get("CRAWL_STATS_PATH")
        if template:
            return Path(str(template) % {"name": spider.name})
        feed_dir = _feed_dir(self.crawler.settings.getdict("FEEDS"))
        return feed_dir / f"{spider.name}.stats.json" if feed_dir is not None else None

    def write_page_log(self, spider: Spider) -> None:
        settle = getattr(spider, "settle_outcomes", None)
        if settle is not None:
            settle()
        entries = getattr(spider, "page_log", None)
        stats = self.stats_path(spider)
        if entries is None or stats is None:
            return
        path = stats.with_name(f"{spider.name}.pages.jsonl")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for entry in entries:
                fh.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
        os.replace(tmp, path)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        self.write_page_log(spider)
        dropped = self.dropped_path(spider)
        if dropped is not None:
            dropped.parent.mkdir(parents=True, exist_ok=True)
            dropped.touch()  # present even when nothing was dropped
        path = self.stats_path(spider)
        if path is None or self.crawler.stats is None:
            logger.info("No feed or CRAWL_STATS_PATH: crawl stats not saved")
            return
        summary = summarize_stats(self.crawler.stats.get_stats(), spider.name, reason)
        summary["crawl_date"] = getattr(spider, "crawl_date", None)
        summary["source_urls"] = getattr(spider, "sources", {})
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=2, sort_keys=False, default=str)
            fh.write("\n")
        os.replace(tmp, path)
        logger.info("Crawl stats written to %s", path)


class CrawlProgress:
    """One ``crawl progress:`` line on stderr every ``CRAWL_PROGRESS_EVERY_PAGES`` pages
    (and when the spider closes): pages fetched, items kept and dropped so far.

    ``trending_assets.lib.crawl.run_crawl`` reads these lines while the crawl runs and
    passes them on (throttled) to the run's event log; a person running the crawl by hand
    sees them in the terminal. ``0`` turns them off.
    """

    def __init__(self, crawler: Crawler, every: int) -> None:
        self.crawler = crawler
        self.every = every
        self.pages = 0
        self.items = 0
        self.dropped = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlProgress:
        ext = cls(crawler, crawler.settings.getint("CRAWL_PROGRESS_EVERY_PAGES", 50))
        crawler.signals.connect(ext.response_received, signal=signals.response_received)
        crawler.signals.connect(ext.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(ext.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def line(self, spider: Spider, final: str = "") -> str:
        text = (
            f"crawl progress: {spider.name}: {self.pages} pages, {self.items} items, "
            f"{self.dropped} dropped"
        )
        return f"{text} ({final})" if final else text

    def _print(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def response_received(self, response: Any, request: Any, spider: Spider) -> None:
        self.pages += 1
        if self.every and self.pages % self.every == 0:
            self._print(self.line(spider))

    def item_scraped(self, item: Any, spider: Spider) -> None:
        self.items += 1

    def item_dropped(
        self, item: Any, response: Any, exception: BaseException, spider: Spider
    ) -> None:
        self.dropped += 1

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.every:
            self._print(self.line(spider, final=reason))
