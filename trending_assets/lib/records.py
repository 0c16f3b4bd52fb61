"""The raw record shapes (docs/contracts.md) as Arrow schemas, and coercion into them.

Every raw source — crawl feeds, public datasets, the TMDb API — ends up in one of two
shapes, so the warehouse has one staging pattern per shape. Coercion never drops a
row: a value that cannot be read as its type becomes null and the row is kept, so the
validation step can quarantine it with a reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

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
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _to_str(value: Any) -> str | None:
    if _is_missing(value):
        return None
    text = str(value)
    return text if text.strip() else None


def _to_int(value: Any) -> int | None:
    if _is_missing(value) or isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _to_date(value: Any) -> date | None:
    if _is_missing(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for length, fmt in ((10, "%Y-%m-%d"), (7, "%Y-%m"), (4, "%Y")):
        try:
            return datetime.strptime(text[:length], fmt).date()
        except ValueError:
            continue
    return None


def _to_str_list(value: Any) -> list[str] | None:
    if value is None:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(item).strip() for item in value if not _is_missing(item) and str(item).strip()]
    if _is_missing(value):
        return []
    return None  # not a list: left null so validation quarantines it


_CONVERTERS = {
    pa.string(): _to_str,
    pa.int32(): _to_int,
    pa.date32(): _to_date,
    pa.list_(pa.string()): _to_str_list,
}


def coerce_frame(rows: pd.DataFrame | Iterable[Mapping[str, Any]], table: str) -> pd.DataFrame:
    """Rows (dicts or a frame) as a frame with exactly the raw table's columns.

    Missing columns become null; extra columns are ignored; ``ingested_at`` is left to
    the caller. Integers are nullable ``Int64``, dates are ``datetime.date`` objects.
    """
    schema = RAW_TABLE_SCHEMAS[table]
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    out = pd.DataFrame(index=range(len(frame)))
    for field in schema:
        if field.name == "ingested_at":
            continue
        column = (
            frame[field.name] if field.name in frame.columns else pd.Series([None] * len(frame))
        )
        converter = _CONVERTERS[field.type]
        values = [converter(v) for v in column.tolist()]
        if field.type == pa.int32():
            out[field.name] = pd.array(values, dtype="Int64")
        else:
            out[field.name] = pd.Series(values, dtype="object")
    return out


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


def records_as_json(frame: pd.DataFrame) -> list[str]:
    """Each row as a JSON string, for the quarantine table (dates and NAs made plain)."""

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
        return value

    return [
        json.dumps({k: plain(v) for k, v in row.items()}, ensure_ascii=False, default=str)
        for row in frame.to_dict(orient="records")
    ]
