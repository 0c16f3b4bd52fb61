"""Kaggle "Wikipedia Movie Plots" (``wiki_movie_plots_deduped.csv``) to listing records."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from trending_assets.lib.datasets.decoding import convert_csv
from trending_assets.lib.datasets.records import LoadResult
from trending_assets.lib.datasets.rows import (
    RowError,
    labels,
    optional_text,
    parse_year,
    required_text,
)


def _wiki_page_id(url: str) -> str:
    """The article name from a Wikipedia URL (``…/wiki/Bob%27s_Baby`` -> ``Bob's_Baby``)."""
    parts = urlsplit(url.strip())
    if "/wiki/" not in parts.path:
        raise RowError("Wiki Page is not a Wikipedia article URL")
    page = unquote(parts.path.split("/wiki/", 1)[1])
    if not page:
        raise RowError("Wiki Page has no article name")
    return f"{page}#{unquote(parts.fragment)}" if parts.fragment else page


def _wiki_row(row: dict[str, str]) -> dict[str, Any]:
    title = optional_text(row["Title"])
    if title is None:
        raise RowError("missing title")
    page = required_text(row, "Wiki Page")
    genres = [
        label for label in labels(re.split(r"[,/]", row["Genre"])) if label.lower() != "unknown"
    ]
    return {
        "source": "wiki_plots",
        "source_title_id": _wiki_page_id(page),
        "url": page,
        "title": title,
        "year": parse_year(row["Release Year"]),
        "title_type": "movie",
        "plot": optional_text(row["Plot"]),
        "genres": genres,
        "original_language": None,
        "release_date": None,
    }


def load_wiki_plots(data: bytes, dataset: str) -> LoadResult:
    """Listings from the bytes of ``wiki_movie_plots_deduped.csv``."""
    required = ["Release Year", "Title", "Genre", "Wiki Page", "Plot"]
    return convert_csv(data, dataset, required, _wiki_row)
