"""Daily crawl partitions start at the first day crawled into the warehouse, not at the
demo catalog's first day: a new user's UI shows one partition, not two months "missing".

The suite itself pins TRENDING_PARTITIONS_START (tests/conftest.py); these tests unset it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from trending_assets.settings import (
    FIRST_CRAWL_DAY_FILE,
    TrendingSettings,
    read_first_crawl_day,
    record_first_crawl_day,
)


def test_the_earliest_crawl_day_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "w" / FIRST_CRAWL_DAY_FILE
    assert read_first_crawl_day(path) is None
    assert record_first_crawl_day(path, date(2026, 11, 3)) == date(2026, 11, 3)
    assert record_first_crawl_day(path, date(2026, 11, 9)) == date(2026, 11, 3)  # later: kept
    assert record_first_crawl_day(path, date(2026, 10, 30)) == date(2026, 10, 30)  # backfill
    assert read_first_crawl_day(path) == date(2026, 10, 30)
    assert [p.name for p in path.parent.iterdir()] == [FIRST_CRAWL_DAY_FILE]  # no temp left


def test_an_unreadable_record_is_no_record(tmp_path: Path) -> None:
    path = tmp_path / FIRST_CRAWL_DAY_FILE
    path.write_text("yesterday\n")
    assert read_first_crawl_day(path) is None
    assert record_first_crawl_day(path, date(2026, 11, 3)) == date(2026, 11, 3)


def test_the_setting_then_the_record_then_today(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRENDING_PARTITIONS_START", raising=False)
    monkeypatch.setenv("TRENDING_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TRENDING_WAREHOUSE_PATH", raising=False)
    assert TrendingSettings().first_partition_day == datetime.now(UTC).date()
    record_first_crawl_day(tmp_path / FIRST_CRAWL_DAY_FILE, date(2026, 10, 12))
    assert TrendingSettings().first_partition_day == date(2026, 10, 12)
    monkeypatch.setenv("TRENDING_PARTITIONS_START", "2026-09-30")
    assert TrendingSettings().first_partition_day == date(2026, 9, 30)


def _first_partition(data_dir: Path) -> str:
    """The crawl assets' first partition as a fresh code-location process sees it."""
    env = {k: v for k, v in os.environ.items() if k != "TRENDING_PARTITIONS_START"}
    env |= {"TRENDING_DATA_DIR": str(data_dir)}
    env.pop("TRENDING_WAREHOUSE_PATH", None)
    code = (
        "from trending_assets.defs.ingest.assets import daily_partitions as p;"
        "print(p.get_first_partition_key(), p.get_last_partition_key())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()[0]


def test_the_partitions_start_where_this_warehouse_was_first_crawled(tmp_path: Path) -> None:
    # (Before any crawl they start today: test_the_setting_then_the_record_then_today.)
    record_first_crawl_day(tmp_path / FIRST_CRAWL_DAY_FILE, date(2026, 11, 20))
    assert _first_partition(tmp_path) == "2026-11-20"
