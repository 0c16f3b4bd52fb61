"""Parameterised reads of the serving snapshot; user input only ever travels as parameters."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import duckdb
import msgspec

from serving.schemas import (
    Genre,
    TitleDetail,
    TitlePage,
    TitleSummary,
    TrendingItem,
)
from trending_assets.lib.trending import (
    BASIS_BEST_RATED,
    BASIS_TRENDING,
    best_rated_sql,
    fallback_count,
)


def known_genre_ids(cur: duckdb.DuckDBPyConnection) -> set[str]:
    return {genre_id for (genre_id,) in cur.execute("select genre_id from genres").fetchall()}


def list_genres(cur: duckdb.DuckDBPyConnection) -> list[Genre]:
    rows = cur.execute(
        "select genre_id, genre_name, title_count from genres order by genre_name, genre_id"
    ).fetchall()
    return [Genre(id=r[0], name=r[1], title_count=r[2]) for r in rows]


SUMMARY_COLUMNS = (
    "title_id, title, year, title_type, genres, genre_ids, review_count, mean_rating, "
    "vibe_score, trending_rank, trending_score"
)

# sort name -> (key expression, direction). Every key is non-null (nulls mapped to a
# sentinel that sorts last) and ties break on title_id, so the order is total and a
# keyset cursor (last key, last id) continues exactly where a page ended.
SORTS: dict[str, tuple[str, str]] = {
    "title": ("title", "asc"),
    "trending": ("coalesce(trending_rank, 2147483647)", "asc"),
    "vibe": ("coalesce(vibe_score, 0)", "desc"),
    "year": ("coalesce(year, 0)", "desc"),
}


@dataclass(frozen=True)
class TitleFilters:
    genre_ids: Sequence[str] = ()
    title_type: str | None = None
    year_min: int | None = None
    year_max: int | None = None
    min_vibe: int | None = None
    text: str | None = None
    ranked_only: bool = False


def _summary(r: Sequence[Any]) -> TitleSummary:
    return TitleSummary(
        id=r[0], title=r[1], year=r[2], type=r[3], genres=r[4], genre_ids=r[5],
        review_count=r[6], mean_rating=r[7], vibe_score=r[8], trending_rank=r[9],
        trending_score=r[10],
    )  # fmt: skip


def _title_filters(filters: TitleFilters) -> tuple[list[str], list[Any]]:
    """WHERE clauses and parameters: a title must have *all* requested genres."""
    clauses: list[str] = []
    params: list[Any] = []
    if filters.title_type is not None:
        clauses.append("title_type = ?")
        params.append(filters.title_type)
    if filters.genre_ids:
        placeholders = ", ".join("?" for _ in filters.genre_ids)
        clauses.append(
            "title_id in (select title_id from title_genres "
            f"where genre_id in ({placeholders}) "
            "group by title_id having count(distinct genre_id) = ?)"
        )
        params.extend(filters.genre_ids)
        params.append(len(filters.genre_ids))
    if filters.year_min is not None:
        clauses.append("year >= ?")
        params.append(filters.year_min)
    if filters.year_max is not None:
        clauses.append("year <= ?")
        params.append(filters.year_max)
    if filters.min_vibe is not None:
        clauses.append("vibe_score >= ?")
        params.append(filters.min_vibe)
    if filters.text:
        # contains() matches literally: % and _ in the query are not wildcards.
        clauses.append("(contains(lower(title), ?) or contains(lower(coalesce(plot, '')), ?))")
        needle = filters.text.lower()
        params.extend([needle, needle])
    if filters.ranked_only:
        clauses.append("trending_rank is not null")
    return clauses, params


def encode_cursor(sort: str, key: Any, title_id: str) -> str:
    raw = json.dumps([sort, key, title_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, str]:
    """(last key, last id) from a cursor; ValueError when it is not one of ours for ``sort``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, key, title_id = json.loads(raw)
    except Exception as exc:
        raise ValueError("the cursor is not valid (take next_cursor from a previous page)") from exc
    if cursor_sort != sort:
        raise ValueError(f"the cursor belongs to sort={cursor_sort!r}, not sort={sort!r}")
    expected = str if sort == "title" else int
    if not isinstance(key, expected) or isinstance(key, bool) or not isinstance(title_id, str):
        raise ValueError("the cursor is not valid (take next_cursor from a previous page)")
    return key, title_id


def list_titles(
    cur: duckdb.DuckDBPyConnection,
    *,
    limit: int,
    offset: int | None = None,
    cursor: str | None = None,
    sort: str = "title",
    filters: TitleFilters | None = None,
) -> TitlePage:
    """One page of titles in a total, stable order; by ``offset`` or after ``cursor``."""
    key_sql, direction = SORTS[sort]
    clauses, params = _title_filters(filters or TitleFilters())
    where = f"where {' and '.join(clauses)}" if clauses else ""
    (total,) = cur.execute(f"select count(*) from titles {where}", params).fetchone()
    page_clauses, page_params = list(clauses), list(params)
    if cursor is not None:
        last_key, last_id = decode_cursor(cursor, sort)
        op = ">" if direction == "asc" else "<"
        page_clauses.append(f"({key_sql} {op} ? or ({key_sql} = ? and title_id > ?))")
        page_params.extend([last_key, last_key, last_id])
    page_where = f"where {' and '.join(page_clauses)}" if page_clauses else ""
    rows = cur.execute(
        f"select {SUMMARY_COLUMNS}, {key_sql} as sort_key from titles {page_where} "
        f"order by sort_key {direction}, title_id limit ? offset ?",
        [*page_params, limit + 1, offset or 0],
    ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [_summary(r) for r in rows]
    next_cursor = encode_cursor(sort, rows[-1][-1], rows[-1][0]) if more and rows else None
    next_offset = None
    if cursor is None and more:
        next_offset = (offset or 0) + limit
    return TitlePage(
        items=items, total=total, limit=limit, offset=None if cursor is not None else (offset or 0),
        next_offset=next_offset, next_cursor=next_cursor,
    )  # fmt: skip


@dataclass(frozen=True)
class TrendingAnswer:
    items: list[TrendingItem]
    as_of: date | None
    ranked_total: int  # titles matching the filters that have a trending rank
    title_total: int  # titles matching the filters


def trending(
    cur: duckdb.DuckDBPyConnection, *, limit: int, filters: TitleFilters, fallback_min: int = 0
) -> TrendingAnswer:
    """Ranked titles first; when fewer than ``min(fallback_min, limit)`` match the filters,
    the best-rated unranked ones of the same filters after them (trending_assets/lib/
    trending.py, "Coverage and the best-rated fallback")."""
    base = TitleFilters(genre_ids=filters.genre_ids, title_type=filters.title_type)
    clauses, params = _title_filters(replace(base, ranked_only=True))
    where = " and ".join(clauses)
    rows = cur.execute(
        f"select {SUMMARY_COLUMNS} from titles where {where} "
        "order by trending_rank, title_id limit ?",
        [*params, limit],
    ).fetchall()
    (ranked_total,) = cur.execute(f"select count(*) from titles where {where}", params).fetchone()
    clauses, params = _title_filters(base)
    all_where = f"where {' and '.join(clauses)}" if clauses else ""
    (title_total,) = cur.execute(f"select count(*) from titles {all_where}", params).fetchone()
    items = [_trending_item(r, BASIS_TRENDING) for r in rows]
    wanted = fallback_count(len(items), limit=limit, fallback_min=fallback_min)
    if wanted and title_total > ranked_total:
        clauses.append("trending_rank is null")
        rows = cur.execute(
            f"select {SUMMARY_COLUMNS}, {best_rated_sql()} as best_rated from titles "
            f"where {' and '.join(clauses)} "
            "order by best_rated desc nulls last, review_count desc, title_id limit ?",
            [*params, wanted],
        ).fetchall()
        items.extend(_trending_item(r, BASIS_BEST_RATED) for r in rows)
    (as_of,) = cur.execute("select max(as_of) from trending_scores").fetchone()
    return TrendingAnswer(
        items=items, as_of=as_of, ranked_total=ranked_total, title_total=title_total
    )


def _trending_item(r: Sequence[Any], basis: str) -> TrendingItem:
    summary = _summary(r)
    return TrendingItem(
        **{f: getattr(summary, f) for f in summary.__struct_fields__},
        basis=basis,
    )


def summaries_by_id(cur: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> dict[str, TitleSummary]:
    if not ids:
        return {}
    rows = cur.execute(
        f"select {SUMMARY_COLUMNS} from titles where title_id in (select unnest(?::varchar[]))",
        [list(ids)],
    ).fetchall()
    return {r[0]: _summary(r) for r in rows}


def keyword_search(
    cur: duckdb.DuckDBPyConnection, terms: Sequence[str], limit: int
) -> list[tuple[TitleSummary, float]]:
    """Titles matching any term; a title hit weighs 3, a plot hit 1, ties by trending rank."""
    if not terms:
        return []
    parts, params = [], []
    for term in terms:
        parts.append(
            "3 * (contains(lower(title), ?))::int + (contains(lower(coalesce(plot, '')), ?))::int"
        )
        params.extend([term, term])
    score_sql = " + ".join(parts)
    rows = cur.execute(
        f"select {SUMMARY_COLUMNS}, ({score_sql}) as score from titles "
        "where score > 0 order by score desc, coalesce(trending_rank, 2147483647), title_id "
        "limit ?",
        [*params, limit],
    ).fetchall()
    best = max((r[-1] for r in rows), default=1) or 1
    return [(_summary(r), round(r[-1] / best, 4)) for r in rows]


def similar_by_genres(
    cur: duckdb.DuckDBPyConnection, title_id: str, limit: int
) -> list[tuple[TitleSummary, float]]:
    """Fallback "more like this" without embeddings: Jaccard overlap of source genres."""
    rows = cur.execute(
        f"""
        with mine as (select genre_id from title_genres where title_id = ?),
        overlap as (
            select tg.title_id, count(*) as shared from title_genres tg
            where tg.genre_id in (select genre_id from mine) and tg.title_id <> ?
            group by tg.title_id
        ),
        sizes as (select title_id, count(*) as n from title_genres group by title_id)
        select {SUMMARY_COLUMNS},
               o.shared / (s.n + (select count(*) from mine) - o.shared) as score
        from overlap o join sizes s using (title_id) join titles t using (title_id)
        order by score desc, coalesce(trending_rank, 2147483647), title_id
        limit ?
        """,
        [title_id, title_id, limit],
    ).fetchall()
    return [(_summary(r), round(float(r[-1]), 4)) for r in rows]


def get_title(
    cur: duckdb.DuckDBPyConnection, title_id: str, snapshot_version: str
) -> TitleDetail | None:
    """Everything about one title: one point lookup of its pre-assembled document."""
    row = cur.execute("select body from title_details where title_id = ?", [title_id]).fetchone()
    if row is None:
        return None
    detail = msgspec.json.decode(row[0], type=TitleDetail)
    if detail.provenance is not None:
        detail.provenance.snapshot_version = snapshot_version
    return detail


def title_exists(cur: duckdb.DuckDBPyConnection, title_id: str) -> bool:
    return (
        cur.execute("select count(*) from titles where title_id = ?", [title_id]).fetchone()[0] > 0
    )
