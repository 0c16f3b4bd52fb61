"""The raw record shapes (docs/contracts.md) as Arrow schemas, and coercion into them.

Every raw source — crawl feeds, public datasets, the TMDb API — ends up in one of two
shapes, so the warehouse has one staging pattern per shape. Coercion never drops a row
and never changes a value silently: each value goes through a reader of
``lib/coercion.py``, and every value it nulls, truncates, adjusts or finds
unacceptable comes back as a decision with its reason (:class:`Coerced`), for the ingest
step to count in metadata or to quarantine the row with.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from trending_assets.lib.coercion import (
    MAX_ID_CHARS,
    MAX_URL_CHARS,
    Decision,
    TextLimits,
    bound_text,
    clip_value,
    is_missing,
    read_date,
    read_labels,
    read_rating,
    read_text,
    read_year,
)

LISTING_FIELDS: list[pa.Field] = [
    pa.field("source", pa.string()),
    pa.field("source_title_id", pa.string()),
    pa.field("url", pa.string()),
    pa.field("title", pa.string()),
    pa.field("year", pa.int32()),
    pa.field("title_type", pa.string()),
    pa.field("plot", pa.string()),
    pa.field("genres", pa.list_(pa.string())),
    pa.field("original_language", pa.string()),
    pa.field("release_date", pa.date32()),
]
REVIEW_FIELDS: list[pa.Field] = [
    pa.field("source", pa.string()),
    pa.field("source_review_id", pa.string()),
    pa.field("source_title_id", pa.string()),
    pa.field("author", pa.string()),
    pa.field("rating", pa.int32()),
    pa.field("review_date", pa.date32()),
    pa.field("text", pa.string()),
]
INGESTED_AT = pa.field("ingested_at", pa.timestamp("us"))

# Per raw table: the record shape plus the column that says where each row came from.
RAW_TABLE_SCHEMAS: dict[str, pa.Schema] = {
    # `genre_vocabulary` (the site file's genre vocabulary, null for zero-config sites) was
    # added after the first crawls: last, where `alter table ... add column` puts it.
    "listings": pa.schema(
        [
            *LISTING_FIELDS,
            INGESTED_AT,
            pa.field("crawl_date", pa.date32()),
            pa.field("genre_vocabulary", pa.string()),
        ]
    ),
    "reviews": pa.schema([*REVIEW_FIELDS, INGESTED_AT, pa.field("crawl_date", pa.date32())]),
    "dataset_listings": pa.schema([*LISTING_FIELDS, INGESTED_AT, pa.field("dataset", pa.string())]),
    "dataset_reviews": pa.schema([*REVIEW_FIELDS, INGESTED_AT, pa.field("dataset", pa.string())]),
    "api_releases": pa.schema([*LISTING_FIELDS, INGESTED_AT, pa.field("fetched_on", pa.date32())]),
}


def _is_missing(value: Any) -> bool:
    return is_missing(value)


# Columns a row cannot be stored without: a value there that cannot be read quarantines
# the row (with the reader's reason) instead of leaving a null for pandera to name.
REQUIRED_COLUMNS = frozenset(
    {"source", "source_title_id", "source_review_id", "title", "title_type", "text"}
)

Reader = Callable[[Any], tuple[Any, list[Decision]]]


def _text_reader(name: str, limit: int | None, over: str) -> Reader:
    def read(value: Any) -> tuple[Any, list[Decision]]:
        text, decisions = read_text(value, name)
        if limit is not None and text is not None:
            text, bounded = bound_text(text, name, limit, over)  # type: ignore[arg-type]
            decisions = decisions + bounded
        return text, decisions

    return read


def _readers(table: str, limits: TextLimits) -> dict[str, Reader]:
    """One reader per column of ``table`` (all but ``ingested_at``)."""
    bounds: dict[str, tuple[int, str]] = {
        "source": (MAX_ID_CHARS, "quarantine"),
        "source_title_id": (MAX_ID_CHARS, "quarantine"),
        "source_review_id": (MAX_ID_CHARS, "quarantine"),
        "url": (MAX_URL_CHARS, "null"),
        "title": (limits.title_chars, "quarantine"),
        "author": (limits.title_chars, "truncated"),
        "plot": (limits.plot_chars, "truncated"),
        "text": (limits.review_chars, "truncated"),
    }
    readers: dict[str, Reader] = {}
    for column in RAW_TABLE_SCHEMAS[table]:
        name = column.name
        if name == "ingested_at":
            continue
        if name == "rating":
            readers[name] = read_rating
        elif name == "year":
            readers[name] = read_year
        elif column.type == pa.date32():
            readers[name] = lambda value, name=name: read_date(value, name)
        elif column.type == pa.list_(pa.string()):
            readers[name] = lambda value, name=name: read_labels(value, name, limits)
        else:
            limit, over = bounds.get(name, (None, "null"))
            readers[name] = _text_reader(name, limit, over)
    return readers


@dataclass
class Coerced:
    """Rows in the raw table's shape, and every decision taken on their values.

    ``decisions`` has one row per (row, column, decision): ``row`` (position in
    ``frame``), ``column``, ``action`` (null, quarantine, truncated, adjusted), ``reason``
    and ``original`` (the value as it came, clipped).
    """

    frame: pd.DataFrame
    decisions: pd.DataFrame = dataclass_field(default_factory=lambda: _empty_decisions())

    def quarantine(self) -> dict[int, list[tuple[str, str]]]:
        """Rows that must be quarantined: row -> [(column, reason)]."""
        out: dict[int, list[tuple[str, str]]] = {}
        for row in self.decisions[self.decisions["action"] == "quarantine"].itertuples():
            out.setdefault(int(row.row), []).append((str(row.column), str(row.reason)))
        return out

    def originals(self) -> dict[int, dict[str, Any]]:
        """The values as they came, for the nulled and quarantined ones: row -> column -> value."""
        out: dict[int, dict[str, Any]] = {}
        kept = self.decisions[self.decisions["action"].isin(["null", "quarantine"])]
        for row in kept.itertuples():
            out.setdefault(int(row.row), {})[str(row.column)] = row.original
        return out


DECISION_COLUMNS = ["row", "column", "action", "reason", "original"]


def _empty_decisions() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="int64" if c == "row" else object) for c in DECISION_COLUMNS}
    )


def _plain_original(value: Any) -> Any:
    """A JSON-friendly, clipped copy of a raw value for decision logs and quarantine records."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain_original(v) for v in value[:100]]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)  # nan / inf: JSON has no literal for them
    if isinstance(value, (str, int, float, bool)) or value is None:
        return clip_value(str(value) if isinstance(value, str) else value)
    return clip_value(str(value))


def coerce_rows(
    rows: pd.DataFrame | Iterable[Mapping[str, Any]],
    table: str,
    limits: TextLimits | None = None,
) -> Coerced:
    """Rows (dicts or a frame) as a frame with exactly the raw table's columns, and the
    decisions taken on their values (``lib/coercion.py`` has the rules).

    Missing columns become null; extra columns are ignored; ``ingested_at`` is left to
    the caller. Integers are nullable ``Int64``, dates are ``datetime.date`` objects.
    """
    limits = limits or TextLimits()
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    out = pd.DataFrame(index=range(len(frame)))
    decided: list[tuple[int, str, str, str, Any]] = []
    for name, reader in _readers(table, limits).items():
        column = frame[name] if name in frame.columns else pd.Series([None] * len(frame))
        values = []
        for position, raw in enumerate(column.tolist()):
            value, decisions = reader(raw)
            if name in REQUIRED_COLUMNS:
                decisions = [
                    Decision("quarantine", d.reason) if d.action == "null" else d for d in decisions
                ]
            for decision in decisions:
                original = _plain_original(raw)
                decided.append((position, name, decision.action, decision.reason, original))
            values.append(value)
        if RAW_TABLE_SCHEMAS[table].field(name).type == pa.int32():
            out[name] = pd.array(values, dtype="Int64")
        else:
            out[name] = pd.Series(values, dtype="object")
    decisions = pd.DataFrame(decided, columns=DECISION_COLUMNS) if decided else _empty_decisions()
    return Coerced(out, decisions)


def coerce_frame(
    rows: pd.DataFrame | Iterable[Mapping[str, Any]],
    table: str,
    limits: TextLimits | None = None,
) -> pd.DataFrame:
    """The frame of :func:`coerce_rows` (the decisions are dropped: for tests and tools)."""
    return coerce_rows(rows, table, limits).frame


def to_arrow(frame: pd.DataFrame, table: str) -> pa.Table:
    """A validated frame as an Arrow table of the raw table's exact schema.

    A column the frame lacks is all null (a frame built before the column existed).
    """
    schema = RAW_TABLE_SCHEMAS[table]
    arrays = []
    for field in schema:
        if field.name not in frame.columns:
            arrays.append(pa.nulls(len(frame), type=field.type))
            continue
        values = frame[field.name].tolist()
        values = (
            [None if _is_missing(v) else v for v in values]
            if field.type != pa.list_(pa.string())
            else values
        )
        arrays.append(pa.array(values, type=field.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def records_as_json(
    frame: pd.DataFrame,
    *,
    max_chars: int | None = None,
    originals: Mapping[int, Mapping[str, Any]] | None = None,
) -> list[str]:
    """Each row as a JSON string, for the quarantine table (dates and NAs made plain).

    ``originals`` (position in ``frame`` -> column -> value) puts back the values as they
    came where coercion nulled them, so a quarantined record loses nothing; ``max_chars``
    clips long strings (the full value stays in the file the row came from).
    """

    def plain(value: Any) -> Any:
        if isinstance(value, (date, datetime)):
            return value.isoformat()
        if isinstance(value, np.ndarray):
            return [plain(v) for v in value.tolist()]
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, np.integer):
            return int(value)
        if _is_missing(value):
            return None
        if max_chars is not None:
            return clip_value(value, max_chars)
        return value

    out = []
    for position, row in enumerate(frame.to_dict(orient="records")):
        record = {k: plain(v) for k, v in row.items()}
        for column, value in (originals or {}).get(position, {}).items():
            record[column] = plain(value)
        out.append(json.dumps(record, ensure_ascii=False, default=str))
    return out
