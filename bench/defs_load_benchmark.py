"""What loading the code location costs: Dagster's `load_from_defs_folder` against the
project's `load_defs_folder` (the same definitions without Dagster's catalogue of installed
component types), side by side in fresh processes, alternating.

    .venv/bin/python bench/defs_load_benchmark.py --rounds 5

Each round starts two fresh Python processes (one per loader) that import the definitions
module first (the same imports for both) and then time the load alone. Prints each round
and the medians.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import sys, time, warnings
warnings.simplefilter("ignore")
from pathlib import Path
import dagster as dg
import trending_assets.definitions as d
started = time.perf_counter()
if sys.argv[1] == "dagster":
    dg.load_from_defs_folder(path_within_project=Path(d.REPO_ROOT))
else:
    d.load_defs_folder()
print(time.perf_counter() - started)
"""


def _load_seconds(loader: str) -> float:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, loader],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{loader} load failed:\n{result.stderr[-3000:]}")
    return float(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"dagster": [], "ours": []}
    for round_no in range(1, args.rounds + 1):
        for loader in times:
            times[loader].append(_load_seconds(loader))
        print(
            f"round {round_no}: load_from_defs_folder {times['dagster'][-1]:.2f} s, "
            f"load_defs_folder {times['ours'][-1]:.2f} s"
        )
    dagster, ours = statistics.median(times["dagster"]), statistics.median(times["ours"])
    print(
        f"median: load_from_defs_folder {dagster:.2f} s, load_defs_folder {ours:.2f} s "
        f"({ours / dagster:.2f} of it, {dagster - ours:.2f} s less per load)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
