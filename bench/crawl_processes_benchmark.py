"""The daily crawl with different numbers of processes, side by side.

    .venv/bin/python bench/crawl_processes_benchmark.py --titles 1000 --rounds 3 [--compare 1,auto]

Serves the demo sites (``build_catalog(n_titles=--titles, seed=42)``, as they stood on
``--date``) on loopback from this process, then runs the real crawl CLI, ``python -m
scrapers.crawl --processes A`` and ``--processes B`` (``--compare A,B``; ``1,auto`` by
default), alternating (the order flips every round), each against freshly started sites.
Prints per run the wall time, the CPU time of the crawl's processes and of the demo server
(this process), and per round the ratio B / A of wall time. Exit status 1 when a crawl
fails or the two land different numbers of items.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scrapers.demo_site import build_catalog, serve_demo_sites  # noqa: E402


def crawl_once(catalog, as_of: date, processes: str) -> dict[str, float]:
    """One crawl of freshly served sites: wall s, crawl CPU s, server CPU s, items."""
    with serve_demo_sites(catalog, as_of=as_of) as sites, tempfile.TemporaryDirectory() as out:
        command = [
            sys.executable, "-m", "scrapers.crawl", "--out", out, "--date", as_of.isoformat(),
            "--log-level", "WARNING", "--processes", processes,
            *(f"{name}={url}" for name, url in sites.urls.items()),
        ]  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_before = time.process_time()
        started = time.perf_counter()
        completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
        wall = time.perf_counter() - started
        server = time.process_time() - server_before
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if completed.returncode != 0:
            raise SystemExit(f"crawl (--processes {processes}) failed:\n{completed.stderr[-2000:]}")
        items = {
            feed: json.loads((Path(out) / f"{feed}.stats.json").read_text())["items"]
            for feed in ("listings", "reviews")
        }
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "server": server, **items}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 29))
    parser.add_argument(
        "--compare", default="1,auto", help="the two --processes values, A,B (ratio B / A)"
    )
    args = parser.parse_args()
    first, second = (value.strip() for value in args.compare.split(","))

    catalog = build_catalog(n_titles=args.titles, seed=42)
    ratios: list[float] = []
    status = 0
    print("| round | processes | wall s | crawl CPU s | server CPU s | listings | reviews |")
    print("|---|---|---|---|---|---|---|")
    for round_no in range(1, args.rounds + 1):
        order = (first, second) if round_no % 2 else (second, first)
        runs = {p: crawl_once(catalog, args.date, p) for p in order}
        for p in order:
            r = runs[p]
            print(
                f"| {round_no} | {p} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['server']:.1f} "
                f"| {r['listings']:.0f} | {r['reviews']:.0f} |"
            )
        if any(runs[first][feed] != runs[second][feed] for feed in ("listings", "reviews")):
            print(f"round {round_no}: the two crawls landed different numbers of items")
            status = 1
        ratios.append(runs[second]["wall"] / runs[first]["wall"])
    ratios.sort()
    print(
        f"\nwall {second} / {first} per round: {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"median {ratios[len(ratios) // 2]:.2f}"
    )
    return status


if __name__ == "__main__":
    raise SystemExit(main())
