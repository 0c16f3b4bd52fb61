"""Scrapy settings for the Trending Now crawlers: polite by default, fast on loopback."""

from __future__ import annotations

import os

BOT_NAME = "trending_now"
SPIDER_MODULES = ["scrapers.spiders"]
NEWSPIDER_MODULE = "scrapers.spiders"

USER_AGENT = "TrendingNowBot/0.1 (+https://github.com/trending-now/trending-now; movie catalog research crawler)"
ROBOTSTXT_OBEY = True

# AutoThrottle stays on (real sites deserve it) but starts at zero delay and aims for
# high concurrency, so a loopback crawl of the demo sites is limited by CPU, not politeness.
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 32
DOWNLOAD_DELAY = 0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.0
AUTOTHROTTLE_MAX_DELAY = 5.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 32.0

RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
DOWNLOAD_TIMEOUT = 20

# Development cache: off unless TRENDING_SCRAPY_HTTPCACHE=1 (a cached crawl would
# hide new listings from the daily crawl).
HTTPCACHE_ENABLED = os.environ.get("TRENDING_SCRAPY_HTTPCACHE", "").lower() in ("1", "true", "yes")
HTTPCACHE_DIR = "httpcache"
HTTPCACHE_EXPIRATION_SECS = 24 * 3600

ITEM_PIPELINES = {
    "scrapers.pipelines.ValidationPipeline": 300,
    "scrapers.pipelines.DeduplicationPipeline": 400,
}
EXTENSIONS = {
    "scrapers.extensions.CrawlStatsExport": 500,
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
