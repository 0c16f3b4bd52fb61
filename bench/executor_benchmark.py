"""What a run costs per executor: the warehouse chain in process, in spawned step processes
(Dagster's multiprocess default) and in processes forked from a preloaded forkserver
(the code location's default executor, `trending_assets/defs/shared.py`).

    make materialize                              # a materialised demo, once
    python bench/executor_benchmark.py --data-dir data --rounds 2

Runs launched by the daemon (schedules, sensors, declarative automation) go through the
code location's default executor, one process per step; `make materialize` runs in
process. With `spawn` every step process imports the code location again (Dagster,
dbt's manifest, pandas, the definitions); a forkserver that has imported them once forks
each step from that state. The chain timed here is the warehouse group (the dbt seeds,
models and tests as three steps, and `data_profile`) over the demo's raw tables, the part
of a daily increment every run repeats. Each round runs the three executors one after the
other, and the ratios are taken per round (these machines are noisy).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MODES = ("in_process", "spawn", "forkserver")
SELECTION_GROUP = "warehouse"


def _job(mode: str):
    import dagster as dg

    from trending_assets.definitions import defs
    from trending_assets.defs.shared import FORKSERVER_EXECUTOR

    executors = {
        "in_process": dg.in_process_executor,
        "spawn": dg.multiprocess_executor.configured({"start_method": {"spawn": {}}}),
        "forkserver": FORKSERVER_EXECUTOR,
    }
    job = dg.define_asset_job(
        f"bench_{mode}",
        selection=dg.AssetSelection.groups(SELECTION_GROUP),
        executor_def=executors[mode],
    )
    return dg.Definitions.merge(defs(), dg.Definitions(jobs=[job])).resolve_job_def(job.name)


def job_in_process():
    return _job("in_process")


def job_spawn():
    return _job("spawn")


def job_forkserver():
    return _job("forkserver")


def run_once(mode: str, home: Path) -> tuple[float, bool, int]:
    """Seconds, success, steps of one run of the chain with ``mode``'s executor."""
    import dagster as dg

    target = {"in_process": job_in_process, "spawn": job_spawn, "forkserver": job_forkserver}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        started = time.perf_counter()
        with dg.execute_job(dg.reconstructable(target[mode]), instance) as result:
            elapsed = time.perf_counter() - started
            steps = len(result.get_step_success_events())
            return elapsed, result.success, steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    warehouse = args.data_dir / "warehouse.duckdb"
    if not warehouse.exists():
        print(f"no warehouse at {warehouse}: run `make materialize` first", file=sys.stderr)
        return 2
    os.environ["TRENDING_DATA_DIR"] = str(args.data_dir.resolve())
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    times: dict[str, list[float]] = {m: [] for m in MODES}
    with tempfile.TemporaryDirectory(prefix="bench-executor-") as tmp:
        home = Path(tmp)
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        os.environ["DAGSTER_HOME"] = str(home)
        for round_no in range(1, args.rounds + 1):
            for mode in MODES:
                seconds, ok, steps = run_once(mode, home)
                if not ok:
                    print(f"{mode}: the run failed", file=sys.stderr)
                    return 1
                times[mode].append(seconds)
                print(f"round {round_no} {mode:<11} {seconds:6.1f} s  ({steps} steps)", flush=True)
    print()
    print("| executor | median s | × in-process (median of per-round ratios) |")
    print("|---|---|---|")
    for mode in MODES:
        ratios = [t / base for t, base in zip(times[mode], times["in_process"], strict=True)]
        print(
            f"| {mode} | {statistics.median(times[mode]):.1f} | {statistics.median(ratios):.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
