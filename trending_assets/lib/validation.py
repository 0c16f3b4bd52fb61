"""pandera models for every raw and mart table, and the split into valid and quarantined rows.

The same models serve twice: raw assets split each incoming batch (failing rows go to
quarantine with their reasons, the rest are stored), and blocking asset checks validate
what is stored, so a table that drifts out of shape stops everything downstream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from trending_assets.lib.coercion import (
    MAX_YEAR,
    MIN_YEAR,
    TEXT_CHARS_CEILING,
    TITLE_CHARS_CEILING,
)
from trending_assets.lib.records import records_as_json
from trending_assets.lib.taxonomy import genre_ids

CANONICAL_GENRES: tuple[str, ...] = genre_ids()  # from the dbt seed genres.csv
TITLE_TYPES = ("movie", "tv")


def _is_str_list(value: object) -> bool:
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
    return isinstance(value, list) and all(isinstance(item, str) and item for item in value)


class ListingRecord(pa.DataFrameModel):
    """One listing as a source published it (crawl, dataset or API)."""

    source: Series[str] = pa.Field(str_matches=r"^[a-z0-9_]+$")
    source_title_id: Series[str] = pa.Field(str_length={"min_value": 1})
    url: Series[str] = pa.Field(nullable=True)
    # Ingestion bounds titles and plots by the settings (lib/coercion.py); these ceilings
    # are what no stored row may exceed whatever the settings say.
    title: Series[str] = pa.Field(str_length={"min_value": 1, "max_value": TITLE_CHARS_CEILING})
    year: Series[pd.Int64Dtype] = pa.Field(ge=MIN_YEAR, le=MAX_YEAR, nullable=True, coerce=True)
    title_type: Series[str] = pa.Field(isin=TITLE_TYPES)
    plot: Series[str] = pa.Field(nullable=True, str_length={"max_value": TEXT_CHARS_CEILING})
    genres: Series[object] = pa.Field()
    original_language: Series[str] = pa.Field(
        nullable=True, str_length={"min_value": 2, "max_value": 12}
    )

    @pa.check("genres", name="genres_are_label_lists", element_wise=True)
    def _genres_are_lists(cls, value: object) -> bool:  # noqa: N805 - pandera's signature
        return _is_str_list(value) or value == []

    class Config:
        unique = ["source", "source_title_id"]
        strict = False


class ReviewRecord(pa.DataFrameModel):
    """One user review as a source published it."""

    source: Series[str] = pa.Field(str_matches=r"^[a-z0-9_]+$")
    source_review_id: Series[str] = pa.Field(str_length={"min_value": 1})
    source_title_id: Series[str] = pa.Field(str_length={"min_value": 1})
    author: Series[str] = pa.Field(nullable=True)
    rating: Series[pd.Int64Dtype] = pa.Field(ge=1, le=10, nullable=True, coerce=True)
    text: Series[str] = pa.Field(str_length={"min_value": 1, "max_value": TEXT_CHARS_CEILING})

    class Config:
        unique = ["source", "source_review_id"]
        strict = False


class CrawledListing(ListingRecord):
    """A listing from one day's crawl: unique per source, id and crawl day."""

    # The genre vocabulary (dbt seed `genre_map_<vocabulary>`) the site's configuration
    # names; null for zero-config sites and for crawls from before the field existed.
    genre_vocabulary: Series[str] = pa.Field(
        nullable=True, required=False, str_matches=r"^[a-z0-9_]+$"
    )

    class Config:
        unique = ["source", "source_title_id", "crawl_date"]
        strict = False


class CrawledReview(ReviewRecord):
    """A review from one day's crawl: unique per source, id and crawl day."""

    class Config:
        unique = ["source", "source_review_id", "crawl_date"]
        strict = False


class ApiRelease(ListingRecord):
    """A release from the TMDb API: unique per source, id and fetch day."""

    class Config:
        unique = ["source", "source_title_id", "fetched_on"]
        strict = False


class TitlesMart(pa.DataFrameModel):
    title_id: Series[str] = pa.Field(unique=True)
    title: Series[str] = pa.Field(str_length={"min_value": 1})
    year: Series[pd.Int64Dtype] = pa.Field(ge=MIN_YEAR, le=MAX_YEAR, nullable=True, coerce=True)
    title_type: Series[str] = pa.Field(isin=TITLE_TYPES)
    plot: Series[str] = pa.Field(nullable=True)

    class Config:
        strict = False


class TitleGenresMart(pa.DataFrameModel):
    title_id: Series[str]
    genre_id: Series[str] = pa.Field(isin=CANONICAL_GENRES)

    class Config:
        unique = ["title_id", "genre_id"]
        strict = False


class ReviewsMart(pa.DataFrameModel):
    review_id: Series[str] = pa.Field(unique=True)
    title_id: Series[str]
    rating: Series[pd.Int64Dtype] = pa.Field(ge=1, le=10, nullable=True, coerce=True)
    text: Series[str] = pa.Field(str_length={"min_value": 1})

    class Config:
        strict = False


class TitleReviewStatsMart(pa.DataFrameModel):
    title_id: Series[str] = pa.Field(unique=True)
    review_count: Series[pd.Int64Dtype] = pa.Field(ge=0, coerce=True)
    mean_rating: Series[float] = pa.Field(ge=1, le=10, nullable=True, coerce=True)

    class Config:
        strict = False


@dataclass(frozen=True)
class ValidationOutcome:
    valid: pd.DataFrame
    quarantined: pd.DataFrame  # columns: reason, record (JSON)
    failure_cases: pd.DataFrame
    quarantined_rows: tuple[int, ...] = ()  # their positions in the frame that was split

    @property
    def reasons(self) -> dict[str, int]:
        if self.quarantined.empty:
            return {}
        return self.quarantined["reason"].value_counts().sort_index().to_dict()


class TableShapeError(ValueError):
    """The batch as a whole is unusable (a missing column, a wrong type): no row is trusted."""


def _reason(row: pd.Series) -> str:
    column = row.get("column")
    check = str(row.get("check"))
    return f"{column}: {check}" if column is not None and not pd.isna(column) else check


def validate_frame(frame: pd.DataFrame, model: type[pa.DataFrameModel]) -> pd.DataFrame:
    """Raise ``pa.errors.SchemaErrors`` listing every failure (lazy), else the frame."""
    return model.validate(frame, lazy=True)


def split_valid_rows(
    frame: pd.DataFrame,
    model: type[pa.DataFrameModel],
    *,
    decided: Mapping[int, Sequence[tuple[str, str]]] | None = None,
    originals: Mapping[int, Mapping[str, Any]] | None = None,
    max_chars: int | None = None,
) -> ValidationOutcome:
    """Rows that pass ``model`` and rows that do not, each failing row with its reasons.

    A duplicate key quarantines every copy but the first: the first one is as good as
    any and keeps the row's data flowing; the later copies are kept, not lost.

    ``decided`` (row position -> [(column, reason)]) names rows coercion already found
    unacceptable: they are quarantined with those reasons, which replace pandera's for
    the same columns (a nulled title is "title: longer than 500 chars", not
    "title: not_nullable"). ``originals`` puts the values as they came back into the
    quarantined records; ``max_chars`` clips long strings there.
    """
    frame = frame.reset_index(drop=True)
    decided = {int(k): list(v) for k, v in (decided or {}).items() if v}
    empty = pd.DataFrame({"reason": pd.Series(dtype=str), "record": pd.Series(dtype=str)})
    try:
        model.validate(frame, lazy=True)
        cases = pd.DataFrame(columns=["index", "column", "check", "schema_context"])
        if not decided:
            return ValidationOutcome(frame, empty, pd.DataFrame())
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases

    row_cases = cases[cases["index"].notna()].copy()
    table_cases = cases[cases["index"].isna()]
    if not table_cases.empty:
        problems = "; ".join(
            sorted({f"{r['check']} ({r['failure_case']})" for _, r in table_cases.iterrows()})
        )
        raise TableShapeError(f"{model.__name__}: the batch is malformed: {problems}")

    row_cases["index"] = row_cases["index"].astype(int)
    unique_cols = list(getattr(model.Config, "unique", None) or [])
    if unique_cols and len(row_cases):
        first_copies = set(frame.index[~frame.duplicated(subset=unique_cols, keep="first")])
        is_dup_case = row_cases["schema_context"].eq("DataFrameSchema")
        row_cases = row_cases[~(is_dup_case & row_cases["index"].isin(first_copies))]
        row_cases.loc[is_dup_case, "column"] = None
        row_cases.loc[is_dup_case, "check"] = "duplicate key " + "+".join(unique_cols)

    if decided and len(row_cases):
        already = {(row, column) for row, pairs in decided.items() for column, _ in pairs}
        keys = zip(row_cases["index"], row_cases["column"], strict=True)
        row_cases = row_cases[[(int(i), c) not in already for i, c in keys]]
    per_row: dict[int, set[str]] = {}
    if len(row_cases):
        labelled = row_cases.assign(reason=row_cases.apply(_reason, axis=1))
        for index, reason in zip(labelled["index"], labelled["reason"], strict=True):
            per_row.setdefault(int(index), set()).add(reason)
    for row, pairs in decided.items():
        per_row.setdefault(row, set()).update(reason for _, reason in pairs)
    if not per_row:
        return ValidationOutcome(frame, empty, cases)

    bad_rows = sorted(per_row)
    bad = frame.loc[bad_rows]
    records = records_as_json(
        bad,
        max_chars=max_chars,
        originals={
            position: (originals or {})[row]
            for position, row in enumerate(bad_rows)
            if row in (originals or {})
        },
    )
    quarantined = pd.DataFrame(
        {"reason": ["; ".join(sorted(per_row[row])) for row in bad_rows], "record": records}
    )
    valid = frame.drop(index=bad_rows).reset_index(drop=True)
    return ValidationOutcome(valid, quarantined, cases, tuple(bad_rows))


class LlmEnrichmentsTable(pa.DataFrameModel):
    """One enrichment per title: canonical genres, a 1-10 vibe score, 3-6 lower-case tags."""

    title_id: Series[str] = pa.Field(unique=True)
    provider: Series[str]
    model: Series[str]
    prompt_version: Series[str]
    summary: Series[str] = pa.Field(str_length={"min_value": 1})
    vibe_score: Series[pd.Int64Dtype] = pa.Field(ge=1, le=10, coerce=True)
    genres: Series[object]
    vibe_tags: Series[object]

    @pa.check("genres", name="genres_in_taxonomy", element_wise=True)
    def _genres_known(cls, value: object) -> bool:  # noqa: N805
        values = value.tolist() if hasattr(value, "tolist") else value
        return (
            isinstance(values, list)
            and 1 <= len(values) <= 4
            and set(values) <= set(CANONICAL_GENRES)
        )

    @pa.check("vibe_tags", name="three_to_six_lower_case_tags", element_wise=True)
    def _tags_shape(cls, value: object) -> bool:  # noqa: N805
        values = value.tolist() if hasattr(value, "tolist") else value
        return (
            isinstance(values, list)
            and 3 <= len(values) <= 6
            and all(isinstance(t, str) and t == t.strip().lower() and t for t in values)
        )

    class Config:
        strict = False


class TrendingScoresTable(pa.DataFrameModel):
    """One row per title; ranks 1..n, unique, exactly for the titles with enough evidence."""

    title_id: Series[str] = pa.Field(unique=True)
    recent_reviews: Series[int] = pa.Field(ge=0)
    history_reviews: Series[int] = pa.Field(ge=0)
    recent_weight: Series[float] = pa.Field(ge=0)
    momentum: Series[float] = pa.Field(gt=0)
    score: Series[float] = pa.Field(ge=0)
    vibe_factor: Series[float] = pa.Field(gt=0)
    eligible: Series[bool]
    rank: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=1, coerce=True)

    @pa.dataframe_check(name="ranked_exactly_when_eligible")
    def _rank_iff_eligible(cls, frame: pd.DataFrame) -> pd.Series:  # noqa: N805
        return frame["rank"].notna() == frame["eligible"].astype(bool)

    @pa.dataframe_check(name="ranks_are_1_to_n")
    def _dense_ranks(cls, frame: pd.DataFrame) -> bool:  # noqa: N805
        ranks = frame["rank"].dropna().astype(int).sort_values().tolist()
        return ranks == list(range(1, len(ranks) + 1))
