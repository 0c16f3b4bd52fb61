"""A dbt invocation in one line: what ran, what failed, where the full output is.

dbt prints a line per node (over 300 for a build of this project); the pipeline keeps
that output in a log file and shows people this summary instead, from the
``run_results.json`` artifact dbt writes (https://docs.getdbt.com/reference/artifacts/run-results-json).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# dbt's node statuses that mean "this did not work" (a test that warns still passed).
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
KIND_NAMES = {"seed": "seeds", "model": "models", "test": "tests", "snapshot": "snapshots"}


@dataclass
class DbtSummary:
    counts: Counter[str] = field(default_factory=Counter)  # "models" -> 14
    statuses: Counter[str] = field(default_factory=Counter)  # "pass" -> 40
    failures: list[str] = field(default_factory=list)  # "test.x: fail (3 rows)"
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def line(self, command: str = "dbt build", log_path: str | None = None) -> str:
        what = ", ".join(f"{n} {kind}" for kind, n in self.counts.items()) or "nothing selected"
        statuses = ", ".join(f"{s} {n}" for s, n in sorted(self.statuses.items()))
        text = f"{command}: {what} ({statuses or 'no results'}) in {self.elapsed_s:.1f} s"
        if self.failures:
            shown = "; ".join(self.failures[:5])
            more = f"; and {len(self.failures) - 5} more" if len(self.failures) > 5 else ""
            text += f". FAILED: {shown}{more}"
        if log_path:
            text += f". Full dbt output: {log_path}"
        return text


def summarise_run_results(run_results: Mapping[str, Any]) -> DbtSummary:
    """Counts by node kind and status, and each failure with dbt's message."""
    summary = DbtSummary(elapsed_s=float(run_results.get("elapsed_time") or 0.0))
    for result in run_results.get("results", []):
        unique_id = str(result.get("unique_id", "?"))
        kind = unique_id.split(".", 1)[0]
        summary.counts[KIND_NAMES.get(kind, kind)] += 1
        status = str(result.get("status", "unknown")).lower()
        summary.statuses[status] += 1
        if status in FAILED_STATUSES:
            message = " ".join(str(result.get("message") or "").split())
            name = unique_id.split(".", 2)[-1]
            summary.failures.append(
                f"{kind} {name}: {status}" + (f" ({message})" if message else "")
            )
    return summary
