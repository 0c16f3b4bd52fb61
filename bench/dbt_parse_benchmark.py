"""What a dbt step pays when the parse state it starts from is another warehouse's: the
project's `dbt parse` seeded with a state of another `warehouse_path` (dbt parses the
whole project again) against one of the same warehouse (dbt parses only what changed),
side by side, alternating.

    .venv/bin/python bench/dbt_parse_benchmark.py --rounds 3

This is what the dbt steps' parse state per warehouse saves (docs/operations.md) each
time a step runs after another warehouse's step: a second home beside the first, or the
test suite's workers. Each command is the venv's `dbt parse --quiet` in a fresh target
folder holding one copy of a state parsed with warehouse A; "whole" passes warehouse B,
"partial" passes A. The time includes dbt's start-up, as a step's command does. Prints
each round and the medians.

A third column, "in process", is the "partial" command run as the dbt steps now run it:
through dbt's programmatic runner in this benchmark's process
(`trending_assets.lib.dbt_runner.run_dbt`), with no dbt start-up after the first command
in the process. The first one, which sets dbt up in the process, is printed on its own
before the rounds.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROJECT = REPO / "dbt_project"
DBT = Path(sys.executable).with_name("dbt")


def _parse_args(target: Path, warehouse: Path) -> list[str]:
    return [
        "parse", "--quiet",
        "--vars", json.dumps({"warehouse_path": str(warehouse)}),
        "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
        "--target-path", str(target), "--log-path", str(target / "logs"),
    ]  # fmt: skip


def _parse(target: Path, warehouse: Path) -> float:
    """Seconds for one `dbt parse` process into ``target`` with ``warehouse`` as its
    variable."""
    started = time.perf_counter()
    result = subprocess.run(
        [str(DBT), *_parse_args(target, warehouse)],
        cwd=PROJECT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"dbt parse failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return elapsed


def _parse_in_process(target: Path, warehouse: Path) -> float:
    """The same command run in this process, as the dbt steps run it."""
    sys.path.insert(0, str(REPO))
    from trending_assets.lib.dbt_runner import run_dbt

    started = time.perf_counter()
    result = run_dbt(_parse_args(target, warehouse))
    elapsed = time.perf_counter() - started
    if not result.success:
        raise SystemExit(f"dbt parse failed in process: {result.errors} {result.exception}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not DBT.exists():
        print(f"no dbt at {DBT}: run `make setup` first", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="dbt-parse-bench-"))
    try:
        ours, other = work / "a.duckdb", work / "b.duckdb"
        _parse(work / "seed", ours)
        state = work / "seed" / "partial_parse.msgpack"
        first = work / "in-process-first"
        first.mkdir()
        shutil.copyfile(state, first / "partial_parse.msgpack")
        print(
            f"the first command in this process (partial): {_parse_in_process(first, ours):.2f} s"
        )
        times: dict[str, list[float]] = {"whole": [], "partial": [], "in process": []}
        for round_no in range(1, args.rounds + 1):
            # the order turns every round: these machines are noisy
            kinds = ["whole", "partial", "in process"]
            kinds = kinds[round_no % 3 :] + kinds[: round_no % 3]
            for kind in kinds:
                target = work / f"{kind.replace(' ', '-')}-{round_no}"
                target.mkdir()
                shutil.copyfile(state, target / "partial_parse.msgpack")
                if kind == "in process":
                    times[kind].append(_parse_in_process(target, ours))
                else:
                    times[kind].append(_parse(target, other if kind == "whole" else ours))
            print(
                f"round {round_no}: another warehouse's state (whole project) "
                f"{times['whole'][-1]:.2f} s, the same warehouse's (partial) "
                f"{times['partial'][-1]:.2f} s, partial in this process "
                f"{times['in process'][-1]:.2f} s"
            )
        whole, partial = statistics.median(times["whole"]), statistics.median(times["partial"])
        inside = statistics.median(times["in process"])
        print(
            f"median: whole project {whole:.2f} s, partial {partial:.2f} s "
            f"({partial / whole:.2f} of it, {whole - partial:.2f} s less per dbt command), "
            f"partial in this process {inside:.2f} s ({inside / partial:.2f} of a dbt process's)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
