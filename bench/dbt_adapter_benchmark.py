"""`warehouse_dbt_models` with and without dagster-dbt's in-process dbt adapter.

    make materialize   # or any run that left a warehouse
    .venv/bin/python bench/dbt_adapter_benchmark.py --warehouse data/warehouse.duckdb --rounds 3

Each run is a fresh process that loads the code location and runs the job with only the
`warehouse_dbt_models` step's assets selected (its dbt build and tests) on a copy of the
given warehouse, in an ephemeral Dagster instance. `before` puts dagster-dbt's own adapter
loader back on the project's resource (what every dbt step paid before); `after` is the
project's resource as it is. The two alternate, the order flipping every round; the
figures are the step run's seconds, without loading the code location.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def one_run(variant: str) -> None:
    """In a fresh process: time the step, print ``<seconds> <success>``."""
    os.environ["DAGSTER_HOME"] = tempfile.mkdtemp()
    sys.path.insert(0, str(REPO))
    import dagster as dg

    from trending_assets.definitions import defs
    from trending_assets.defs.warehouse.assets import warehouse_dbt_models

    if variant == "before":
        from dagster_dbt import DbtCliResource

        from trending_assets.defs.resources import ProjectDbtResource

        ProjectDbtResource._initialize_dbt_core_adapter = (  # type: ignore[method-assign]
            DbtCliResource._initialize_dbt_core_adapter
        )
    job = defs().resolve_job_def("all_assets_job")
    started = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            instance=instance, asset_selection=list(warehouse_dbt_models.keys)
        )
    print(f"{time.perf_counter() - started:.2f} {result.success}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=REPO / "data" / "warehouse.duckdb")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variant", choices=["before", "after"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        one_run(args.variant)
        return 0

    if not args.warehouse.exists():
        raise SystemExit(f"no warehouse at {args.warehouse}: run `make materialize` first")
    work = Path(tempfile.mkdtemp())
    copy = work / "warehouse.duckdb"
    env = {**os.environ, "TRENDING_WAREHOUSE_PATH": str(copy)}
    print("| round | before (adapter loaded) s | after (none) s | after / before |")
    print("|---|---|---|---|")
    status = 0
    for round_no in range(1, args.rounds + 1):
        order = ("before", "after") if round_no % 2 else ("after", "before")
        seconds = {}
        for variant in order:
            shutil.copyfile(args.warehouse, copy)
            completed = subprocess.run(
                [sys.executable, __file__, "--variant", variant],
                cwd=REPO, env=env, capture_output=True, text=True,
            )  # fmt: skip
            last = (completed.stdout.strip().splitlines() or ["? False"])[-1].split()
            if completed.returncode != 0 or last[-1] != "True":
                print(f"{variant} failed:\n{completed.stderr[-2000:]}")
                status = 1
                continue
            seconds[variant] = float(last[0])
        if len(seconds) == 2:
            ratio = seconds["after"] / seconds["before"]
            print(
                f"| {round_no} | {seconds['before']:.1f} | {seconds['after']:.1f} | {ratio:.2f} |"
            )
    shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
