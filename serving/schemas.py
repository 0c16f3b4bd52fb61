"""Response shapes of the API; msgspec Structs so Litestar validates and documents them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

import msgspec


class Health(msgspec.Struct, kw_only=True):
    status: str
    snapshot: str | None
    snapshot_created_at: datetime | None = None
    snapshot_age_seconds: float | None = None
    detail: str | None = None
    degraded: str | None = None


class Ready(msgspec.Struct, kw_only=True):
    ready: bool
    snapshot: str | None
    snapshot_created_at: datetime | None = None
    snapshot_age_seconds: float | None = None
    detail: str | None = None
    # Set while a snapshot is served but CURRENT cannot be followed (unreadable, garbage,
    # or naming a version that does not open): why, and which version is served instead.
    degraded: str | None = None


class TitleSummary(msgspec.Struct, kw_only=True):
    id: str
    title: str
    year: int | None
    type: str
    genres: list[str]
    genre_ids: list[str]
    review_count: int
    mean_rating: float | None
    vibe_score: int | None = None
    trending_rank: int | None = None
    trending_score: float | None = None


class TitlePage(msgspec.Struct, kw_only=True):
    """``next_cursor`` continues after the last item (stable even if you change ``limit``);
    ``next_offset`` is the same page by offset. Both are null on the last page."""

    items: list[TitleSummary]
    total: int
    limit: int
    offset: int | None
    next_offset: int | None
    next_cursor: str | None = None


class TrendingItem(TitleSummary, kw_only=True):
    """A title of a /trending answer. ``basis``: ``trending`` (it has a trending rank) or
    ``best_rated_fallback`` (unranked, added because too few titles are trending)."""

    basis: Literal["trending", "best_rated_fallback"] = "trending"


class TrendingList(msgspec.Struct, kw_only=True):
    """Trending titles first (by rank); when fewer than ``fallback_min`` match, the answer
    is topped up with the best-rated unranked titles of the same filters, marked per item
    (``basis``), and ``reason`` says why. ``reason`` is null when every item is trending."""

    as_of: date | None
    snapshot: str
    formula: str
    items: list[TrendingItem]
    trending_count: int = 0  # items with basis "trending"
    fallback_count: int = 0  # items with basis "best_rated_fallback"
    reason: str | None = None


class ScoredTitle(TitleSummary, kw_only=True):
    score: float


class SearchResults(msgspec.Struct, kw_only=True):
    query: str
    mode: str  # "semantic" or "keyword"
    items: list[ScoredTitle]


class SimilarTitles(msgspec.Struct, kw_only=True):
    id: str
    mode: str  # "embedding" or "genres"
    items: list[ScoredTitle]


class PredictRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    text: str
    title: str | None = None
    # "movie" or "tv": the model takes it as an input, and a genre of the other type
    # (kids / reality / soap / talk / news are TV-only, tv_movie is movie-only) is never
    # predicted. Absent: unknown, every genre may be predicted.
    type: str | None = None


class Prediction(msgspec.Struct, kw_only=True):
    model: str
    model_version: str
    snapshot: str
    type: str | None  # the title type predicted for, as given (None: not given)
    predicted: list[str]
    probabilities: list[GenrePrediction]


class TrendingInfo(msgspec.Struct, kw_only=True):
    rank: int | None
    score: float
    recent_reviews: int
    momentum: float
    as_of: date | None


class Provenance(msgspec.Struct, kw_only=True):
    snapshot_version: str
    model_version: str | None
    prompt_version: str | None


class ReloadResult(msgspec.Struct, kw_only=True):
    switched: bool
    snapshot: str | None
    detail: str | None = None


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
    trending: TrendingInfo | None = None
    provenance: Provenance | None = None


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


def scored(summary: TitleSummary, score: float) -> ScoredTitle:
    """A summary with a relevance score (search hits, similar titles)."""
    return ScoredTitle(**{f: getattr(summary, f) for f in summary.__struct_fields__}, score=score)
