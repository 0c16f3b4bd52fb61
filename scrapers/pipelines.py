"""Validate and normalise crawl items; every drop has a reason and a ``drops/<reason>`` stat.

The checks are plain functions (``normalize_listing``, ``normalize_review``) raising
:class:`InvalidRecord`, so they are tested without Scrapy; the pipeline classes only
turn them into ``DropItem`` and stats.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
import unicodedata
from datetime import date
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from scrapers.extract.reviews import real_name
from scrapers.items import ListingItem, ReviewItem

_BLOCK_TAG = re.compile(r"</?(?:br|p|div|li|ul|ol|h[1-6]|tr|td|th|dd|dt|blockquote)\b[^>]*>", re.I)
_ANY_TAG = re.compile(r"</?[a-zA-Z][^<>]*>|<!--.*?-->", re.S)
_WHITESPACE = re.compile(r"\s+")
# Where an HTML parser would start a tag, a comment or a declaration.
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")
MIN_YEAR = 1870


class InvalidRecord(ValueError):
    """A record that must not reach the lake; ``reason`` becomes the drop stat's name."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def clean_text(value: Any) -> str | None:
    """Strip tags, resolve entities (also double-escaped ones), NFC, collapse whitespace.

    The result is plain text that holds no markup, even for a client that pastes it into
    HTML: tags that appear once entities are decoded (``&lt;img onerror=...&gt;``) are
    stripped like any other tag, and a ``<`` that could still open one (an unclosed
    ``<img src=x onerror=...``, or a tag that stripping another rebuilt) gets a space
    after it, so it reads as text ("a < b" and "I <3 this" are left as they are). Markup
    escaped deeper than the four levels decoded stays escaped (``&lt;b&gt;``): inert.
    """
    if value is None:
        return None
    text = str(value)
    for _ in range(4):
        unescaped = html.unescape(_ANY_TAG.sub("", _BLOCK_TAG.sub(" ", text)))
        if unescaped == text:
            break
        text = unescaped
    text = _ANY_TAG.sub("", _BLOCK_TAG.sub(" ", text))
    text = _TAG_OPEN.sub("< ", text)
    text = unicodedata.normalize("NFC", text)
    text = _WHITESPACE.sub(" ", text).strip()
    return text or None


def _iso_date(value: Any) -> str | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError:
        return None


def _required_id(value: Any, reason: str) -> str:
    text = clean_text(value)
    if not text:
        raise InvalidRecord(reason)
    return text


def normalize_listing(record: dict[str, Any], crawl_date: str | None = None) -> dict[str, Any]:
    """A clean listing record, or :class:`InvalidRecord` saying why it cannot be kept."""
    source = _required_id(record.get("source"), "missing_source")
    title_id = _required_id(record.get("source_title_id"), "missing_id")
    title = clean_text(record.get("title"))
    if not title:
        raise InvalidRecord("missing_title", title_id)
    title_type = (clean_text(record.get("title_type")) or "").lower()
    if title_type not in ("movie", "tv"):
        raise InvalidRecord("bad_title_type", f"{title_id}: {title_type!r}")
    release_date = _iso_date(record.get("release_date"))
    year = record.get("year")
    if year in (None, "") and release_date:
        year = int(release_date[:4])
    if year not in (None, ""):
        try:
            year = int(year)
        except (TypeError, ValueError):
            raise InvalidRecord("implausible_year", f"{title_id}: {year!r}") from None
        latest = int((crawl_date or date.today().isoformat())[:4]) + 3
        if not MIN_YEAR <= year <= latest:
            raise InvalidRecord("implausible_year", f"{title_id}: {year}")
    else:
        year = None
    genres: list[str] = []
    for label in record.get("genres") or []:
        cleaned = clean_text(label)
        if cleaned and cleaned not in genres:
            genres.append(cleaned)
    language = (clean_text(record.get("original_language")) or "").lower()
    return {
        "source": source,
        "source_title_id": title_id,
        "url": record.get("url") or None,
        "title": title,
        "year": year,
        "title_type": title_type,
        "plot": clean_text(record.get("plot")),
        "genres": genres,
        "original_language": language if re.fullmatch(r"[a-z]{2}", language) else None,
        "release_date": release_date,
        "genre_vocabulary": clean_text(record.get("genre_vocabulary")),
        "crawl_date": _iso_date(crawl_date or record.get("crawl_date")),
    }


def review_hash_id(source: str, title_id: str, author: Any, review_date: Any, text: str) -> str:
    """A stable id for a review its site gives none: the same review gets the same id on
    every crawl; two different reviews get different ones."""
    key = "\x1f".join(str(v or "") for v in (source, title_id, author, review_date, text))
    return "h-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def round_rating(number: float) -> int:
    """Ratings are stored as whole numbers on 1-10: rounded half up (7.5 -> 8, 8.49 -> 8)."""
    return int(math.floor(number + 0.5))


def normalize_review(record: dict[str, Any], crawl_date: str | None = None) -> dict[str, Any]:
    """A clean review record, or :class:`InvalidRecord` saying why it cannot be kept."""
    source = _required_id(record.get("source"), "missing_source")
    title_id = _required_id(record.get("source_title_id"), "missing_title_id")
    text = clean_text(record.get("text"))
    author = real_name(clean_text(record.get("author")))  # "N/A", "null": no author
    review_date = _iso_date(record.get("review_date"))
    review_id = clean_text(record.get("source_review_id"))
    if not review_id:
        if not text:
            raise InvalidRecord("missing_text", f"{title_id}: review without id or text")
        review_id = review_hash_id(source, title_id, author, review_date, text)
    rating = record.get("rating")
    if rating not in (None, ""):
        try:
            number = float(rating)
        except (TypeError, ValueError):
            raise InvalidRecord("bad_rating", f"{review_id}: {rating!r}") from None
        if not 1 <= number <= 10:  # also NaN
            raise InvalidRecord("rating_out_of_range", f"{review_id}: {rating!r}")
        rating = round_rating(number)
    else:
        rating = None
    if not text:
        raise InvalidRecord("missing_text", review_id)
    return {
        "source": source,
        "source_review_id": review_id,
        "source_title_id": title_id,
        "author": author,
        "rating": rating,
        "review_date": review_date,
        "text": text,
        "crawl_date": _iso_date(crawl_date or record.get("crawl_date")),
    }


class _StatsPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> _StatsPipeline:
        return cls(crawler)

    def drop(self, error: InvalidRecord) -> DropItem:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"drops/{error.reason}")
        return DropItem(str(error))


class ValidationPipeline(_StatsPipeline):
    """Normalise text, check required fields and ranges; drop what fails, with a reason."""

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        record = adapter.asdict()
        try:
            if isinstance(item, ListingItem):
                clean = normalize_listing(record, record.get("crawl_date"))
            elif isinstance(item, ReviewItem):
                clean = normalize_review(record, record.get("crawl_date"))
            else:
                return item
        except InvalidRecord as error:
            raise self.drop(error) from None
        for key, value in clean.items():
            adapter[key] = value
        return item


class DeduplicationPipeline(_StatsPipeline):
    """One record per (source, id) per crawl: the same page reached by two URLs is dropped."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.seen: set[tuple[str, str, str]] = set()

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        if isinstance(item, ListingItem):
            key = ("listing", adapter["source"], adapter["source_title_id"])
        elif isinstance(item, ReviewItem):
            key = ("review", adapter["source"], adapter["source_review_id"])
        else:
            return item
        if key in self.seen:
            raise self.drop(InvalidRecord("duplicate", f"{key[1]}/{key[2]}"))
        self.seen.add(key)
        return item
