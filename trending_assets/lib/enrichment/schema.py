"""The enrichment contract: what a provider must return for one title, and what it is given.

``Enrichment`` is the validated output (the same for the ``openai`` and ``local``
providers); ``enrichment_json_schema()`` is its JSON schema in the shape OpenAI's strict
structured outputs accept (every property required, ``additionalProperties: false``).
``EnrichmentInput`` is one title with its reviews; ``input_hash()`` is the content hash the
cache is keyed by, stable under review order and whitespace/Unicode variations.

Bump ``SCHEMA_VERSION`` whenever a field or a rule changes: it is part of every cache key
and of every output row, so a change re-enriches everything.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from trending_assets.lib.validation import CANONICAL_GENRES

SCHEMA_VERSION = "1"

MIN_GENRES, MAX_GENRES = 1, 4
MIN_TAGS, MAX_TAGS = 3, 6
SUMMARY_MAX_WORDS = 60  # what the prompt asks for
SUMMARY_HARD_MAX_WORDS = 75  # what validation tolerates before a re-ask
TAG_MAX_CHARS = 32
TAG_MAX_WORDS = 3

# Display names and common spellings that mean a canonical id.
_GENRE_ALIASES = {
    "sci-fi": "science_fiction",
    "scifi": "science_fiction",
    "sci_fi": "science_fiction",
    "science-fiction": "science_fiction",
    "tv-movie": "tv_movie",
    "children": "kids",
    "musical": "music",
    "romcom": "romance",
}
_TAG_ALLOWED = re.compile(r"[^a-z0-9' -]+")
_SPACES = re.compile(r"\s+")
_HTML_TAG = re.compile(r"<[^>]{0,200}>")


def normalise_text(text: str | None) -> str:
    """NFC, HTML tags (``<br />``) and entities removed, whitespace collapsed."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", html.unescape(_HTML_TAG.sub(" ", str(text))))
    return _SPACES.sub(" ", text).strip()


def normalise_genre(value: str) -> str:
    """``"Science Fiction"`` -> ``science_fiction``; unknown names come back slugged."""
    slug = _SPACES.sub(" ", str(value).strip().lower())
    slug = _GENRE_ALIASES.get(slug, slug)
    return _GENRE_ALIASES.get(slug.replace(" ", "_"), slug.replace(" ", "_").replace("-", "_"))


def normalise_tag(value: str) -> str:
    """Lower-case, ASCII-folded, punctuation except ``'`` and ``-`` dropped, spaces collapsed."""
    folded = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode()
    cleaned = _TAG_ALLOWED.sub(" ", folded.lower().replace("_", " "))
    return _SPACES.sub(" ", cleaned).strip(" -'")


class Enrichment(BaseModel):
    """One title's enrichment. Validation normalises what it safely can and rejects the rest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    genres: list[str] = Field(min_length=MIN_GENRES, max_length=MAX_GENRES)
    summary: str = Field(min_length=1)
    vibe_score: int = Field(ge=1, le=10)
    vibe_tags: list[str] = Field(min_length=MIN_TAGS, max_length=MAX_TAGS)

    @field_validator("genres", mode="before")
    @classmethod
    def _genres(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            return value
        out: list[str] = []
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f"genre {item!r} is not a string")
            genre = normalise_genre(item)
            if genre not in CANONICAL_GENRES:
                raise ValueError(f"genre {item!r} is not in the canonical taxonomy")
            if genre not in out:
                out.append(genre)
        return out

    @field_validator("summary", mode="before")
    @classmethod
    def _summary(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = _SPACES.sub(" ", value).strip()
        words = len(text.split())
        if words > SUMMARY_HARD_MAX_WORDS:
            raise ValueError(f"summary has {words} words; at most {SUMMARY_MAX_WORDS} wanted")
        return text

    @field_validator("vibe_score", mode="before")
    @classmethod
    def _score(cls, value: Any) -> Any:
        # Accept 7.0 (some endpoints emit floats for integers) but not 7.5 or "7".
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool):
            raise ValueError("vibe_score must be an integer")
        return value

    @field_validator("vibe_tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            return value
        out: list[str] = []
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f"tag {item!r} is not a string")
            tag = normalise_tag(item)
            if not tag:
                continue
            if len(tag) > TAG_MAX_CHARS or len(tag.split()) > TAG_MAX_WORDS:
                raise ValueError(f"tag {item!r} is too long (at most {TAG_MAX_WORDS} words)")
            if tag not in out:
                out.append(tag)
        return out


def enrichment_json_schema() -> dict[str, Any]:
    """The JSON schema sent as ``response_format`` (strict-compatible, hand-written so it
    stays within the subset strict structured outputs accept)."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["genres", "summary", "vibe_score", "vibe_tags"],
        "properties": {
            "genres": {
                "type": "array",
                "description": "1-4 genre ids from the canonical taxonomy, most fitting first.",
                "items": {"type": "string", "enum": list(CANONICAL_GENRES)},
                "minItems": MIN_GENRES,
                "maxItems": MAX_GENRES,
            },
            "summary": {
                "type": "string",
                "description": f"What reviewers say, at most {SUMMARY_MAX_WORDS} words.",
            },
            "vibe_score": {
                "type": "integer",
                "description": "Overall reviewer sentiment, 1 (hated) to 10 (loved).",
                "minimum": 1,
                "maximum": 10,
            },
            "vibe_tags": {
                "type": "array",
                "description": "3-6 short lower-case descriptive tags.",
                "items": {"type": "string"},
                "minItems": MIN_TAGS,
                "maxItems": MAX_TAGS,
            },
        },
    }


class EnrichmentInput(BaseModel):
    """One title as the providers see it. ``reviews`` holds ``(text, rating-or-None)``."""

    model_config = ConfigDict(frozen=True)

    title_id: str
    title: str
    title_type: str = "movie"
    plot: str | None = None
    reviews: list[tuple[str, int | None]] = Field(default_factory=list)

    def clean_reviews(self) -> list[tuple[str, int | None]]:
        """Normalised, non-empty reviews in a canonical order (independent of input order)."""
        cleaned = [(normalise_text(text), rating) for text, rating in self.reviews]
        kept = [(text, rating) for text, rating in cleaned if text]
        return sorted(kept, key=lambda item: (_digest(item[0]), -1 if item[1] is None else item[1]))

    def input_hash(self) -> str:
        """sha256 of the normalised content: changes exactly when what a provider sees changes."""
        payload = {
            "title_id": self.title_id,
            "title": normalise_text(self.title),
            "title_type": self.title_type.strip().lower(),
            "plot": normalise_text(self.plot),
            "reviews": [[text, rating] for text, rating in self.clean_reviews()],
        }
        canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def observed_mean_rating(self) -> float | None:
        ratings = [rating for _, rating in self.reviews if rating is not None]
        return sum(ratings) / len(ratings) if ratings else None


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def inputs_from_frames(
    titles: Any, reviews: Any, *, max_reviews_per_title: int | None = None
) -> list[EnrichmentInput]:
    """``EnrichmentInput`` per row of the ``titles`` mart, with its rows of the ``reviews`` mart.

    ``titles`` needs title_id, title, title_type, plot; ``reviews`` title_id, text, rating
    (pandas frames). ``max_reviews_per_title`` keeps a deterministic subset (by text hash)
    so one very popular title cannot blow the prompt or the embedding time.
    """
    grouped: dict[str, list[tuple[str, int | None]]] = {}
    if reviews is not None and len(reviews):
        for title_id, text, rating in zip(
            reviews["title_id"], reviews["text"], reviews["rating"], strict=True
        ):
            if not isinstance(text, str) or not text.strip():
                continue
            grouped.setdefault(str(title_id), []).append((text, _rating(rating)))
    inputs = []
    for row in titles[["title_id", "title", "title_type", "plot"]].itertuples(index=False):
        title_reviews = grouped.get(str(row.title_id), [])
        if max_reviews_per_title is not None and len(title_reviews) > max_reviews_per_title:
            title_reviews = sorted(title_reviews, key=lambda r: _digest(r[0]))
            title_reviews = title_reviews[:max_reviews_per_title]
        inputs.append(
            EnrichmentInput(
                title_id=str(row.title_id),
                title=str(row.title),
                title_type=str(row.title_type or "movie"),
                plot=row.plot if isinstance(row.plot, str) else None,
                reviews=title_reviews,
            )
        )
    return inputs


def _rating(value: Any) -> int | None:
    try:
        if value is None or value != value:  # None or NaN
            return None
        rating = int(value)
    except (TypeError, ValueError):
        return None
    return rating if 1 <= rating <= 10 else None


def genres_in_taxonomy(genres: Sequence[str]) -> list[str]:
    """Canonical ids among ``genres`` (normalised, deduplicated, order kept)."""
    out: list[str] = []
    for genre in genres:
        slug = normalise_genre(genre)
        if slug in CANONICAL_GENRES and slug not in out:
            out.append(slug)
    return out
