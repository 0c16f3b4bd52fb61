"""The canonical genre taxonomy, read from its one source: the dbt seed
``dbt_project/seeds/genres.csv`` (``genre_id, genre_name, applies_to, tmdb_genre_id``).

Python code that needs the genre ids (validation, the LLM output schema, the models)
reads them here, so a genre added to the seed is a genre everywhere."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from trending_assets.settings import DBT_PROJECT_DIR

GENRES_SEED = DBT_PROJECT_DIR / "seeds" / "genres.csv"


@dataclass(frozen=True)
class Genre:
    genre_id: str
    genre_name: str
    applies_to: str  # "both", "movie" or "tv"


@cache
def genres(path: Path = GENRES_SEED) -> tuple[Genre, ...]:
    """The taxonomy in the seed's order; a seed without the expected columns is an error."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"genre_id", "genre_name", "applies_to"} <= set(rows[0]):
        raise ValueError(f"{path}: expected columns genre_id, genre_name, applies_to")
    return tuple(Genre(r["genre_id"], r["genre_name"], r["applies_to"]) for r in rows)


def genre_ids(path: Path = GENRES_SEED) -> tuple[str, ...]:
    return tuple(g.genre_id for g in genres(path))
