"""What one Dagster event costs to record, and how much of a run that is.

    .venv/bin/python bench/event_log_benchmark.py [--checks 100] [--rounds 3]
        [--postgres postgresql+psycopg2://postgres@127.0.0.1:5432/DB] [--home DAGSTER_HOME]

Materialises a trivial asset with ``--checks`` asset checks (each check result is two events:
its output and its evaluation, as a dbt test's is), in a fresh instance with Dagster's own
SQLite storage, with the local instance of `make materialize` (the same files, the event
log's connections kept open: trending_assets/instance.py) and, with ``--postgres``, with the
deployment's PostgreSQL storage, in alternating rounds. Prints each one's best round's
milliseconds per recorded event.
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


# The local instance of `make materialize` (config/dagster.yaml): Dagster's SQLite storage
# with the event log's connections kept open (trending_assets/instance.py).
POOLED = "instance_class:\n  module: trending_assets.instance\n  class: TrendingInstance\n"


def _yaml(postgres_url: str | None, pooled: bool = False) -> str:
    storage = f"storage:\n  postgres:\n    postgres_url: {postgres_url}\n" if postgres_url else ""
    return storage + (POOLED if pooled else "") + "telemetry:\n  enabled: false\n"


def measure(
    checks: int, rounds: int, postgres_url: str | None = None, pooled: bool = False
) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="event-bench-") as home:
        (Path(home) / "dagster.yaml").write_text(_yaml(postgres_url, pooled), encoding="utf-8")
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

    # Side by side, alternating (these machines are noisy): the best round of each.
    rows = {"sqlite (Dagster's)": [], "sqlite (pooled)": []}
    for _ in range(args.rounds):
        rows["sqlite (Dagster's)"].append(measure(args.checks, 1))
        rows["sqlite (pooled)"].append(measure(args.checks, 1, pooled=True))
        if args.postgres:
            rows.setdefault("postgres", []).append(measure(args.checks, 1, args.postgres))
    best = {name: min(runs, key=lambda r: r["best_s"]) for name, runs in rows.items()}
    print(f"{'storage':<20} {'events':>7} {'best s':>8} {'ms/event':>9}")
    for name, row in best.items():
        print(f"{name:<20} {row['events']:>7} {row['best_s']:>8.2f} {row['ms_per_event']:>9.1f}")
    if args.home:
        found = latest_graph_run(args.home)
        if found is None:
            print(f"no whole-graph run in {args.home}", file=sys.stderr)
            return 1
        events, wall = found
        print(f"latest whole-graph run in {args.home}: {events} events in {wall:.1f} s")
        for name in ("sqlite (Dagster's)", "sqlite (pooled)"):
            cost = events * best[name]["ms_per_event"] / 1000
            print(f"  at the {name} rate they cost about {cost:.1f} s ({cost / wall:.0%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
