"""Retry-After: seconds or an HTTP date; unreadable values fall back to back-off."""

from __future__ import annotations

from datetime import UTC, datetime

from scrapers.middlewares import retry_after_seconds


def test_retry_after_seconds_forms():
    now = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(b"120") == 120.0
    assert retry_after_seconds("  7 ") == 7.0
    assert retry_after_seconds("Sat, 28 Nov 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Sat, 28 Nov 2026 11:00:00 GMT", now=now) == 0.0  # past
    assert retry_after_seconds("-5") == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
    assert retry_after_seconds(b"") is None
