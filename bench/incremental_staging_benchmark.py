"""What a new crawl day costs the crawl's staging models after D days of crawls.

    .venv/bin/python bench/incremental_staging_benchmark.py --warehouse <a demo warehouse.duckdb> \
        [--days 7,30,90] [--rounds 2]

Every crawl day is a snapshot of the whole catalogue, so `raw.listings` and `raw.reviews`
grow by a catalogue a day. The benchmark copies the crawl rows of a materialised demo
warehouse (its latest crawl day) into a scratch warehouse as D consecutive days, then
times, side by side on the same file:

* **full**: `dbt run --full-refresh` of `stg_crawl__listings` and `stg_crawl__reviews`:
  what every day's build cost when they were tables (every day's rows read again);
* **incremental**: one more day ingested, then `dbt run` of the same models: only that
  day's rows are read (dbt_project/macros/incremental_crawl.sql).

Both include dbt's start-up (the same for both). The demo warehouse is only read.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
DBT_PROJECT = REPO / "dbt_project"
MODELS = ("stg_crawl__listings", "stg_crawl__reviews")


def dbt_run(warehouse: Path, work: Path, *flags: str) -> float:
    """Seconds of one `dbt run` of the crawl's staging models against ``warehouse``."""
    dbt = Path(sys.executable).with_name("dbt")
    env = {**os.environ, "TRENDING_WAREHOUSE_PATH": str(warehouse), "DO_NOT_TRACK": "1"}
    started = time.perf_counter()
    subprocess.run(
        [str(dbt), "run", "--select", *MODELS, *flags, "--project-dir", str(DBT_PROJECT),
         "--profiles-dir", str(DBT_PROJECT), "--target-path", str(work / "target"),
         "--log-path", str(work / "logs")],
        check=True, env=env, cwd=REPO, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - started


def write_days(source: Path, target: Path, days: int) -> tuple[int, int]:
    """``target``: the raw crawl tables of ``source``, its latest day repeated as ``days``
    consecutive days (each ingested a day after the one before); (listings, reviews)."""
    with duckdb.connect(str(target)) as con:
        con.execute(f"attach '{source}' as demo (read_only)")
        con.execute("create schema raw")
        for table in ("listings", "reviews"):
            con.execute(
                f"create table raw.{table} as select * from demo.raw.{table} "
                f"where crawl_date = (select max(crawl_date) from demo.raw.{table}) limit 0"
            )
        con.execute("detach demo")
    for day in range(days):
        add_day(source, target, day - days)
    with duckdb.connect(str(target), read_only=True) as con:
        return tuple(
            con.execute(f"select count(*) from raw.{t}").fetchone()[0]
            for t in ("listings", "reviews")
        )  # type: ignore[return-value]


def add_day(source: Path, target: Path, offset: int) -> None:
    """One crawl day: the source's latest day shifted by ``offset`` days."""
    shift = timedelta(days=offset)
    with duckdb.connect(str(target)) as con:
        con.execute(f"attach '{source}' as demo (read_only)")
        for table in ("listings", "reviews"):
            con.execute(
                f"insert into raw.{table} select * replace ("
                f"crawl_date + interval '{shift.days} days' as crawl_date, "
                f"ingested_at + interval '{shift.days} days' as ingested_at) "
                f"from demo.raw.{table} "
                f"where crawl_date = (select max(crawl_date) from demo.raw.{table})"
            )
        con.execute("detach demo")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--days", default="7,30,90")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    if not args.warehouse.is_file():
        parser.error(f"no warehouse at {args.warehouse} (run `make materialize` first)")
    print(
        "| crawl days | raw listings | raw reviews | full rebuild s | incremental day s | ratio |"
    )
    print("|---|---|---|---|---|---|")
    for days in [int(d) for d in args.days.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            base = work / "base.duckdb"
            listings, reviews = write_days(args.warehouse, base, days)
            dbt_run(base, work)  # the staged tables, built once
            full, incremental = [], []
            for round_ in range(args.rounds):
                trial = work / f"trial{round_}.duckdb"
                shutil.copyfile(base, trial)
                full.append(dbt_run(trial, work, "--full-refresh"))
                shutil.copyfile(base, trial)
                add_day(args.warehouse, trial, 0)
                incremental.append(dbt_run(trial, work))
            f, i = min(full), min(incremental)
            print(
                f"| {days} | {listings:,} | {reviews:,} | {f:.1f} | {i:.1f} | {i / f:.2f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
