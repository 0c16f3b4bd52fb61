"""Validate a raw batch and store it: valid rows to the lake and warehouse, the rest to quarantine.

Before validation every value is read by ``lib/coercion.py``: text is bounded
(:class:`TextLimits`), and each value nulled, truncated or adjusted in a stored row is
counted by its reason (``StoredBatch.coerced``, the raw assets' metadata) and logged with
its original under ``coercions/<table>/<partition>.parquet`` in the lake; a value that
makes the row unacceptable quarantines it with the reason.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import duckdb
import pandas as pd
import pandera.pandas as pa

from trending_assets.lib.coercion import ACTIONS, TextLimits, clip_value
from trending_assets.lib.lake import Lake, write_parquet
from trending_assets.lib.records import coerce_rows
from trending_assets.lib.validation import split_valid_rows
from trending_assets.lib.warehouse import ensure_raw_tables, replace_quarantine, replace_rows

PREVIEW_ROWS = 5
LOG_VALUE_CHARS = 1_000  # originals in the lake's coercion log are clipped to this


@dataclass
class StoredBatch:
    table: str
    rows: int
    quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)
    lake_uri: str | None = None
    preview: pd.DataFrame = field(default_factory=pd.DataFrame)
    # Stored rows whose values coercion changed: action (null, truncated, adjusted) ->
    # reason -> values. Quarantined rows are counted in ``reasons`` instead.
    coerced: dict[str, dict[str, int]] = field(default_factory=dict)
    coercion_log_uri: str | None = None
    # A hash of the stored and the quarantined rows: the same input stores the same hash,
    # which the asset reports as its data version (nothing downstream is then stale).
    content_hash: str = ""

    @property
    def coerced_values(self) -> int:
        return sum(sum(counts.values()) for counts in self.coerced.values())


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
    limits: TextLimits | None = None,
) -> StoredBatch:
    """Coerce, validate and store one batch of ``table``, replacing rows matching ``where``.

    ``rejects`` are rows the reader could not even parse (reason + raw record); they join
    the validation failures in quarantine, so every input row ends up somewhere.
    ``limits`` bound the text fields (default: the documented defaults).
    """
    limits = limits or TextLimits()
    coerced = coerce_rows(rows, table, limits)
    frame = coerced.frame
    record_chars = max(limits.plot_chars, limits.review_chars, limits.title_chars)
    outcome = split_valid_rows(
        frame,
        model,
        decided=coerced.quarantine(),
        originals=coerced.originals(),
        max_chars=record_chars,
    )
    quarantined = outcome.quarantined
    if rejects is not None and len(rejects):
        quarantined = pd.concat([quarantined, rejects], ignore_index=True)

    uri = write_parquet(lake, lake_key, outcome.valid)
    quarantine_key = f"quarantine/{table}/{partition or 'all'}.parquet"
    if len(quarantined) or lake.exists(quarantine_key):  # a re-run leaves no stale file
        write_parquet(lake, quarantine_key, quarantined)

    # What coercion changed in the rows that are stored, counted and logged.
    decisions = coerced.decisions
    kept = decisions[~decisions["row"].isin(outcome.quarantined_rows)]
    kept = kept[kept["action"] != "quarantine"]
    counts: dict[str, dict[str, int]] = {}
    for action in ACTIONS:
        chosen = kept[kept["action"] == action]
        if len(chosen):
            counted = chosen["reason"].value_counts().sort_index()
            counts[action] = {str(k): int(v) for k, v in counted.items()}
    log_key = f"coercions/{table}/{partition or 'all'}.parquet"
    log_uri = None
    if len(kept) or lake.exists(log_key):
        id_column = "source_review_id" if "source_review_id" in frame else "source_title_id"
        rows_of = frame.iloc[kept["row"].to_numpy()] if len(kept) else frame.head(0)
        log = pd.DataFrame(
            {
                "source": rows_of["source"].tolist(),
                "source_id": rows_of[id_column].tolist(),
                "column": kept["column"].tolist(),
                "action": kept["action"].tolist(),
                "reason": kept["reason"].tolist(),
                "original": [
                    None if v is None else str(clip_value(v, LOG_VALUE_CHARS))
                    for v in kept["original"].tolist()
                ],
            }
        )
        log_uri = write_parquet(lake, log_key, log)

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
        coerced=counts,
        coercion_log_uri=log_uri,
        content_hash=frames_digest(outcome.valid, quarantined),
    )


def frames_digest(*frames: pd.DataFrame) -> str:
    """A content hash of ``frames`` (columns and values, in order); nested values included."""
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(frame.to_json(orient="split", index=False, date_format="iso",
                                    default_handler=str).encode())  # fmt: skip
    return digest.hexdigest()[:16]
