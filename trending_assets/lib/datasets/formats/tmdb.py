"""Kaggle "TMDB 5000 Movie Dataset" (``tmdb_5000_movies.csv``) to listing records."""

from __future__ import annotations

from typing import Any

from trending_assets.lib.datasets.decoding import convert_csv
from trending_assets.lib.datasets.records import LoadResult
from trending_assets.lib.datasets.rows import (
    RowError,
    json_names,
    optional_text,
    parse_iso_date,
    required_text,
)


def _tmdb_5000_row(row: dict[str, str]) -> dict[str, Any]:
    title_id = required_text(row, "id")
    if not title_id.isdigit():
        raise RowError("non-numeric id")
    title = optional_text(row["title"])
    if title is None:
        raise RowError("missing title")
    release_date = parse_iso_date(row["release_date"])
    return {
        "source": "tmdb_5000",
        "source_title_id": title_id,
        "url": f"https://www.themoviedb.org/movie/{title_id}",
        "title": title,
        "year": release_date.year if release_date else None,
        "title_type": "movie",
        "plot": optional_text(row["overview"]),
        "genres": json_names(row["genres"], "genres"),
        "original_language": optional_text(row["original_language"].strip()),
        "release_date": release_date,
    }


def load_tmdb_5000(data: bytes, dataset: str) -> LoadResult:
    """Listings from the bytes of ``tmdb_5000_movies.csv``."""
    required = ["id", "title", "genres", "overview", "release_date", "original_language"]
    return convert_csv(data, dataset, required, _tmdb_5000_row)
