"""Loading raw batches and quarantined rows into the DuckDB warehouse.

The warehouse has one writer at a time (DuckDB's rule); the pipeline guarantees it with
a Dagster pool, and each load here is a single transaction, so a run killed half-way
leaves the previous partition in place.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pandas as pd
import pyarrow as pa

from trending_assets.lib.records import RAW_TABLE_SCHEMAS, to_arrow

RAW_SCHEMA = "raw"
QUARANTINE_TABLE = f"{RAW_SCHEMA}.quarantine"
# Per crawl day, spider and source: what the crawl fetched and yielded (raw_crawl writes it).
CRAWL_SOURCES_TABLE = f"{RAW_SCHEMA}.crawl_sources"
CRAWL_SOURCES_COLUMNS: dict[str, str] = {
    "crawl_date": "date",
    "spider": "varchar",
    "source": "varchar",
    "pages": "integer",
    "titles": "integer",
    "reviews": "integer",
    "listing_pages": "integer",
    "skipped": "integer",
    "empty": "integer",
    "errors": "integer",
    "empty_cause": "varchar",
    "crawled_at": "timestamp",
}

_DUCKDB_TYPES = {
    pa.string(): "varchar",
    pa.int32(): "integer",
    pa.date32(): "date",
    pa.timestamp("us"): "timestamp",
    pa.list_(pa.string()): "varchar[]",
}


def raw_table_ddl(table: str) -> str:
    columns = ",\n    ".join(
        f"{field.name} {_DUCKDB_TYPES[field.type]}" for field in RAW_TABLE_SCHEMAS[table]
    )
    return f"create table if not exists {RAW_SCHEMA}.{table} (\n    {columns}\n)"


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema, every raw table and the quarantine table if missing.

    dbt's sources read all of them, so they exist (possibly empty) from the first run on,
    whatever subset of the raw assets has been materialised.
    """
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    for table in RAW_TABLE_SCHEMAS:
        con.execute(raw_table_ddl(table))
        # A warehouse from before a column was added: the column joins, null in old rows.
        for field in RAW_TABLE_SCHEMAS[table]:
            con.execute(
                f"alter table {RAW_SCHEMA}.{table} add column if not exists "
                f"{field.name} {_DUCKDB_TYPES[field.type]}"
            )
    columns = ",\n    ".join(f"{name} {kind}" for name, kind in CRAWL_SOURCES_COLUMNS.items())
    con.execute(f"create table if not exists {CRAWL_SOURCES_TABLE} (\n    {columns}\n)")
    con.execute(
        f"""create table if not exists {QUARANTINE_TABLE} (
            asset varchar, partition varchar, reason varchar, record json,
            quarantined_at timestamp
        )"""
    )


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def replace_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    *,
    where: str,
    params: list[object],
) -> int:
    """Delete the rows matching ``where`` and insert ``frame``, in one transaction.

    ``frame`` must hold the raw table's columns except ``ingested_at``, which is set here.
    """
    frame = frame.copy()
    frame["ingested_at"] = pd.Timestamp(now_utc())
    arrow_table = to_arrow(frame, table)
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {RAW_SCHEMA}.{table} where {where}", params)
        con.register("incoming_batch", arrow_table)
        con.execute(f"insert into {RAW_SCHEMA}.{table} by name select * from incoming_batch")
        con.unregister("incoming_batch")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return arrow_table.num_rows


def replace_quarantine(
    con: duckdb.DuckDBPyConnection, asset: str, partition: str, quarantined: pd.DataFrame
) -> int:
    """Record an asset partition's quarantined rows, replacing its earlier ones."""
    batch = pd.DataFrame(
        {
            "asset": asset,
            "partition": partition,
            "reason": quarantined["reason"].astype(str)
            if len(quarantined)
            else pd.Series(dtype=str),
            "record": quarantined["record"].astype(str)
            if len(quarantined)
            else pd.Series(dtype=str),
            "quarantined_at": pd.Timestamp(now_utc()),
        }
    )
    con.execute("begin transaction")
    try:
        con.execute(
            f"delete from {QUARANTINE_TABLE} where asset = ? and partition = ?", [asset, partition]
        )
        if len(batch):
            con.register("quarantine_batch", batch)
            con.execute(
                f"insert into {QUARANTINE_TABLE} "
                "select asset, partition, reason, record::json, quarantined_at from quarantine_batch"
            )
            con.unregister("quarantine_batch")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return len(batch)


def replace_crawl_sources(
    con: duckdb.DuckDBPyConnection, crawl_date: object, summary: pd.DataFrame
) -> int:
    """Replace a crawl day's per-source summary (``crawl.source_summary`` rows), in one transaction."""
    batch = summary.copy()
    batch["crawl_date"] = crawl_date
    batch["crawled_at"] = pd.Timestamp(now_utc())
    for name in CRAWL_SOURCES_COLUMNS:
        if name not in batch:
            batch[name] = None
    batch = batch[list(CRAWL_SOURCES_COLUMNS)]
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {CRAWL_SOURCES_TABLE} where crawl_date = ?", [crawl_date])
        if len(batch):
            con.register("crawl_sources_batch", batch)
            casts = ", ".join(f"cast({n} as {t}) as {n}" for n, t in CRAWL_SOURCES_COLUMNS.items())
            con.execute(
                f"insert into {CRAWL_SOURCES_TABLE} select {casts} from crawl_sources_batch"
            )
            con.unregister("crawl_sources_batch")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return len(batch)


def replace_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    query: str = "select * from incoming",
) -> None:
    """Replace ``table`` with ``query`` over ``frame`` (named ``incoming``), in one transaction."""
    con.register("incoming", frame)
    try:
        con.execute("begin transaction")
        con.execute(f"create or replace table {table} as {query}")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.unregister("incoming")
