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


def _parse(target: Path, warehouse: Path) -> float:
    """Seconds for one `dbt parse` into ``target`` with ``warehouse`` as its variable."""
    started = time.perf_counter()
    result = subprocess.run(
        [
            str(DBT), "parse", "--quiet",
            "--vars", json.dumps({"warehouse_path": str(warehouse)}),
            "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
            "--target-path", str(target), "--log-path", str(target / "logs"),
        ],
        cwd=PROJECT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"dbt parse failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
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
        times: dict[str, list[float]] = {"whole": [], "partial": []}
        for round_no in range(1, args.rounds + 1):
            # the order flips every round: these machines are noisy
            kinds = ["whole", "partial"] if round_no % 2 else ["partial", "whole"]
            for kind in kinds:
                target = work / f"{kind}-{round_no}"
                target.mkdir()
                shutil.copyfile(state, target / "partial_parse.msgpack")
                times[kind].append(_parse(target, other if kind == "whole" else ours))
            print(
                f"round {round_no}: another warehouse's state (whole project) "
                f"{times['whole'][-1]:.2f} s, the same warehouse's (partial) "
                f"{times['partial'][-1]:.2f} s"
            )
        whole, partial = statistics.median(times["whole"]), statistics.median(times["partial"])
        print(
            f"median: whole project {whole:.2f} s, partial {partial:.2f} s "
            f"({partial / whole:.2f} of it, {whole - partial:.2f} s less per dbt command)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
