"""The Python assets' served tables: one declared schema, written empty when there is nothing."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from trending_assets.lib.enrichment.results import RESULT_COLUMNS
from trending_assets.lib.served_tables import (
    DECLARED_TABLES,
    LLM_ENRICHMENTS,
    TITLE_PREDICTIONS,
    TRENDING_SCORES,
    ensure_declared_tables,
    replace_declared_table,
)
from trending_assets.lib.trending import TRENDING_COLUMNS, compute_trending


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from duckdb_columns() where table_name = ? "
        "order by column_index",
        [table],
    ).fetchall()


def _declared(table) -> list[tuple[str, str]]:
    types = {"varchar[]": "VARCHAR[]", "timestamptz": "TIMESTAMP WITH TIME ZONE"}
    return [(name, types.get(kind, kind.upper())) for name, kind in table.columns]


def test_declared_columns_are_what_the_assets_compute() -> None:
    assert TRENDING_SCORES.column_names == tuple(TRENDING_COLUMNS)
    assert LLM_ENRICHMENTS.column_names == tuple(RESULT_COLUMNS)
    assert {t.name for t in DECLARED_TABLES} == {
        "title_predictions", "llm_enrichments", "trending_scores",
    }  # fmt: skip


def test_ensure_creates_missing_tables_empty_and_keeps_rows() -> None:
    with duckdb.connect() as con:
        con.execute("create table title_predictions (title_id varchar, genre_id varchar)")
        con.execute("insert into title_predictions values ('t1', 'drama')")
        ensure_declared_tables(con)
        ensure_declared_tables(con)  # idempotent
        for table in DECLARED_TABLES:
            assert _columns(con, table.name) == _declared(table), table.name
        assert con.execute("select title_id, probability from title_predictions").fetchall() == [
            ("t1", None)
        ]
        assert con.execute("select count(*) from trending_scores").fetchall() == [(0,)]


@pytest.mark.parametrize("table", DECLARED_TABLES, ids=lambda t: t.name)
def test_nothing_to_write_is_an_empty_table_of_the_declared_schema(table) -> None:
    with duckdb.connect() as con:
        con.execute(f"create table {table.name} as select 1 as stale")
        assert replace_declared_table(con, table, pd.DataFrame()) == 0
        assert _columns(con, table.name) == _declared(table)
        assert con.execute(f"select count(*) from {table.name}").fetchall() == [(0,)]


def test_rows_are_cast_to_the_declared_types() -> None:
    """No reviews at all: as_of is null in every row, still a date column (not inferred)."""
    scores = compute_trending(
        ["t1", "t2"], pd.DataFrame({"title_id": [], "review_date": [], "rating": []})
    )
    with duckdb.connect() as con:
        assert replace_declared_table(con, TRENDING_SCORES, scores) == 2
        assert _columns(con, "trending_scores") == _declared(TRENDING_SCORES)
        # The connection is free for the next write (no half-read result left behind).
        con.register("frame", pd.DataFrame({"x": [1]}))
        frame = pd.DataFrame(
            {"title_id": ["t1"], "genre_id": ["drama"], "probability": [0.5], "predicted": [True]}
        )
        con.execute("create table genres as select 'drama' as genre_id, 'Drama' as genre_name")
        written = replace_declared_table(
            con, TITLE_PREDICTIONS, frame,
            query="select i.*, g.genre_name, 'm' as model_name, 'v1' as model_version "
            "from incoming i left join genres g using (genre_id)",
        )  # fmt: skip
        assert written == 1
        assert con.execute("select genre_name, probability from title_predictions").fetchall() == [
            ("Drama", 0.5)
        ]
        assert con.execute("select as_of from trending_scores").fetchall() == [(None,), (None,)]
