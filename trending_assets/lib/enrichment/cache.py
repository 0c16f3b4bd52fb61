"""The enrichment cache: (provider, model, prompt version, schema version, input hash) -> result.

Only validated results are stored, so a quarantined or failed title is tried again on the
next run, while an unchanged title costs nothing. A new prompt or schema version changes
every key, so everything is enriched again (old rows stay until ``prune``).

Held in memory as a dict; persisted as a pandas frame (``to_frame``/``from_frame``) or a
Parquet file (``load``/``save``, atomic: temporary file then rename).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from trending_assets.lib.enrichment.schema import Enrichment

CACHE_COLUMNS = [
    "provider", "model", "prompt_version", "schema_version", "input_hash",
    "title_id", "result_json", "created_at",
]  # fmt: skip


class CacheKey(NamedTuple):
    provider: str
    model: str
    prompt_version: str
    schema_version: str
    input_hash: str


class EnrichmentCache:
    def __init__(self) -> None:
        self._rows: dict[CacheKey, tuple[str, str, datetime]] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def get(self, key: CacheKey) -> Enrichment | None:
        row = self._rows.get(key)
        if row is None:
            self.misses += 1
            return None
        try:
            value = Enrichment.model_validate_json(row[1])
        except ValueError:  # a row written under other rules: treat as a miss
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, key: CacheKey, title_id: str, enrichment: Enrichment) -> None:
        self._rows[key] = (title_id, enrichment.model_dump_json(), datetime.now(UTC))

    def prune(self, keep: Iterable[CacheKey]) -> int:
        """Drop every row whose key is not in ``keep``; returns how many were dropped."""
        keep_set = set(keep)
        stale = [key for key in self._rows if key not in keep_set]
        for key in stale:
            del self._rows[key]
        return len(stale)

    def to_frame(self) -> pd.DataFrame:
        rows = [
            {**key._asdict(), "title_id": t, "result_json": j, "created_at": c}
            for key, (t, j, c) in self._rows.items()
        ]
        return pd.DataFrame(rows, columns=CACHE_COLUMNS)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame | None) -> EnrichmentCache:
        cache = cls()
        if frame is None or not len(frame):
            return cache
        missing = set(CACHE_COLUMNS) - set(frame.columns)
        if missing:
            raise ValueError(f"cache frame lacks columns {sorted(missing)}")
        for row in frame[CACHE_COLUMNS].itertuples(index=False):
            key = CacheKey(
                str(row.provider), str(row.model), str(row.prompt_version),
                str(row.schema_version), str(row.input_hash),
            )  # fmt: skip
            created = pd.Timestamp(row.created_at).to_pydatetime()
            cache._rows[key] = (str(row.title_id), str(row.result_json), created)
        return cache

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        self.to_frame().to_parquet(tmp, index=False)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EnrichmentCache:
        """The cache at ``path``; an empty one when the file does not exist yet."""
        path = Path(path)
        if not path.exists():
            return cls()
        return cls.from_frame(pd.read_parquet(path))

    def stats(self) -> dict[str, int]:
        return {"rows": len(self), "hits": self.hits, "misses": self.misses}
