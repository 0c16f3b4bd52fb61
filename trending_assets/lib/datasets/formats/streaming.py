"""Kaggle streaming catalogues (``netflix``, ``hulu``, ``disney_plus``: ``<platform>_titles.csv``)
to listing records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trending_assets.lib.datasets.decoding import convert_csv
from trending_assets.lib.datasets.records import LoadResult
from trending_assets.lib.datasets.rows import (
    RowError,
    labels,
    optional_text,
    parse_year,
    required_text,
)

_STREAMING_TYPES = {"movie": "movie", "tv show": "tv"}


def _streaming_row(source: str) -> Callable[[dict[str, str]], dict[str, Any]]:
    def convert(row: dict[str, str]) -> dict[str, Any]:
        show_id = required_text(row, "show_id")
        title = optional_text(row["title"])
        if title is None:
            raise RowError("missing title")
        kind = row["type"].strip().lower()
        if kind not in _STREAMING_TYPES:
            raise RowError("unknown type (expected Movie or TV Show)")
        return {
            "source": source,
            "source_title_id": show_id,
            "url": None,
            "title": title,
            "year": parse_year(row["release_year"]),
            "title_type": _STREAMING_TYPES[kind],
            "plot": optional_text(row["description"]),
            "genres": labels(row["listed_in"].split(",")),
            "original_language": None,
            "release_date": None,
        }

    return convert


def streaming_loader(source: str) -> Callable[[bytes, str], LoadResult]:
    """The loader of one platform's catalogue; its listings carry ``source``."""
    required = ["show_id", "type", "title", "release_year", "listed_in", "description"]
    return lambda data, dataset: convert_csv(data, dataset, required, _streaming_row(source))
