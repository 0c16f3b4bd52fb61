"""Row coercion: reading one published cell into a record value, or rejecting the row.

A value that cannot be read raises ``RowError``; its message is the (short, stable)
reject reason. Nothing is rolled over or guessed (docs/contracts.md, "Raw values").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date

from trending_assets.lib.coercion import MIN_YEAR

_YEAR = re.compile(r"^(\d{4})(?:\.0+)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class RowError(ValueError):
    """One row cannot be read; the message is the reject reason."""


def optional_text(value: str | None) -> str | None:
    """The value as published, or None when it is empty or only whitespace."""
    if value is None or not value.strip():
        return None
    return value


def required_text(row: dict[str, str], column: str, what: str | None = None) -> str:
    """The stripped value of ``column``; a missing or blank one rejects the row."""
    value = (row.get(column) or "").strip()
    if not value:
        raise RowError(f"missing {what or column}")
    return value


def parse_year(value: str | None) -> int | None:
    """A four-digit year (``1999`` or ``1999.0``), or None when the cell is empty."""
    text = (value or "").strip()
    if not text:
        return None
    match = _YEAR.match(text)
    if not match:
        raise RowError("unparseable year")
    return plausible_year(int(match.group(1)))


def plausible_year(year: int) -> int:
    """``year`` if it lies between ``MIN_YEAR`` and ten years from now."""
    if not MIN_YEAR <= year <= date.today().year + 10:
        raise RowError(f"implausible year (outside {MIN_YEAR}..{date.today().year + 10})")
    return year


def parse_iso_date(value: str | None) -> date | None:
    """A real ``YYYY-MM-DD`` date with a plausible year, or None when the cell is empty."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        if not _ISO_DATE.match(text):
            raise ValueError
        parsed = date.fromisoformat(text)
    except ValueError:
        raise RowError("unparseable release_date") from None
    plausible_year(parsed.year)
    return parsed


def labels(parts: Iterable[str]) -> list[str]:
    """Stripped, non-empty, first-seen-order labels."""
    seen: dict[str, None] = {}
    for part in parts:
        label = part.strip()
        if label:
            seen.setdefault(label, None)
    return list(seen)


def json_names(value: str | None, column: str) -> list[str]:
    """Names from a TMDb-style JSON array of ``{"id", "name"}`` objects."""
    text = (value or "").strip()
    if not text:
        return []
    try:
        items = json.loads(text)
    except json.JSONDecodeError:
        raise RowError(f"{column} is not valid JSON") from None
    if not isinstance(items, list) or not all(
        isinstance(item, dict) and isinstance(item.get("name"), str) for item in items
    ):
        raise RowError(f"{column} is not a JSON array of {{id, name}} objects")
    return labels(item["name"] for item in items)


def json_dict_values(value: str | None, column: str) -> list[str]:
    """Values from a Freebase-style JSON object ``{"/m/…": "name"}`` (CMU)."""
    text = (value or "").strip()
    if not text:
        return []
    try:
        items = json.loads(text)
    except json.JSONDecodeError:
        raise RowError(f"{column} is not valid JSON") from None
    if not isinstance(items, dict) or not all(isinstance(v, str) for v in items.values()):
        raise RowError(f"{column} is not a JSON object of names")
    return labels(items.values())
