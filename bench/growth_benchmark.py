"""Growth: the whole demo graph at several catalogue sizes, wall time and peak memory.

    .venv/bin/python bench/growth_benchmark.py [--titles 1000,3000,10000] [--work /tmp/growth]
        [--rerun] [--next-day]

Each size is one `python -m trending_assets.cli materialize --partition <yesterday>`
(what `make materialize` runs) with ``TRENDING_DEMO_TITLES`` set, in its own fresh data
dir and DAGSTER_HOME, so nothing is reused between sizes. With ``--rerun``, the first size
then materialises the same day again in the same home, nothing changed (only what is stale
runs: nothing). With ``--next-day``, it then materialises today's partition in the same
home: the daily increment as a user runs it (the new day's crawl and everything downstream
of it). Both are printed as a share of the full run.
Measured per run:

- **wall s**: the command, start to exit (installs excluded: the venv must exist);
- **peak tree RSS**: the largest sum of resident memory over the command's process tree
  (the CLI and every child it starts: the crawl, dbt, the demo servers), sampled from
  ``/proc`` every 0.25 s, so a peak shorter than that can be missed;
- **peak process RSS**: the largest single process (``getrusage`` of the children: exact);
- **titles**: rows of the ``titles`` mart, and the five slowest steps of the CLI summary.

Ratios are to the first (smallest) size: linear growth means time ratio <= size ratio.
Keep the machine otherwise idle. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") / 1024


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # the command name is in parentheses and may hold spaces: ppid follows the last ")"
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def tree_rss_kib(root: int) -> float:
    """Resident memory of ``root`` and all its descendants, in KiB (0 once it has exited)."""
    tree, stack, total = _children(), [root], 0.0
    while stack:
        pid = stack.pop()
        try:
            resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        total += resident * PAGE_KIB
        stack.extend(tree.get(pid, []))
    return total


def run_size(
    titles: int, work: Path, day: date, *, fresh: bool = True, label: str = ""
) -> dict[str, object]:
    root = work / f"titles_{titles}"
    if fresh:
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
    env = {
        **os.environ,
        "TRENDING_DATA_DIR": str(root / "data"),
        "DAGSTER_HOME": str(root / "home"),
        "TRENDING_DEMO_TITLES": str(titles),
        "TRENDING_PARTITIONS_START": (date.today() - timedelta(days=1)).isoformat(),
        "WANDB_MODE": "offline",
        "HF_HUB_OFFLINE": "1",
    }
    log = root / f"materialize_{day.isoformat()}{label}.log"
    peak = 0.0
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "trending_assets.cli", "materialize",
             "--partition", day.isoformat()],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss_kib(process.pid))
                done.wait(0.25)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        status = process.wait()
        done.set()
        sampler.join()
    wall = time.perf_counter() - started
    text = log.read_text(errors="replace")
    slowest = re.search(r"slowest steps\s+(.+)", text)
    rows = re.search(r"rows titles\s+(\d+)", text)
    return {
        "titles_setting": titles,
        "status": status,
        "wall_s": wall,
        "peak_tree_gib": peak / 1024 / 1024,
        "titles": int(rows.group(1)) if rows else None,
        "slowest": slowest.group(1).strip() if slowest else "",
        "log": log,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--titles", default="1000,3000,10000", help="comma list of sizes")
    parser.add_argument("--work", type=Path, default=Path("/tmp/growth"))
    parser.add_argument(
        "--rerun", action="store_true", help="the first size: then the same day again"
    )
    parser.add_argument(
        "--next-day", action="store_true", help="the first size: then today's partition too"
    )
    args = parser.parse_args(argv)
    yesterday, today = date.today() - timedelta(days=1), date.today()
    if not Path("/proc/self/statm").exists():
        print("growth benchmark: needs Linux /proc to sample memory", file=sys.stderr)
        return 2
    sizes = [int(t) for t in args.titles.split(",")]
    results = []
    next_day = rerun = None
    for titles in sizes:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        result = run_size(titles, args.work, yesterday)
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        # ru_maxrss of the children is a running maximum: a size that does not raise it
        # had a largest process no bigger than an earlier size's
        result["peak_process_gib"] = after / 1024 / 1024 if after > before else None
        results.append(result)
        print(
            f"{titles:>6} titles: exit {result['status']}, {result['wall_s']:.1f} s, "
            f"peak tree {result['peak_tree_gib']:.2f} GiB; slowest: {result['slowest']}",
            flush=True,
        )
        if result["status"] != 0:
            print(f"  failed: see {result['log']}", file=sys.stderr)
        if args.rerun and rerun is None:
            rerun = run_size(titles, args.work, yesterday, fresh=False, label="_again")
            changed = re.search(r"what changed: (.+)", rerun["log"].read_text(errors="replace"))
            print(
                f"{titles:>6} titles, the same day again: exit {rerun['status']}, "
                f"{rerun['wall_s']:.1f} s = {rerun['wall_s'] / result['wall_s']:.3f} of the "
                f"full run; {changed.group(1) if changed else '(no plan printed)'}",
                flush=True,
            )
        if args.next_day and next_day is None:
            next_day = run_size(titles, args.work, today, fresh=False)
            print(
                f"{titles:>6} titles, the next day ({today}): exit {next_day['status']}, "
                f"{next_day['wall_s']:.1f} s = {next_day['wall_s'] / result['wall_s']:.2f} "
                f"of the full run; slowest: {next_day['slowest']}",
                flush=True,
            )
    base = results[0]
    print("\n| demo titles | titles mart | wall s | x time | x size | peak tree RSS GiB | "
          "largest process GiB |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for r in results:
        largest = f"{r['peak_process_gib']:.2f}" if r["peak_process_gib"] else "(not larger)"
        print(
            f"| {r['titles_setting']} | {r['titles']} | {r['wall_s']:.1f} | "
            f"{r['wall_s'] / base['wall_s']:.2f} | "
            f"{r['titles_setting'] / base['titles_setting']:.1f} | "
            f"{r['peak_tree_gib']:.2f} | {largest} |"
        )
    runs = results + [r for r in (rerun, next_day) if r]
    return 0 if all(r["status"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
