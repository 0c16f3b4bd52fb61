"""Parameterised reads of the serving snapshot; user input only ever travels as parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from serving.schemas import (
    Genre,
    GenrePrediction,
    LlmEnrichment,
    ModelGenres,
    ReviewStats,
    TitleDetail,
    TitlePage,
    TitleSummary,
)


def known_genre_ids(cur: duckdb.DuckDBPyConnection) -> set[str]:
    return {genre_id for (genre_id,) in cur.execute("select genre_id from genres").fetchall()}


def list_genres(cur: duckdb.DuckDBPyConnection) -> list[Genre]:
    rows = cur.execute(
        "select genre_id, genre_name, title_count from genres order by genre_name, genre_id"
    ).fetchall()
    return [Genre(id=r[0], name=r[1], title_count=r[2]) for r in rows]


def _title_filters(genre_ids: Sequence[str], title_type: str | None) -> tuple[str, list[Any]]:
    """WHERE clause and parameters: a title must have *all* requested genres."""
    clauses: list[str] = []
    params: list[Any] = []
    if title_type is not None:
        clauses.append("title_type = ?")
        params.append(title_type)
    if genre_ids:
        placeholders = ", ".join("?" for _ in genre_ids)
        clauses.append(
            "title_id in (select title_id from title_genres "
            f"where genre_id in ({placeholders}) "
            "group by title_id having count(distinct genre_id) = ?)"
        )
        params.extend(genre_ids)
        params.append(len(genre_ids))
    where = f"where {' and '.join(clauses)}" if clauses else ""
    return where, params


def list_titles(
    cur: duckdb.DuckDBPyConnection,
    *,
    limit: int,
    offset: int,
    genre_ids: Sequence[str] = (),
    title_type: str | None = None,
) -> TitlePage:
    where, params = _title_filters(genre_ids, title_type)
    (total,) = cur.execute(f"select count(*) from titles {where}", params).fetchone()
    rows = cur.execute(
        "select title_id, title, year, title_type, genres, genre_ids, review_count, mean_rating "
        f"from titles {where} order by title, title_id limit ? offset ?",
        [*params, limit, offset],
    ).fetchall()
    items = [
        TitleSummary(
            id=r[0],
            title=r[1],
            year=r[2],
            type=r[3],
            genres=r[4],
            genre_ids=r[5],
            review_count=r[6],
            mean_rating=r[7],
        )
        for r in rows
    ]
    next_offset = offset + limit if offset + limit < total else None
    return TitlePage(items=items, total=total, limit=limit, offset=offset, next_offset=next_offset)


def get_title(cur: duckdb.DuckDBPyConnection, title_id: str) -> TitleDetail | None:
    row = cur.execute(
        """
        select title_id, title, year, title_type, plot, original_language, release_date,
               sources, genres, genre_ids, review_count, rated_review_count, mean_rating,
               first_review_date, last_review_date, reviews_last_7d, reviews_last_30d
        from titles where title_id = ?
        """,
        [title_id],
    ).fetchone()
    if row is None:
        return None
    detail = TitleDetail(
        id=row[0],
        title=row[1],
        year=row[2],
        type=row[3],
        plot=row[4],
        original_language=row[5],
        release_date=row[6],
        sources=row[7],
        genres=row[8],
        genre_ids=row[9],
        review_stats=ReviewStats(
            review_count=row[10],
            rated_review_count=row[11],
            mean_rating=row[12],
            first_review_date=row[13],
            last_review_date=row[14],
            reviews_last_7d=row[15],
            reviews_last_30d=row[16],
        ),
    )
    detail.model_genres = get_model_genres(cur, title_id)
    detail.enrichment = get_enrichment(cur, title_id)
    return detail


def _has_table(cur: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        cur.execute("select count(*) from duckdb_tables() where table_name = ?", [name]).fetchone()[0]
    )


def get_enrichment(cur: duckdb.DuckDBPyConnection, title_id: str) -> LlmEnrichment | None:
    """The title's enrichment; None when the snapshot has none for it."""
    if not _has_table(cur, "llm_enrichments"):
        return None
    row = cur.execute(
        "select provider, model, prompt_version, schema_version, genres, summary, vibe_score, "
        "vibe_tags from llm_enrichments where title_id = ?",
        [title_id],
    ).fetchone()
    if row is None:
        return None
    return LlmEnrichment(
        provider=row[0], model=row[1], prompt_version=row[2], schema_version=row[3],
        genres=row[4], summary=row[5], vibe_score=row[6], vibe_tags=row[7],
    )  # fmt: skip


def get_model_genres(cur: duckdb.DuckDBPyConnection, title_id: str) -> ModelGenres | None:
    """The champion's genres for a title; None when the snapshot carries no predictions."""
    if not _has_table(cur, "title_predictions"):
        return None
    rows = cur.execute(
        "select genre_id, genre_name, probability, predicted, model_name, model_version "
        "from title_predictions where title_id = ? order by probability desc, genre_id",
        [title_id],
    ).fetchall()
    if not rows:
        return None
    return ModelGenres(
        model=rows[0][4],
        model_version=rows[0][5],
        predicted=[r[1] for r in rows if r[3]],
        probabilities=[
            GenrePrediction(genre_id=r[0], genre=r[1], probability=r[2], predicted=r[3]) for r in rows
        ],
    )
