"""Back-off that honours the site: on 429 and 503, wait what ``Retry-After`` asks (seconds
or an HTTP date, capped), or back off exponentially when it says nothing, then retry."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.http import Request, Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import reactor
from twisted.internet.task import deferLater

logger = logging.getLogger(__name__)

BACKOFF_STATUSES = (429, 503)


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (``"120"`` or an HTTP date); None if unreadable."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryAfterMiddleware:
    """``RETRY_AFTER_TIMES`` retries per request (default 3), each after
    ``min(Retry-After, RETRY_AFTER_MAX_SECONDS)`` or ``RETRY_AFTER_BASE_SECONDS * 2**n``."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.times = settings.getint("RETRY_AFTER_TIMES", 3)
        self.max_wait = settings.getfloat("RETRY_AFTER_MAX_SECONDS", 60.0)
        self.base = settings.getfloat("RETRY_AFTER_BASE_SECONDS", 1.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status not in BACKOFF_STATUSES or request.meta.get("dont_retry"):
            return response
        attempt = request.meta.get("retry_after_times", 0)
        if attempt >= self.times:
            return response
        asked = retry_after_seconds(response.headers.get(b"Retry-After"))
        wait = min(self.max_wait, asked if asked is not None else self.base * 2**attempt)
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value(f"backoff/{response.status}")
            stats.inc_value("backoff/seconds", round(wait, 3))
        logger.info(
            "HTTP %s for %s: waiting %.1fs before retrying", response.status, request.url, wait
        )
        if wait > 0:
            await maybe_deferred_to_future(deferLater(reactor, wait, lambda: None))
        spider = self.crawler.spider
        assert spider is not None
        retry = get_retry_request(
            request,
            spider=spider,
            reason=f"backoff_{response.status}",
            max_retry_times=self.times,
            stats_base_key="retry",
        )
        if retry is None:
            return response
        retry.meta["retry_after_times"] = attempt + 1
        return retry
