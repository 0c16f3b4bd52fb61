"""The shapes a loader returns: record columns, ``LoadResult`` and reject rows."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from trending_assets.lib.coercion import RECORD_VALUE_CHARS, clip_value

LISTING_COLUMNS: list[str] = [
    "source", "source_title_id", "url", "title", "year", "title_type", "plot", "genres",
    "original_language", "release_date",
]  # fmt: skip
REVIEW_COLUMNS: list[str] = [
    "source", "source_review_id", "source_title_id", "author", "rating", "review_date", "text",
]  # fmt: skip
REJECT_COLUMNS: list[str] = ["dataset", "reason", "record"]

Kind = Literal["listings", "reviews"]


@dataclass
class LoadResult:
    """Records in a contract shape, and the rows that could not be read (never dropped)."""

    frame: pd.DataFrame
    rejects: pd.DataFrame = field(default_factory=lambda: _empty_rejects())

    @staticmethod
    def concat(results: Iterable[LoadResult], columns: list[str]) -> LoadResult:
        """One result from several, keeping the column set even when all are empty."""
        results = list(results)
        frames = [r.frame for r in results if len(r.frame)]
        rejects = [r.rejects for r in results if len(r.rejects)]
        frame = typed(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(), columns)
        reject_frame = pd.concat(rejects, ignore_index=True) if rejects else _empty_rejects()
        return LoadResult(frame, reject_frame)


def columns_of(kind: Kind) -> list[str]:
    """The frame columns of ``kind``: its record plus ``dataset``."""
    return [*(LISTING_COLUMNS if kind == "listings" else REVIEW_COLUMNS), "dataset"]


def reject(dataset: str, reason: str, record: dict[str, Any]) -> dict[str, str]:
    """A reject row. ``reason`` stays short and stable (it is counted in asset metadata);
    where it happened (file, line) goes into ``record``, which also names the dataset
    because the quarantine table keeps only reason and record."""

    def clipped(value: Any) -> Any:
        if isinstance(value, list):
            return [clipped(v) for v in value]
        return clip_value(value, RECORD_VALUE_CHARS)

    plain = {key: clipped(value) for key, value in record.items()}
    return {
        "dataset": dataset,
        "reason": reason,
        "record": json.dumps({"dataset": dataset, **plain}, ensure_ascii=False, default=str),
    }


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype="object") for column in REJECT_COLUMNS})


def typed(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Exactly ``columns``, with nullable Int64 numbers and None (not NaN) for missing values."""
    out = pd.DataFrame(index=range(len(frame)))
    for column in columns:
        values = frame[column].tolist() if column in frame.columns else [None] * len(frame)
        if column in {"year", "rating"}:
            out[column] = pd.array(values, dtype="Int64")
        else:
            out[column] = pd.Series(values, dtype="object")
    return out


def build(records: list[dict[str, Any]], rejects: list[dict[str, str]], kind: Kind) -> LoadResult:
    """A ``LoadResult`` of ``kind`` from record dicts and reject rows."""
    columns = columns_of(kind)
    frame = typed(pd.DataFrame.from_records(records, columns=columns), columns)
    reject_frame = pd.DataFrame(rejects, columns=REJECT_COLUMNS) if rejects else _empty_rejects()
    return LoadResult(frame, reject_frame)
