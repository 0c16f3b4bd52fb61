"""Validate a raw batch and store it: valid rows to the lake and warehouse, the rest to quarantine."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd
import pandera.pandas as pa

from trending_assets.lib.lake import Lake, write_parquet
from trending_assets.lib.records import coerce_frame
from trending_assets.lib.validation import split_valid_rows
from trending_assets.lib.warehouse import ensure_raw_tables, replace_quarantine, replace_rows

PREVIEW_ROWS = 5


@dataclass
class StoredBatch:
    table: str
    rows: int
    quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)
    lake_uri: str | None = None
    preview: pd.DataFrame = field(default_factory=pd.DataFrame)


def store_raw_batch(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    *,
    table: str,
    model: type[pa.DataFrameModel],
    rows: pd.DataFrame,
    asset: str,
    partition: str,
    lake_key: str,
    where: str,
    params: list[object],
    rejects: pd.DataFrame | None = None,
) -> StoredBatch:
    """Coerce, validate and store one batch of ``table``, replacing rows matching ``where``.

    ``rejects`` are rows the reader could not even parse (reason + raw record); they join
    the validation failures in quarantine, so every input row ends up somewhere.
    """
    frame = coerce_frame(rows, table)
    outcome = split_valid_rows(frame, model)
    quarantined = outcome.quarantined
    if rejects is not None and len(rejects):
        quarantined = pd.concat([quarantined, rejects], ignore_index=True)

    uri = write_parquet(lake, lake_key, outcome.valid)
    if len(quarantined):
        quarantine_key = f"quarantine/{table}/{partition or 'all'}.parquet"
        write_parquet(lake, quarantine_key, quarantined)

    ensure_raw_tables(con)
    stored = replace_rows(con, table, outcome.valid, where=where, params=params)
    replace_quarantine(con, asset, partition, quarantined)

    reasons = (
        quarantined["reason"].value_counts().sort_index().to_dict() if len(quarantined) else {}
    )
    preview_cols = [
        c
        for c in ("source", "source_title_id", "title", "year", "title_type", "rating")
        if c in frame
    ]
    return StoredBatch(
        table=table,
        rows=stored,
        quarantined=len(quarantined),
        reasons={str(k): int(v) for k, v in reasons.items()},
        lake_uri=uri,
        preview=outcome.valid[preview_cols].head(PREVIEW_ROWS),
    )
