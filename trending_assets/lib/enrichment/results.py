"""Per-title results and run statistics, shared by both providers.

Statuses:
- ``ok``             validated enrichment (``cached`` says whether it came from the cache);
- ``quarantined``    the model kept answering garbage (broken or schema-invalid JSON) after
                     the re-asks: ``raw_response`` holds the last answer, ``reason`` why;
- ``failed``         transport kept failing (timeouts, 5xx, 429) after the retries, or the
                     endpoint refused the request (auth, 4xx): nothing to parse;
- ``skipped_budget`` never sent because the run's token/cost budget was reached.

``quarantine_frame`` holds every non-ok, non-skipped row, so nothing is lost.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from trending_assets.lib.enrichment.schema import Enrichment

Status = Literal["ok", "quarantined", "failed", "skipped_budget"]

RESULT_COLUMNS = [
    "title_id", "provider", "model", "prompt_version", "schema_version", "input_hash",
    "genres", "summary", "vibe_score", "vibe_tags", "cached", "attempts", "enriched_at",
]  # fmt: skip
QUARANTINE_COLUMNS = [
    "title_id", "provider", "model", "prompt_version", "schema_version", "input_hash",
    "status", "reason", "raw_response", "attempts", "quarantined_at",
]  # fmt: skip


@dataclass
class TitleResult:
    title_id: str
    status: Status
    provider: str
    model: str
    prompt_version: str
    schema_version: str
    input_hash: str
    enrichment: Enrichment | None = None
    cached: bool = False
    attempts: int = 0  # API calls made for this title in this run
    retried: bool = False  # needed more than one call
    reason: str | None = None
    raw_response: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    enriched_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class RunStats:
    provider: str
    model: str
    prompt_version: str
    schema_version: str
    titles: int = 0
    ok: int = 0
    retried: int = 0
    quarantined: int = 0
    failed: int = 0
    cached: int = 0
    skipped_budget: int = 0
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated_cost_usd: float = 0.0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_p99_ms: float | None = None
    wall_seconds: float = 0.0
    budget_exhausted: bool = False
    stop_reason: str | None = None
    structured_output: str | None = None  # json_schema / json_object (openai provider)

    @property
    def quarantine_rate(self) -> float:
        done = self.ok + self.quarantined + self.failed
        return (self.quarantined + self.failed) / done if done else 0.0

    def as_metadata(self) -> dict[str, Any]:
        """Plain JSON-able values, for Dagster asset metadata."""
        data = asdict(self)
        data["quarantine_rate"] = round(self.quarantine_rate, 4)
        data["estimated_cost_usd"] = round(self.estimated_cost_usd, 6)
        data["wall_seconds"] = round(self.wall_seconds, 3)
        return data


@dataclass
class EnrichmentRun:
    results: list[TitleResult]
    stats: RunStats

    def ok(self) -> list[TitleResult]:
        return [r for r in self.results if r.status == "ok"]

    def by_title(self) -> dict[str, TitleResult]:
        return {r.title_id: r for r in self.results}

    def results_frame(self) -> pd.DataFrame:
        return results_frame(self.results)

    def quarantine_frame(self) -> pd.DataFrame:
        return quarantine_frame(self.results)


def percentiles_ms(latencies_s: list[float]) -> dict[str, float | None]:
    if not latencies_s:
        return {"latency_p50_ms": None, "latency_p95_ms": None, "latency_p99_ms": None}
    values = np.percentile(np.asarray(latencies_s) * 1000.0, [50, 95, 99])
    return {
        "latency_p50_ms": round(float(values[0]), 2),
        "latency_p95_ms": round(float(values[1]), 2),
        "latency_p99_ms": round(float(values[2]), 2),
    }


def tally(stats: RunStats, results: list[TitleResult]) -> RunStats:
    """Fill the count fields of ``stats`` from ``results``."""
    stats.titles = len(results)
    stats.ok = sum(r.status == "ok" for r in results)
    stats.cached = sum(r.cached for r in results)
    stats.retried = sum(r.retried for r in results)
    stats.quarantined = sum(r.status == "quarantined" for r in results)
    stats.failed = sum(r.status == "failed" for r in results)
    stats.skipped_budget = sum(r.status == "skipped_budget" for r in results)
    return stats


def results_frame(results: list[TitleResult]) -> pd.DataFrame:
    """One row per ok title: the table the serving snapshot carries."""
    rows = [
        {
            "title_id": r.title_id,
            "provider": r.provider,
            "model": r.model,
            "prompt_version": r.prompt_version,
            "schema_version": r.schema_version,
            "input_hash": r.input_hash,
            "genres": list(r.enrichment.genres),
            "summary": r.enrichment.summary,
            "vibe_score": r.enrichment.vibe_score,
            "vibe_tags": list(r.enrichment.vibe_tags),
            "cached": r.cached,
            "attempts": r.attempts,
            "enriched_at": r.enriched_at,
        }
        for r in results
        if r.status == "ok" and r.enrichment is not None
    ]
    frame = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    return frame.astype({"vibe_score": "int64", "cached": "bool", "attempts": "int64"})


def quarantine_frame(results: list[TitleResult]) -> pd.DataFrame:
    """Quarantined and failed titles, with the raw response and the reason."""
    rows = [
        {
            "title_id": r.title_id,
            "provider": r.provider,
            "model": r.model,
            "prompt_version": r.prompt_version,
            "schema_version": r.schema_version,
            "input_hash": r.input_hash,
            "status": r.status,
            "reason": r.reason,
            "raw_response": r.raw_response,
            "attempts": r.attempts,
            "quarantined_at": r.enriched_at,
        }
        for r in results
        if r.status in ("quarantined", "failed")
    ]
    return pd.DataFrame(rows, columns=QUARANTINE_COLUMNS)
