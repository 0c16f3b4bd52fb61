"""Carry unchanged title pages forward from the previous crawl instead of fetching them.

A daily crawl of a site reads every title page again, though most did not change since
the day before. Sites say when a page last changed: the ``<lastmod>`` of each URL in their
sitemap (https://www.sitemaps.org/protocol.html). When the previous crawl fetched a title
page on a day after its ``lastmod``, that page is the same today: its items (the listing,
its reviews) are taken from the previous crawl's feed, stamped with today's crawl date,
and neither the page nor its reviews pages are requested.

The rule, per title page found in a sitemap (pages found only by links are fetched):
- the sitemap gives it a ``lastmod``;
- the previous crawl read it as a title page (fetched, or carried itself) and knows its
  title id, and the previous feed holds its listing (a title's reviews may be none);
- ``lastmod`` falls on a day *before* the day it was last fetched (a change later that
  same day could have come after the fetch, so that day's pages are fetched again);
- it was last fetched fewer than ``recrawl_after_days`` days ago (a site file's setting;
  0 turns carrying off for that site), so a site whose ``lastmod`` is wrong is read
  again at least that often.

Records the previous crawl dropped (quarantined that day, with their reason) are not
dropped again for a carried page: they stay in the quarantine of the day they were seen.

Pages are matched by path and query, not host and port: a site served on another port
(the demo sites, a staging copy) is the same site. Items' ``url`` fields are moved to
today's origin.

Pure logic: no Scrapy here; :mod:`scrapers.spiders.base` uses it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from w3lib.url import canonicalize_url

# Outcomes of the previous crawl's page log that mean "read as a title page".
TITLE_OUTCOMES = frozenset({"title", "carried"})
REVIEWS_OUTCOMES = frozenset({"reviews", "empty"})


def page_key(url: str) -> str:
    """A page's identity across crawls: its canonical path and query, without the origin."""
    parts = urlsplit(canonicalize_url(url))
    return parts.path + (f"?{parts.query}" if parts.query else "")


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def lastmod_day(value: object) -> date | None:
    """The day of a sitemap ``<lastmod>`` (W3C datetime: ``2026-11-30``,
    ``2026-11-30T14:02:00+01:00``, ``...Z``), in UTC; ``None`` when absent or unreadable."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        if "T" not in text:
            return date.fromisoformat(text[:10])
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date()


@dataclass(frozen=True)
class PreviousPage:
    """A title page as the previous crawl left it."""

    url: str
    title_id: str
    fetched_on: date  # the crawl day it was last fetched (not carried)


@dataclass
class PreviousCrawl:
    """One spider's previous crawl: its page log and feed, indexed for carrying."""

    crawl_date: date
    pages: dict[tuple[str, str], PreviousPage] = field(default_factory=dict)
    items: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    reviews_pages: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path, spider: str, crawl_date: date) -> PreviousCrawl:
        """Read ``<spider>.pages.jsonl`` and ``<spider>.jsonl`` from ``folder``; a missing or
        unreadable file means nothing can be carried (every line is checked)."""
        pages_path = folder / f"{spider}.pages.jsonl"
        feed_path = folder / f"{spider}.jsonl"
        previous = cls(crawl_date)
        if not pages_path.is_file() or not feed_path.is_file():
            return previous
        previous.index(_read_jsonl(pages_path), _read_jsonl(feed_path))
        return previous

    def index(self, page_log: Iterable[Mapping[str, Any]], rows: Iterable[dict[str, Any]]) -> None:
        reviews_pages: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
        for entry in page_log:
            source, url, title_id = entry.get("source"), entry.get("url"), entry.get("title_id")
            if not (isinstance(source, str) and isinstance(url, str) and isinstance(title_id, str)):
                continue
            outcome = entry.get("outcome")
            if outcome in TITLE_OUTCOMES:
                fetched_on = lastmod_day(entry.get("fetched_on")) or self.crawl_date
                self.pages[(source, page_key(url))] = PreviousPage(url, title_id, fetched_on)
            elif outcome in REVIEWS_OUTCOMES:
                reviews_pages[(source, title_id)].append(page_key(url))
        self.reviews_pages = dict(reviews_pages)
        items: defaultdict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            source, title_id = row.get("source"), row.get("source_title_id")
            if isinstance(source, str) and isinstance(title_id, str):
                items[(source, title_id)].append(row)
        self.items = dict(items)

    def __len__(self) -> int:
        return len(self.pages)

    def carryable(
        self,
        source: str,
        url: str,
        lastmod: date | None,
        today: date,
        recrawl_after_days: int,
        *,
        requires_items: bool = True,
    ) -> PreviousPage | None:
        """The previous page to carry for ``url`` found in ``source``'s sitemap today, or
        ``None`` when it must be fetched (the rule in the module docstring).

        ``requires_items``: the page counts only if the previous feed holds items of its
        title (a listing: yes, it has one; reviews: a title may have none)."""
        if lastmod is None or recrawl_after_days <= 0:
            return None
        page = self.pages.get((source, page_key(url)))
        if page is None or (requires_items and (source, page.title_id) not in self.items):
            return None
        if not lastmod < page.fetched_on:
            return None
        if not 0 <= (today - page.fetched_on).days < recrawl_after_days:
            return None
        return page

    def carried_rows(self, source: str, page: PreviousPage, url: str, today: date) -> list[dict]:
        """The page's items for today: crawl date today, URLs on today's origin."""
        old, new = origin(page.url), origin(url)
        rows = []
        for row in self.items.get((source, page.title_id), []):
            row = dict(row)
            row["crawl_date"] = today.isoformat()
            link = row.get("url")
            if isinstance(link, str) and old != new and link.startswith(old + "/"):
                row["url"] = new + link[len(old) :]
            rows.append(row)
        return rows

    def reviews_page_urls(self, source: str, page: PreviousPage, url: str) -> list[str]:
        """Today's URLs of the reviews pages the previous crawl read for that title."""
        base = origin(url)
        return [base + key for key in self.reviews_pages.get((source, page.title_id), [])]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                rows.append(value)
    return rows
