"""Kaggle streaming catalogues (``netflix``, ``hulu``, ``disney_plus``: ``<platform>_titles.csv``)
to listing records. Another platform's file in the same columns (``amazon_prime_titles.csv``)
loads as source ``amazon_prime``: :func:`load_other_platform`."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from trending_assets.lib.datasets.decoding import convert_csv, has_columns
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


REQUIRED_COLUMNS = ("show_id", "type", "title", "release_year", "listed_in", "description")


def streaming_loader(source: str) -> Callable[[bytes, str], LoadResult]:
    """The loader of one platform's catalogue; its listings carry ``source``."""
    required = list(REQUIRED_COLUMNS)
    return lambda data, dataset: convert_csv(data, dataset, required, _streaming_row(source))


def looks_like_catalogue(data: bytes) -> bool:
    """Whether a CSV's header names every column a streaming catalogue needs."""
    return has_columns(data, REQUIRED_COLUMNS)


def platform_of(dataset: str) -> str:
    """The platform a catalogue's file name names: ``amazon_prime_titles.csv`` ->
    ``amazon_prime`` (lower case, runs of other characters as ``_``)."""
    stem = PurePosixPath(dataset).name.lower().split("_titles")[0]
    return re.sub(r"[^a-z0-9]+", "_", stem).strip("_") or "streaming"


def load_other_platform(data: bytes, dataset: str) -> LoadResult:
    """A catalogue of a platform without a loader of its own, in the Kaggle columns; its
    listings carry the platform's name as their source (``platform_of``)."""
    return streaming_loader(platform_of(dataset))(data, dataset)
