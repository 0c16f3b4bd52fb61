"""Scrapy settings for the Trending Now crawlers: polite by default, fast on loopback.

Per-site politeness (requests in flight, delay) comes from each site's file
(``scrapers/sites/<name>.yml``, ``politeness:``) as a download slot per host; the values
here are the ceilings and the defaults."""

from __future__ import annotations

import os

BOT_NAME = "trending_now"
SPIDER_MODULES = ["scrapers.spiders"]
NEWSPIDER_MODULE = "scrapers.spiders"

USER_AGENT = (
    "TrendingNowBot/0.2 (+https://github.com/trending-now/trending-now/blob/main/docs/adding_a_site.md;"
    " movie and TV catalog crawler; obeys robots.txt)"
)
ROBOTSTXT_OBEY = True

# AutoThrottle stays on (real sites deserve it): it slows down as a site's latency grows.
# A site with no file gets 4 requests in flight (its slot); the demo sites' files raise
# that to 32, so a loopback crawl is limited by CPU, not politeness.
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.0
AUTOTHROTTLE_MAX_DELAY = 10.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 4.0

# Breadth-first: a site's near pages (listings, titles a click away) before deep ones.
DEPTH_PRIORITY = 1
SCHEDULER_DISK_QUEUE = "scrapy.squeues.PickleFifoDiskQueue"
SCHEDULER_MEMORY_QUEUE = "scrapy.squeues.FifoMemoryQueue"

RETRY_ENABLED = True
RETRY_TIMES = 2
# 429 and 503 are retried by RetryAfterMiddleware, after the pause the site asks for.
RETRY_HTTP_CODES = [500, 502, 504, 522, 524, 408]
RETRY_AFTER_TIMES = 3
RETRY_AFTER_MAX_SECONDS = 60.0
RETRY_AFTER_BASE_SECONDS = 1.0
DOWNLOAD_TIMEOUT = 20
DOWNLOADER_MIDDLEWARES = {"scrapers.middlewares.RetryAfterMiddleware": 560}
# Very large pages are not title pages; stop reading at 16 MB.
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024

# Development cache: off unless TRENDING_SCRAPY_HTTPCACHE=1 (a cached crawl would
# hide new listings from the daily crawl).
HTTPCACHE_ENABLED = os.environ.get("TRENDING_SCRAPY_HTTPCACHE", "").lower() in ("1", "true", "yes")
HTTPCACHE_DIR = "httpcache"
HTTPCACHE_EXPIRATION_SECS = 24 * 3600

# Our item pipelines are synchronous and CPU-bound: processing a page's items one at a
# time loses nothing, while Scrapy's default (100) starts that many asyncio workers for
# every response's output. One item at a time made the reviews spider 0.86x as long on the
# 1,000-title demo (same items; bench/README.md, "Items one at a time").
CONCURRENT_ITEMS = 1

ITEM_PIPELINES = {
    "scrapers.pipelines.ValidationPipeline": 300,
    "scrapers.pipelines.DeduplicationPipeline": 400,
}
EXTENSIONS = {
    "scrapers.extensions.CrawlStatsExport": 500,
    "scrapers.extensions.CrawlProgress": 510,
    "scrapy.extensions.telnet.TelnetConsole": None,
}

# Feeds are JSON lines; scrapers.crawl points them at the landing dir, `scrapy crawl -O`
# at its own file. TRENDING_CRAWL_DIR gives a bare `scrapy crawl` a landing dir too.
FEED_EXPORT_ENCODING = "utf-8"
_CRAWL_DIR = os.environ.get("TRENDING_CRAWL_DIR")
FEEDS = (
    {f"{_CRAWL_DIR}/%(name)s.jsonl": {"format": "jsonlines", "encoding": "utf8", "overwrite": True}}
    if _CRAWL_DIR
    else {}
)

LOG_LEVEL = "INFO"
LOGSTATS_INTERVAL = 30.0
# A "crawl progress:" line on stderr every N fetched pages (scrapers.extensions.CrawlProgress).
CRAWL_PROGRESS_EVERY_PAGES = 50
