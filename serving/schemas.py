"""Response shapes of the API; msgspec Structs so Litestar validates and documents them."""

from __future__ import annotations

from datetime import date, datetime

import msgspec


class Health(msgspec.Struct, kw_only=True):
    status: str
    snapshot: str | None
    snapshot_created_at: datetime | None = None
    snapshot_age_seconds: float | None = None
    detail: str | None = None


class TitleSummary(msgspec.Struct, kw_only=True):
    id: str
    title: str
    year: int | None
    type: str
    genres: list[str]
    genre_ids: list[str]
    review_count: int
    mean_rating: float | None


class TitlePage(msgspec.Struct, kw_only=True):
    items: list[TitleSummary]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class ReviewStats(msgspec.Struct, kw_only=True):
    review_count: int
    rated_review_count: int
    mean_rating: float | None
    first_review_date: date | None
    last_review_date: date | None
    reviews_last_7d: int
    reviews_last_30d: int


class GenrePrediction(msgspec.Struct, kw_only=True):
    genre_id: str
    genre: str
    probability: float
    predicted: bool


class ModelGenres(msgspec.Struct, kw_only=True):
    """The champion genre model's view of the title, with the model that made it."""

    model: str
    model_version: str
    predicted: list[str]
    probabilities: list[GenrePrediction]


class LlmEnrichment(msgspec.Struct, kw_only=True):
    """What the enrichment provider said about the title, and which provider/prompt said it."""

    provider: str
    model: str
    prompt_version: str
    schema_version: str
    genres: list[str]
    summary: str
    vibe_score: int
    vibe_tags: list[str]


class TitleDetail(msgspec.Struct, kw_only=True):
    id: str
    title: str
    year: int | None
    type: str
    plot: str | None
    original_language: str | None
    release_date: date | None
    sources: list[str]
    genres: list[str]
    genre_ids: list[str]
    review_stats: ReviewStats
    model_genres: ModelGenres | None = None
    enrichment: LlmEnrichment | None = None


class Genre(msgspec.Struct, kw_only=True):
    id: str
    name: str
    title_count: int


class GenreList(msgspec.Struct, kw_only=True):
    items: list[Genre]


class InvalidParam(msgspec.Struct, kw_only=True, omit_defaults=True):
    key: str | None = None
    source: str | None = None
    message: str


class ProblemDetail(msgspec.Struct, kw_only=True, omit_defaults=True):
    """RFC 9457 problem details, as every error response is shaped."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    invalid_params: list[InvalidParam] | None = None
