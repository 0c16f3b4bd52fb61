"""The warehouse tables the Python assets write for serving, with their declared schemas.

``title_predictions``, ``llm_enrichments`` and ``trending_scores`` are written by Python
assets and read by the dbt serving models as sources
(``dbt_project/models/serving/_serving__sources.yml``). Their columns and types are
declared here, once: the assets write through :func:`replace_declared_table` (cast to the
declared types; an empty frame gives an empty table of the declared schema), and
:func:`ensure_declared_tables` creates them empty before dbt runs, so the serving models
build on a warehouse where those assets never ran.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd


@dataclass(frozen=True)
class DeclaredTable:
    """A warehouse table of fixed columns ``(name, DuckDB type)``, in the stored order."""

    name: str
    columns: tuple[tuple[str, str], ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def ddl(self, *, replace: bool = False) -> str:
        columns = ", ".join(f'"{name}" {kind}' for name, kind in self.columns)
        verb = "create or replace table" if replace else "create table if not exists"
        return f"{verb} {self.name} ({columns})"

    def select_cast(self, relation: str) -> str:
        """Every declared column of ``relation``, cast to its type, in the declared order."""
        columns = ", ".join(f'cast("{name}" as {kind}) as "{name}"' for name, kind in self.columns)
        return f"select {columns} from {relation}"


# The champion's probability and call per (title, genre): the title_predictions asset.
TITLE_PREDICTIONS = DeclaredTable(
    "title_predictions",
    (
        ("title_id", "varchar"),
        ("genre_id", "varchar"),
        ("genre_name", "varchar"),
        ("probability", "double"),
        ("predicted", "boolean"),
        ("model_name", "varchar"),
        ("model_version", "varchar"),
    ),
)

# One enrichment per ok title: the llm_enrichments asset (lib/enrichment/results.py).
LLM_ENRICHMENTS = DeclaredTable(
    "llm_enrichments",
    (
        ("title_id", "varchar"),
        ("provider", "varchar"),
        ("model", "varchar"),
        ("prompt_version", "varchar"),
        ("schema_version", "varchar"),
        ("input_hash", "varchar"),
        ("genres", "varchar[]"),
        ("summary", "varchar"),
        ("vibe_score", "bigint"),
        ("vibe_tags", "varchar[]"),
        ("cached", "boolean"),
        ("attempts", "bigint"),
        ("enriched_at", "timestamptz"),
    ),
)

# Every term of the trending formula per title: the trending_scores asset (lib/trending.py).
TRENDING_SCORES = DeclaredTable(
    "trending_scores",
    (
        ("title_id", "varchar"),
        ("as_of", "date"),
        ("recent_reviews", "bigint"),
        ("recent_weight", "double"),
        ("history_reviews", "bigint"),
        ("expected_recent", "double"),
        ("momentum", "double"),
        ("relative_volume", "double"),
        ("vibe", "double"),
        ("vibe_factor", "double"),
        ("score", "double"),
        ("eligible", "boolean"),
        ("rank", "bigint"),
    ),
)

DECLARED_TABLES: tuple[DeclaredTable, ...] = (TITLE_PREDICTIONS, LLM_ENRICHMENTS, TRENDING_SCORES)


def ensure_declared_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create every declared table that is missing, empty; add declared columns a table
    from an older build lacks (null in its rows). Existing rows are kept."""
    for table in DECLARED_TABLES:
        con.execute(table.ddl())
        for name, kind in table.columns:
            con.execute(f'alter table {table.name} add column if not exists "{name}" {kind}')


def replace_declared_table(
    con: duckdb.DuckDBPyConnection,
    table: DeclaredTable,
    frame: pd.DataFrame,
    query: str = "select * from incoming",
) -> int:
    """Replace ``table`` with ``query`` over ``frame`` (named ``incoming``), cast to the
    declared columns, in one transaction; returns the rows written.

    A frame without rows writes an empty table of the declared schema: an asset that has
    nothing yet (no champion model, no reviews) still leaves a table dbt can read.
    """
    if len(frame) == 0:
        con.execute("begin transaction")
        try:
            con.execute(table.ddl(replace=True))
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        return 0
    con.register("incoming", frame)
    try:
        con.execute("begin transaction")
        con.execute(
            f"create or replace table {table.name} as {table.select_cast(f'({query}) as q')}"
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.unregister("incoming")
    # fetchall: a result left half-read blocks the next register() on this connection.
    ((count,),) = con.execute(f"select count(*) from {table.name}").fetchall()
    return int(count)
