"""Reading raw values as their types and bounding raw text: every change is a decision with a reason.

Every raw source (crawl feeds, landed files, public datasets, the TMDb API) goes through
these readers before its rows are validated and stored (``lib/records.py``). A reader
returns the value to store and the decisions it took, each a :class:`Decision` with an
action and a short, stable reason (``"<field>: <why>"``) that the raw assets count in
their metadata:

- ``null``: the value cannot be read as its type; the row is kept with NULL here
  (``rating: not a number``, ``year: not a whole year``, ``release_date: impossible date``);
- ``quarantine``: the row cannot be trusted with this value; it goes to ``raw.quarantine``
  with the reason (``rating: outside 1..10``, ``title: longer than 500 chars``);
- ``truncated``: a text over its limit is cut at a word boundary (``plot: truncated to
  20000 chars``), so no stage downstream (dbt, the encoder) ever holds an unbounded value;
- ``adjusted``: a documented normalisation that changed the value
  (``rating: fraction rounded half up``).

A missing value (None, NaN, an empty or blank string) is not a decision: it stays NULL.

Rules (docs/contracts.md, "Raw values: what is kept, nulled or quarantined"):

- ratings are whole numbers 1..10. A fractional rating in range is rounded half up
  (7.5 -> 8, 8.49 -> 8), the rule the crawler applies (``scrapers/pipelines.py``); a rating
  outside 1..10 (checked before rounding: 0.6 and 10.4 are out) is quarantined; NaN,
  Infinity and text that is not a number are nulled with a reason;
- years are whole numbers within ``MIN_YEAR..MAX_YEAR``: "1999" and 1999.0 read as 1999;
  "1999abc", 1850.5 and Infinity are nulled with a reason; a whole year outside the range is
  quarantined;
- dates are ISO ``YYYY-MM-DD`` (an ISO time after it is ignored). An impossible date
  ("2026-13-45") is nulled with a reason, never rolled over; a year or month alone
  ("2019", "2019-05") is nulled with a reason (the day is not invented); a date outside
  ``MIN_YEAR..MAX_YEAR`` is nulled with a reason;
- text fields hold text: a number is written as text, a list, mapping or boolean is nulled
  with a reason, and bounded by :class:`TextLimits`.

No Dagster and no Scrapy imports: the crawler, the loaders and the ingest step can all use it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd

MIN_YEAR, MAX_YEAR = 1870, 2100
MIN_RATING, MAX_RATING = 1, 10

# Ids and URLs: no real one is near these lengths. An id over it quarantines the row (it is
# part of the key); a URL over it is nulled.
MAX_ID_CHARS = 1_000
MAX_URL_CHARS = 8_192
# The most the settings may raise the limits to; the pandera models check stored tables
# against these, so a table that somehow holds more stops everything downstream.
TITLE_CHARS_CEILING = 1_000
TEXT_CHARS_CEILING = 200_000
# A quarantined record keeps each value up to this many characters (the full value stays
# in the landed file or the dataset it came from).
RECORD_VALUE_CHARS = 20_000

Action = Literal["null", "quarantine", "truncated", "adjusted"]
ACTIONS: tuple[Action, ...] = ("null", "quarantine", "truncated", "adjusted")


@dataclass(frozen=True)
class TextLimits:
    """The bounds on raw text (settings ``TRENDING_MAX_*``; defaults as documented)."""

    plot_chars: int = 20_000  # listing plots: truncated past it
    review_chars: int = 20_000  # review texts: truncated past it
    title_chars: int = 500  # titles: quarantined past it; authors: truncated past it
    tag_chars: int = 100  # one genre label: truncated past it
    genre_labels: int = 50  # labels per listing: the first ones kept past it

    def __post_init__(self) -> None:
        for name in ("plot_chars", "review_chars", "title_chars", "tag_chars", "genre_labels"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"TextLimits.{name} must be at least 1")


@dataclass(frozen=True)
class Decision:
    """What a reader did to one value, and why (``reason`` names the field)."""

    action: Action
    reason: str


class JsonConstant(str):
    """``NaN``, ``Infinity`` or ``-Infinity`` as written in a JSON line (``json.loads(...,
    parse_constant=JsonConstant)``): kept apart from a missing value, which pandas also
    shows as NaN, so that it is rejected with a reason instead of read as absent."""


def is_missing(value: Any) -> bool:
    """None, pandas' NA/NaT, or a float NaN (pandas' own marker for a missing number)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, JsonConstant):
        return False
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _blank(value: Any) -> bool:
    return is_missing(value) or (
        isinstance(value, str) and not isinstance(value, JsonConstant) and not value.strip()
    )


def round_rating(number: float) -> int:
    """Ratings are stored as whole numbers on 1-10: rounded half up (7.5 -> 8, 8.49 -> 8).

    The crawler's rule (``scrapers/pipelines.py``), shared by every other path.
    """
    return int(math.floor(number + 0.5))


_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_NON_FINITE = {"nan", "inf", "infinity"}


def _number(value: Any, field: str) -> tuple[float | int | None, Decision | None]:
    """A finite number, or the reason it is not one."""
    if isinstance(value, bool):
        return None, Decision("null", f"{field}: not a number")
    if isinstance(value, (int, np.integer)):
        return int(value), None
    if isinstance(value, (float, np.floating, Decimal)):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.lstrip("+-").lower() in _NON_FINITE:
            return None, Decision("null", f"{field}: not a finite number")
        if not _NUMBER.match(text):
            return None, Decision("null", f"{field}: not a number")
        number = float(text)
    else:
        return None, Decision("null", f"{field}: not a number")
    if not math.isfinite(number):
        return None, Decision("null", f"{field}: not a finite number")
    return number, None


def read_rating(value: Any, field: str = "rating") -> tuple[int | None, list[Decision]]:
    """A whole 1..10 rating (fractions rounded half up), or NULL/quarantine with the reason."""
    if _blank(value):
        return None, []
    number, problem = _number(value, field)
    if problem or number is None:
        return None, [problem] if problem else []
    if not MIN_RATING <= number <= MAX_RATING:
        return None, [Decision("quarantine", f"{field}: outside {MIN_RATING}..{MAX_RATING}")]
    if isinstance(number, int) or float(number).is_integer():
        return int(number), []
    return round_rating(number), [Decision("adjusted", f"{field}: fraction rounded half up")]


def read_year(value: Any, field: str = "year") -> tuple[int | None, list[Decision]]:
    """A whole year in ``MIN_YEAR..MAX_YEAR``, or NULL/quarantine with the reason."""
    if _blank(value):
        return None, []
    number, problem = _number(value, field)
    if problem or number is None:
        return None, [problem] if problem else []
    if not float(number).is_integer():
        return None, [Decision("null", f"{field}: not a whole year")]
    if not MIN_YEAR <= number <= MAX_YEAR:
        return None, [Decision("quarantine", f"{field}: outside {MIN_YEAR}..{MAX_YEAR}")]
    return int(number), []


_FULL_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
_PARTIAL_DATE = re.compile(r"^\d{4}(?:-\d{1,2})?$")


def read_date(value: Any, field: str) -> tuple[date | None, list[Decision]]:
    """An ISO date, or NULL with the reason; impossible dates are never rolled over."""
    if _blank(value):
        return None, []
    parsed: date | None = None
    if isinstance(value, datetime):  # also pandas.Timestamp
        parsed = value.date()
    elif isinstance(value, date):
        parsed = value
    elif isinstance(value, np.datetime64):
        parsed = pd.Timestamp(value).date()
    elif isinstance(value, str) and not isinstance(value, JsonConstant):
        text = value.strip()
        match = _FULL_DATE.match(text)
        if match:
            try:
                parsed = date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                return None, [Decision("null", f"{field}: impossible date")]
        elif _PARTIAL_DATE.match(text):
            return None, [Decision("null", f"{field}: year or month only")]
    if parsed is None:
        return None, [Decision("null", f"{field}: not a date")]
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        return None, [Decision("null", f"{field}: outside {MIN_YEAR}..{MAX_YEAR}")]
    return parsed, []


def read_text(value: Any, field: str) -> tuple[str | None, list[Decision]]:
    """The value as text: a string as it is, a finite number written out; anything else NULL."""
    if _blank(value):
        return None, []
    if isinstance(value, (JsonConstant, bool)):
        return None, [Decision("null", f"{field}: not text")]
    if isinstance(value, str):
        return str(value), []
    if isinstance(value, (int, np.integer)):
        return str(int(value)), []
    if isinstance(value, (float, np.floating, Decimal)):
        if not math.isfinite(float(value)):
            return None, [Decision("null", f"{field}: not text")]
        return str(value), []
    if isinstance(value, (date, datetime)):
        return value.isoformat(), []
    return None, [Decision("null", f"{field}: not text")]


def truncate_at_word(text: str, limit: int, marker: str = "…") -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, ending in ``marker``.

    The cut falls on the last whitespace in the final fifth of the allowed length; a text
    with no whitespace there (one huge token) is cut at the limit itself.
    """
    if len(text) <= limit:
        return text
    room = max(limit - len(marker), 0)
    head = text[: room + 1]  # one more: a space right at the limit is a boundary too
    cut = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"))
    if cut < room * 0.8:
        cut = room
    return text[:cut].rstrip() + marker if room else text[:limit]


def bound_text(
    text: str | None, field: str, limit: int, over: Action
) -> tuple[str | None, list[Decision]]:
    """``text`` within ``limit`` characters: truncated at a word, nulled or quarantined past it."""
    if text is None or len(text) <= limit:
        return text, []
    if over == "truncated":
        return truncate_at_word(text, limit), [
            Decision("truncated", f"{field}: truncated to {limit} chars")
        ]
    return None, [Decision(over, f"{field}: longer than {limit} chars")]


def read_labels(
    value: Any, field: str, limits: TextLimits
) -> tuple[list[str] | None, list[Decision]]:
    """A list of non-empty labels, each and their number bounded.

    Accepted: a list (or array) of strings and numbers; a JSON array in a string; a plain
    string, read as comma-separated labels (the form several sites and datasets publish).
    Anything else quarantines the row.
    """
    if is_missing(value):
        return [], []
    if isinstance(value, str) and not isinstance(value, JsonConstant):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            value = value.split(",")
        if isinstance(value, str):  # a JSON string: one label
            value = [value]
    if not isinstance(value, (list, tuple, np.ndarray)):
        return None, [Decision("quarantine", f"{field}: not a list of labels")]
    labels: list[str] = []
    decisions: list[Decision] = []
    for item in list(value):
        if _blank(item):
            continue
        if isinstance(item, (bool, JsonConstant)) or not isinstance(
            item, (str, int, float, np.integer, np.floating)
        ):
            return None, [Decision("quarantine", f"{field}: not a list of labels")]
        label = str(item).strip()
        if len(label) > limits.tag_chars:
            label = truncate_at_word(label, limits.tag_chars)
            decisions.append(
                Decision("truncated", f"{field}: label truncated to {limits.tag_chars} chars")
            )
        labels.append(label)
    if len(labels) > limits.genre_labels:
        labels = labels[: limits.genre_labels]
        decisions.append(
            Decision(
                "truncated",
                f"{field}: more than {limits.genre_labels} labels, the first kept",
            )
        )
    return labels, list(dict.fromkeys(decisions))


def clip_value(value: Any, limit: int = RECORD_VALUE_CHARS) -> Any:
    """A long string cut for a quarantine or log record, saying how long it was."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]}… [clipped: {len(value)} chars]"
    return value
