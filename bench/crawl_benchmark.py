"""Crawl benchmark: our crawler's pages/s next to ``scrapy bench``, measured side by side.

    .venv/bin/python bench/crawl_benchmark.py [--titles 1000] [--bench-seconds 10]
        [--repeat 1] [--realish] [--bench-project-settings] [--json OUT]

Each round runs, in one process each and one after the other (the order alternates from
round to round, so a drift in the machine's load does not always favour the same side):

* ``python -m scrapy bench -s CLOSESPIDER_TIMEOUT=<secs> -s LOG_LEVEL=INFO``: Scrapy's own
  local server and follow-all spider (it parses nothing and yields no items). pages/s =
  the final stats' ``response_received_count / elapsed_time_seconds``; the per-second
  ``Crawled N pages (at R pages/min)`` lines give a steady-state figure beside it. It runs
  from a scratch directory, so this project's ``scrapy.cfg`` and settings (AutoThrottle,
  robots.txt, 32 concurrent requests, 30 s log interval) do not leak into the baseline;
  ``--bench-project-settings`` runs it from the repo root with them instead.
* ``python -m scrapers.crawl --out DIR --date ... --log-level WARNING reelhub=URL
  filmfolio=URL``: the real daily crawl against freshly started demo sites
  (``build_catalog(n_titles=--titles, seed=42)``, served on 127.0.0.1 by this process,
  pages rendered on first request). pages/s per spider = ``responses / elapsed_seconds``
  from its ``<spider>.stats.json``; overall = all spiders' responses over the longest
  spider's elapsed time (the spiders run at the same time) and over the
  subprocess's wall clock (which adds interpreter start-up and imports); items/s too.
* with ``--realish``: the same crawl against the loopback "real-like" fixture site of
  ``tests/scrapers/realish_site.py`` (``serve_realish_site()``), when that file exists.

Printed: a table (run, tool, pages, seconds, pages/s, items/s) and the median over rounds
of the per-round ratio ours/scrapy-bench (ours = overall pages/s from the stats files).
The machine is noisy: only the ratio within a round means much. A crawl that scrapes no
items or is over in under a second is shown but left out of the ratio (exit status 1).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scrapers.demo_site import build_catalog, serve_demo_sites  # noqa: E402

REALISH_SITE = ROOT / "tests" / "scrapers" / "realish_site.py"
CRAWLED_LINE = re.compile(r"Crawled (\d+) pages \(at (\d+) pages/min\)")
STAT_NUMBER = r"'{key}':\s*([0-9.]+)"
MIN_CRAWL_SECONDS = 1.0


def _scrapy_env() -> dict[str, str]:
    """The environment without settings pointers, so scrapy bench stays plain Scrapy."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SCRAPY_")}


def _stat(log: str, key: str) -> float | None:
    found = re.findall(STAT_NUMBER.format(key=re.escape(key)), log)
    return float(found[-1]) if found else None


def run_scrapy_bench(seconds: float, project_settings: bool) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "scrapy",
        "bench",
        "-s",
        f"CLOSESPIDER_TIMEOUT={seconds:g}",
        "-s",
        "LOG_LEVEL=INFO",
    ]
    with tempfile.TemporaryDirectory(prefix="scrapy-bench-") as scratch:
        cwd = ROOT if project_settings else Path(scratch)
        start = time.perf_counter()
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env=_scrapy_env(),
            capture_output=True,
            text=True,
            timeout=seconds + 180,
        )
        wall = time.perf_counter() - start
    log = proc.stdout + proc.stderr
    pages = _stat(log, "response_received_count")
    elapsed = _stat(log, "elapsed_time_seconds")
    # Interval lines: skip the one at t=0 and the first window (it holds the start-up).
    rates = [int(r) / 60 for n, r in CRAWLED_LINE.findall(log) if int(n) > 0][1:]
    result: dict[str, Any] = {
        "tool": "scrapy bench",
        "returncode": proc.returncode,
        "cwd": "repo root" if project_settings else "scratch dir",
        "pages": int(pages) if pages is not None else None,
        "seconds": elapsed,
        "wall_seconds": round(wall, 3),
        "pages_per_s": pages / elapsed if pages and elapsed else None,
        "interval_pages_per_s_median": statistics.median(rates) if rates else None,
        "interval_lines": len(rates),
    }
    if proc.returncode != 0 or result["pages_per_s"] is None:
        result["error"] = log[-2000:]
    return result


def run_crawl(label: str, sources: dict[str, str], crawl_date: date) -> dict[str, Any]:
    """One ``python -m scrapers.crawl`` subprocess; figures from its ``*.stats.json``."""
    with tempfile.TemporaryDirectory(prefix="crawl-bench-") as tmp:
        out = Path(tmp) / "landing"
        cmd = [
            sys.executable,
            "-m",
            "scrapers.crawl",
            "--out",
            str(out),
            "--date",
            crawl_date.isoformat(),
            "--log-level",
            "WARNING",
            *(f"{name}={url}" for name, url in sources.items()),
        ]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - start
        spiders: dict[str, dict[str, Any]] = {}
        for path in sorted(out.glob("*.stats.json")):
            stats = json.loads(path.read_text(encoding="utf-8"))
            responses = stats.get("responses", 0)
            elapsed = stats.get("elapsed_seconds") or 0
            spiders[path.name.removesuffix(".stats.json")] = {
                "responses": responses,
                "pages": (stats.get("pages") or {}).get("total"),
                "items": stats.get("items", 0),
                "elapsed_seconds": elapsed,
                "finish_reason": stats.get("finish_reason"),
                "pages_per_s": responses / elapsed if elapsed else None,
                "items_per_s": stats.get("items", 0) / elapsed if elapsed else None,
            }
    responses = sum(s["responses"] for s in spiders.values())
    items = sum(s["items"] for s in spiders.values())
    elapsed = max((s["elapsed_seconds"] for s in spiders.values()), default=0)
    result: dict[str, Any] = {
        "tool": label,
        "returncode": proc.returncode,
        "sources": sources,
        "spiders": spiders,
        "pages": responses,
        "items": items,
        "seconds": elapsed,
        "wall_seconds": round(wall, 3),
        "pages_per_s": responses / elapsed if elapsed else None,
        "pages_per_s_wall": responses / wall if wall else None,
        "items_per_s": items / elapsed if elapsed else None,
    }
    if proc.returncode != 0 or not spiders:
        # A failed check (a spider that did not finish, a source not read) is reported,
        # not fatal: the crawler is being rewritten and the figures may still be useful.
        result["error"] = proc.stderr[-2000:]
    # A crawl can exit 0 and still measure nothing (no items, a crawl over in a blink):
    # such a round is shown but left out of the ratio.
    problems = []
    if not items:
        problems.append("no items scraped")
    if elapsed < MIN_CRAWL_SECONDS:
        problems.append(f"crawl lasted {elapsed:.2f} s (< {MIN_CRAWL_SECONDS:g} s)")
    if problems:
        result["invalid"] = "; ".join(problems)
    return result


@contextlib.contextmanager
def realish_site() -> Iterator[str | None]:
    """The fixture site's URL, or None (with a message) when the fixture is absent."""
    if not REALISH_SITE.exists():
        print(f"--realish: {REALISH_SITE.relative_to(ROOT)} does not exist, skipped")
        yield None
        return
    spec = importlib.util.spec_from_file_location("realish_site", REALISH_SITE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    with module.serve_realish_site() as site:
        yield site.url


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_table(results: list[dict[str, Any]]) -> None:
    header = ("run", "tool", "pages", "seconds", "pages/s", "items/s")
    rows: list[tuple[str, ...]] = []
    for r in results:
        run = str(r["run"])
        if r["tool"] == "scrapy bench":
            rows.append(
                (
                    run,
                    "scrapy bench",
                    _fmt(r["pages"], 0),
                    _fmt(r["seconds"], 2),
                    _fmt(r["pages_per_s"]),
                    "",
                )
            )
            rows.append(
                (
                    run,
                    "  (1 s interval lines, median)",
                    "",
                    "",
                    _fmt(r["interval_pages_per_s_median"]),
                    "",
                )
            )
            continue
        for name, s in r["spiders"].items():
            rows.append(
                (
                    run,
                    f"{r['tool']}: {name}",
                    _fmt(s["responses"], 0),
                    _fmt(s["elapsed_seconds"], 2),
                    _fmt(s["pages_per_s"]),
                    _fmt(s["items_per_s"]),
                )
            )
        rows.append(
            (
                run,
                f"{r['tool']}: all spiders" + (" (not measured)" if "invalid" in r else ""),
                _fmt(r["pages"], 0),
                _fmt(r["seconds"], 2),
                _fmt(r["pages_per_s"]),
                _fmt(r["items_per_s"]),
            )
        )
        rows.append(
            (
                run,
                f"{r['tool']}: all (process wall)",
                _fmt(r["pages"], 0),
                _fmt(r["wall_seconds"], 2),
                _fmt(r["pages_per_s_wall"]),
                "",
            )
        )
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print(
        "  ".join(
            h.ljust(w) if i < 2 else h.rjust(w)
            for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    )
    for row in rows:
        print(
            "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def ratios(results: list[dict[str, Any]], tool: str) -> list[float]:
    """ours/scrapy-bench per round, both sides from the same round."""
    out = []
    for run in sorted({r["run"] for r in results}):
        bench = next((r for r in results if r["run"] == run and r["tool"] == "scrapy bench"), None)
        ours = next((r for r in results if r["run"] == run and r["tool"] == tool), None)
        if not (bench and ours) or "invalid" in ours:
            continue
        if bench["pages_per_s"] and ours["pages_per_s"]:
            out.append(ours["pages_per_s"] / bench["pages_per_s"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--titles", type=int, default=1000, help="demo catalogue size")
    parser.add_argument("--bench-seconds", type=float, default=10, help="scrapy bench duration")
    parser.add_argument("--repeat", type=int, default=1, help="rounds (scrapy bench + ours)")
    parser.add_argument("--realish", action="store_true", help="also crawl the realish fixture")
    parser.add_argument(
        "--bench-project-settings",
        action="store_true",
        help="run scrapy bench from the repo root, with this project's Scrapy settings",
    )
    parser.add_argument(
        "--as-of", type=date.fromisoformat, default=date(2026, 11, 20), help="demo sites' date"
    )
    parser.add_argument("--json", type=Path, help="write all results here")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.titles < 1 or args.bench_seconds <= 0:
        parser.error("--repeat, --titles and --bench-seconds must be positive")

    print(
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
        f"{args.titles} demo titles, scrapy bench {args.bench_seconds:g} s, "
        f"{args.repeat} round(s)"
    )
    started = time.perf_counter()
    catalog = build_catalog(n_titles=args.titles, seed=42)
    print(f"demo catalog of {args.titles} titles built in {time.perf_counter() - started:.2f} s")
    results: list[dict[str, Any]] = []

    with contextlib.ExitStack() as stack:
        realish_url = stack.enter_context(realish_site()) if args.realish else None

        def ours() -> list[dict[str, Any]]:
            # Fresh sites each round: a cold page cache and the one-shot 500s again, so
            # every round crawls the same thing.
            with serve_demo_sites(catalog, as_of=args.as_of) as sites:
                done = [run_crawl("ours", sites.urls, args.as_of)]
                done[0]["server_requests"] = len(sites.log)
            if realish_url:
                done.append(run_crawl("ours realish", {"realish": realish_url}, args.as_of))
            return done

        def bench() -> list[dict[str, Any]]:
            return [run_scrapy_bench(args.bench_seconds, args.bench_project_settings)]

        for run in range(1, args.repeat + 1):
            order = (bench, ours) if run % 2 else (ours, bench)
            for step in order:
                for result in step():
                    result["run"] = run
                    result["load_average"] = round(os.getloadavg()[0], 2)
                    results.append(result)
                    if "invalid" in result:
                        print(f"run {run} {result['tool']}: not measured: {result['invalid']}")
                    if "error" in result:
                        print(f"run {run} {result['tool']}: exit {result['returncode']}")
                        print(result["error"], file=sys.stderr)

    print()
    print_table(results)
    print()
    summary: dict[str, Any] = {}
    for tool in sorted({r["tool"] for r in results} - {"scrapy bench"}):
        per_round = ratios(results, tool)
        summary[tool] = {
            "ratios": per_round,
            "median_ratio": statistics.median(per_round) if per_round else None,
        }
        shown = ", ".join(f"{x:.2f}" for x in per_round)
        median = _fmt(summary[tool]["median_ratio"], 2)
        print(f"{tool} / scrapy bench (pages/s): median {median}x (per round: {shown or '-'})")
    print(
        "scrapy bench's spider yields no items: it only extracts each page's links and "
        "schedules them (16 concurrent requests). Below 1x, the ratio is the share of its "
        "speed our crawler keeps while extracting, validating and writing items; above 1x, "
        "our pages cost less than its link-following ones: it is a reference, not a ceiling."
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "args": {k: str(v) for k, v in vars(args).items()},
            "results": results,
            "summary": summary,
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"results written to {args.json}")
    failed = any("error" in r or "invalid" in r for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
