"""The canonical genre taxonomy, read from its one source: the dbt seed
``dbt_project/seeds/genres.csv`` (``genre_id, genre_name, applies_to, tmdb_genre_id``),
and how a source's genre labels are read onto it.

Python code that needs the genre ids (validation, the LLM output schema, the models)
reads them here, so a genre added to the seed is a genre everywhere. A label matches a
vocabulary's ``genre_map_<vocabulary>`` seed as the warehouse matches it (the dbt macros in
``dbt_project/macros/genre_label_key.sql``; ``tests/dbt/test_dbt_build.py`` holds the two
to each other): :func:`label_genres`."""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from trending_assets.settings import DBT_PROJECT_DIR

GENRES_SEED = DBT_PROJECT_DIR / "seeds" / "genres.csv"
GENRE_MAPS_DIR = DBT_PROJECT_DIR / "seeds" / "genre_maps"


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


_NOT_LETTERS_OR_DIGITS = re.compile(r"[\W_]+")
# ASCII word boundaries and spaces, as DuckDB's regular expressions (RE2) read them
_LABEL_SEPARATORS = re.compile(r"\s*(?:[/&+,;|]|\band\b)\s*", re.ASCII)
_TYPE_WORDS = re.compile(
    r"\b(?:tv|movies?|films?|features?|shows?|series|programmes?|programs?)\b", re.ASCII
)


def label_key(label: str) -> str:
    """The key a genre label is matched on, as dbt's ``genre_label_key`` macro computes it:
    lower-cased, '&' read as 'and', every run of characters other than letters and digits
    one space, trimmed ("Sci-Fi" and "sci fi" are one label)."""
    return _NOT_LETTERS_OR_DIGITS.sub(" ", str(label).lower().replace("&", " and ")).strip()


def bare_key(key: str) -> str:
    """A :func:`label_key` without the words that name a title type, as dbt's
    ``genre_label_bare`` computes it ("tv comedies" -> "comedies", "horror movies" ->
    "horror"; "" when the label is nothing but such words)."""
    return " ".join(_TYPE_WORDS.sub(" ", key).split())


def _known_genres(key: str, mapping: Mapping[str, Sequence[str]]) -> list[str] | None:
    """The genres of a key, else of its bare key; None when neither is known."""
    for candidate in (key, bare_key(key)):
        if candidate in mapping:
            return list(mapping[candidate])
    return None


def label_heads(key: str) -> list[str]:
    """The word suffixes of a key, longest first, as dbt's ``genre_label_heads``
    ("zombie horror movie" -> "horror movie", "movie")."""
    words = key.split(" ") if key else []
    return [" ".join(words[i:]) for i in range(1, len(words))]


def label_parts(label: str) -> list[str]:
    """A label's parts as dbt's ``genre_label_parts`` splits it ("Horror/Comedy" ->
    horror, comedy), each as its :func:`label_key`, empties dropped."""
    parts = _LABEL_SEPARATORS.split(str(label).lower())
    return [label_key(part) for part in parts if part.strip()]


def label_genres(label: str, mapping: Mapping[str, Sequence[str]]) -> list[str] | None:
    """The genres a vocabulary's ``mapping`` gives ``label`` (keys as :func:`label_key`):
    by its key, else its :func:`bare_key`, else through its parts when it has several and
    every part is known (each by its key or bare key), else, for a label of one part, by
    the longest word suffix of its bare key that maps to a genre (:func:`label_heads`:
    "Zombie Horror" as "horror"), with the genres of the words before it when they map to
    some ("Action Thriller" as thriller and action). None when it does not know it."""
    key = label_key(label)
    whole = _known_genres(key, mapping)
    if whole is not None:
        return whole
    parts = [_known_genres(part, mapping) for part in label_parts(label)]
    if len(parts) > 1:
        if all(genres is not None for genres in parts):
            return list(dict.fromkeys(genre for genres in parts for genre in genres or []))
        return None  # a combined label with a part unknown: unknown, not half mapped
    words = bare_key(key).split(" ")
    for head, i in zip(label_heads(bare_key(key)), range(1, len(words)), strict=True):
        if mapping.get(head):
            before = mapping.get(" ".join(words[:i])) or []  # "Action Thriller": both
            return list(dict.fromkeys([*mapping[head], *before]))
    return None


@cache
def vocabulary_map(vocabulary: str, maps_dir: Path = GENRE_MAPS_DIR) -> dict[str, list[str]]:
    """The ``genre_map_<vocabulary>.csv`` seed as :func:`read_genre_map` reads it (read
    once per process); a missing seed is an error."""
    return read_genre_map(maps_dir / f"genre_map_{vocabulary}.csv")


def read_genre_map(path: Path) -> dict[str, list[str]]:
    """``{label key: [genre_id, ...]}`` of a ``genre_map_*.csv`` seed: spellings with one
    :func:`label_key` are one label; a label listed with no genre maps to ``[]`` (known,
    no genre) unless another of its rows names one."""
    mapping: dict[str, list[str]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            key = label_key(row.get("source_genre") or "")
            if not key:
                continue
            targets = mapping.setdefault(key, [])
            genre_id = (row.get("genre_id") or "").strip()
            if genre_id and genre_id not in targets:
                targets.append(genre_id)
    return mapping
