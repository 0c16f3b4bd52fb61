"""What one Dagster event costs to record, and how much of a run that is.

    .venv/bin/python bench/event_log_benchmark.py [--checks 100] [--rounds 3]
        [--postgres postgresql+psycopg2://postgres@127.0.0.1:5432/DB] [--home DAGSTER_HOME]

Materialises a trivial asset with ``--checks`` asset checks (each check result is two events:
its output and its evaluation, as a dbt test's is), in a fresh instance with the local
SQLite storage (what `make materialize` uses) and, with ``--postgres``, with the
deployment's PostgreSQL storage. Prints the best round's milliseconds per recorded event.
With ``--home``, also counts the events of the latest whole-graph run in that Dagster home
and prints what they cost at the measured rate next to the run's wall time.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg


def _asset(checks: int) -> dg.AssetsDefinition:
    @dg.asset(check_specs=[dg.AssetCheckSpec(f"c{i}", asset="probe") for i in range(checks)])
    def probe():
        yield dg.Output(1)
        for i in range(checks):
            yield dg.AssetCheckResult(check_name=f"c{i}", passed=True)

    return probe


def _yaml(postgres_url: str | None) -> str:
    storage = f"storage:\n  postgres:\n    postgres_url: {postgres_url}\n" if postgres_url else ""
    return storage + "telemetry:\n  enabled: false\n"


def measure(checks: int, rounds: int, postgres_url: str | None = None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="event-bench-") as home:
        (Path(home) / "dagster.yaml").write_text(_yaml(postgres_url), encoding="utf-8")
        return _timed_runs(home, _asset(checks), rounds)


def _timed_runs(home: str, asset: dg.AssetsDefinition, rounds: int) -> dict[str, float]:
    with dg.DagsterInstance.from_config(home) as instance:
        dg.materialize([asset], instance=instance)  # schema, imports: not timed
        timings, events = [], 0
        for _ in range(rounds):
            started = time.perf_counter()
            result = dg.materialize([asset], instance=instance)
            timings.append(time.perf_counter() - started)
            events = len(instance.all_logs(result.run_id))
    best = min(timings)
    return {"events": events, "best_s": best, "ms_per_event": best / events * 1000}


def latest_graph_run(home: Path) -> tuple[int, float] | None:
    """(events, wall s) of the newest whole-graph run recorded in ``home``."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for record in instance.get_run_records():
            if record.dagster_run.job_name == "all_assets_job":
                logs = instance.all_logs(record.dagster_run.run_id)
                return len(logs), logs[-1].timestamp - logs[0].timestamp
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checks", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default=None, help="a SQLAlchemy URL of an empty database")
    parser.add_argument("--home", type=Path, default=None, help="a materialised Dagster home")
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)  # the console handler would be timed too

    rows = [("sqlite", measure(args.checks, args.rounds))]
    if args.postgres:
        rows.append(("postgres", measure(args.checks, args.rounds, args.postgres)))
    print(f"{'storage':<10} {'events':>7} {'best s':>8} {'ms/event':>9}")
    for name, row in rows:
        print(f"{name:<10} {row['events']:>7} {row['best_s']:>8.2f} {row['ms_per_event']:>9.1f}")
    if args.home:
        found = latest_graph_run(args.home)
        if found is None:
            print(f"no whole-graph run in {args.home}", file=sys.stderr)
            return 1
        events, wall = found
        cost = events * rows[0][1]["ms_per_event"] / 1000
        print(
            f"latest whole-graph run in {args.home}: {events} events in {wall:.1f} s; at the "
            f"SQLite rate they cost about {cost:.1f} s ({cost / wall:.0%} of the run)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
