"""Housekeeping's pure logic: which leftovers are stale, and whether a run's process lives."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trending_assets.lib import housekeeping as hk

NOW = 1_800_000_000.0
HOUR = 3600.0


def _touch(path: Path, age_s: float, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(text)
    os.utime(path, (NOW - age_s, NOW - age_s), follow_symlinks=False)
    return path


@pytest.mark.parametrize(
    "name",
    [
        ".listings.parquet.a1b2c3d4.tmp",  # lib/lake.py: mkstemp(prefix=".<name>.", suffix=".tmp")
        ".crawl.stats.json.k2_9xq0z",  # scrapers/extensions.py: mkstemp(prefix=".<name>.")
        ".llm_cache.json.tmp-4242",  # caches and models: .<name>.tmp-<pid>
        ".CURRENT.4242.0f1e2d3c4b5a69788796a5b4c3d2e1f0.tmp",  # lib/snapshot.py
        "export.tmp",
    ],
)
def test_temporary_names_of_atomic_writes(name: str) -> None:
    assert hk.is_temporary_name(name)


@pytest.mark.parametrize(
    "name",
    [
        ".gitignore",
        ".env.template",
        "listings.parquet",
        "warehouse.duckdb",
        "warehouse.duckdb.wal",
        "CURRENT",
        ".CURRENT",
        "tmp",
        "notes.tmpl",
    ],
)
def test_ordinary_names_are_not_temporary(name: str) -> None:
    assert not hk.is_temporary_name(name)


def test_stale_temporary_files_are_old_temporary_names_and_staging_entries(tmp_path) -> None:
    data = tmp_path / "data"
    old_lake_tmp = _touch(data / "lake" / "raw" / ".listings.parquet.a1b2c3d4.tmp", 2 * HOUR)
    old_cache_tmp = _touch(data / "cache" / ".llm_cache.json.tmp-77", 3 * HOUR)
    _touch(data / "lake" / "raw" / ".reviews.parquet.z9y8x7w6.tmp", 60)  # being written
    _touch(data / "lake" / "raw" / "listings.parquet", 10 * HOUR)  # a real file, however old
    _touch(data / ".gitignore", 10 * HOUR)
    # DuckDB's spill folder is DuckDB's.
    _touch(data / "warehouse.duckdb.tmp" / "duckdb_temp_storage-0.tmp", 10 * HOUR)
    # Half-built snapshots: every old entry of .staging, files and folders alike.
    staging = data / "serving" / ".staging"
    old_build = _touch(staging / "0a1b.duckdb", 2 * HOUR)
    old_attachments = staging / "0a1b.attachments"
    _touch(old_attachments / "model" / "weights.bin", 2 * HOUR)
    _touch(old_attachments / "model", 2 * HOUR)
    _touch(old_attachments, 2 * HOUR)
    _touch(staging / "9f8e.duckdb", 30)  # a build in progress
    # A link to an old temporary file elsewhere: neither it nor its target is touched.
    outside = _touch(tmp_path / "elsewhere" / ".x.json.tmp-1", 10 * HOUR)
    (data / "link.tmp").symlink_to(outside)

    found = hk.stale_temporary_files([data, data / "lake"], now=NOW)
    assert found == sorted([old_lake_tmp, old_cache_tmp, old_build, old_attachments])


def test_clean_stale_files_removes_and_reports(tmp_path) -> None:
    data, tmp = tmp_path / "data", tmp_path / "tmp"
    stale = _touch(data / "lake" / ".listings.parquet.a1b2c3d4.tmp", 2 * HOUR)
    fresh = _touch(data / "lake" / ".reviews.parquet.q1w2e3r4.tmp", 10)
    crawl = tmp / "crawl-2026-11-20-abc123"
    _touch(crawl / "listings.jsonl", 2 * HOUR)
    _touch(crawl, 2 * HOUR)

    report = hk.clean_stale_files([data], tmp, crawl_max_age_s=900, now=NOW)
    assert report.files == [stale] and report.crawl_dirs == [crawl]
    assert not stale.exists() and not crawl.exists() and fresh.exists()
    assert report.lines() == [
        f"removed 1 stale temporary file(s): {stale}",
        f"removed 1 leftover crawl temp folder(s): {crawl}",
    ]
    assert hk.clean_stale_files([data], tmp, crawl_max_age_s=900, now=NOW).lines() == []


def test_crawl_dirs_are_stale_by_their_newest_file(tmp_path) -> None:
    idle = tmp_path / "crawl-2026-11-19-aaaa"
    _touch(idle / "feeds" / "listings.jsonl", 20 * 60)
    _touch(idle / "feeds", 20 * 60)
    _touch(idle, 20 * 60)
    # A crawl in progress: the folder itself is old, a feed in it was just written.
    busy = tmp_path / "crawl-2026-11-20-bbbb"
    _touch(busy / "feeds" / "listings.jsonl", 5)
    _touch(busy / "feeds", 20 * 60)
    _touch(busy, 20 * 60)
    _touch(tmp_path / "crawl-notes" / "x.txt", 10 * HOUR)  # not a crawl's folder
    _touch(tmp_path / "crawl-2026-11-18-file", 10 * HOUR)  # a file, not a folder

    assert hk.stale_crawl_dirs(tmp_path, max_age_s=900, now=NOW) == [idle]
    # Another user's folders are never touched.
    assert hk.stale_crawl_dirs(tmp_path, max_age_s=900, now=NOW, uid=os.getuid() + 1) == []
    assert hk.stale_crawl_dirs(tmp_path / "missing", max_age_s=900, now=NOW) == []


def _invocation(target: Path, name: str, age_s: float) -> Path:
    """A dbt invocation folder as dagster-dbt leaves it, last written ``age_s`` ago."""
    _touch(target / name / "run_results.json", age_s)
    _touch(target / name / "compiled", age_s)
    return _touch(target / name, age_s)


def test_each_dbt_step_keeps_its_newest_invocation_folders(tmp_path) -> None:
    models = [
        _invocation(tmp_path, f"warehouse_dbt_models-{i:07x}-abcdef{i % 10}", (20 - i) * HOUR)
        for i in range(12)
    ]
    seeds = [
        _invocation(tmp_path, f"warehouse_dbt_seeds-{i:07x}-0123456", (20 - i) * HOUR)
        for i in range(3)
    ]
    # Not dagster-dbt's invocation folders: the project's own files and other names.
    _touch(tmp_path / "manifest.json", 30 * HOUR)
    _touch(tmp_path / "partial_parse.msgpack", 30 * HOUR)
    _touch(tmp_path / "compiled" / "x.sql", 30 * HOUR)
    _touch(tmp_path / "warehouse_dbt_models-notahex-0000000" / "x", 30 * HOUR)
    _touch(tmp_path / "warehouse_dbt_models-0000000-0000000.json", 30 * HOUR)

    old = hk.old_dbt_invocations(tmp_path, keep=10, now=NOW)
    assert old == sorted(models[:2])  # the two oldest models' folders; all three seeds' kept
    assert hk.old_dbt_invocations(tmp_path, keep=2, now=NOW) == sorted(models[:10] + seeds[:1])
    assert hk.old_dbt_invocations(tmp_path / "missing", now=NOW) == []


def test_an_invocation_folder_written_within_the_hour_is_kept(tmp_path) -> None:
    """Age is the newest file's: a step of another run may still be writing an old folder."""
    busy = _invocation(tmp_path, "warehouse_dbt_serving-aaaaaaa-0000001", 30 * HOUR)
    _touch(busy / "dbt_output.log", 60)
    young = _invocation(tmp_path, "warehouse_dbt_serving-aaaaaaa-0000002", 30 * 60)
    for i in range(3):
        _invocation(tmp_path, f"warehouse_dbt_serving-bbbbbbb-000000{i}", 10)
    assert hk.old_dbt_invocations(tmp_path, keep=1, now=NOW) == []
    assert busy.is_dir() and young.is_dir()


def test_parse_states_of_warehouses_no_step_built_for_a_week_go(tmp_path) -> None:
    week = 7 * 24 * HOUR
    stale = _touch(tmp_path / "partial_parse.0123456789ab.msgpack", week + HOUR)
    _touch(tmp_path / "partial_parse.ba9876543210.msgpack", week - HOUR)
    _touch(tmp_path / "partial_parse.msgpack", 2 * week)  # the project's own: dbt's business
    _touch(tmp_path / "partial_parse.0123456789ab.msgpack.bak", 2 * week)
    assert hk.old_parse_states(tmp_path, now=NOW) == [stale]
    assert hk.old_parse_states(tmp_path / "missing", now=NOW) == []
    # the name the dbt steps give a warehouse's state is one this finds
    state = hk.parse_state_path(tmp_path, "/data/warehouse.duckdb")
    assert state.parent == tmp_path and state != hk.parse_state_path(tmp_path, "/other.duckdb")
    _touch(state, week + HOUR)
    assert state in hk.old_parse_states(tmp_path, now=NOW)


def test_remove_paths_skips_what_vanished(tmp_path) -> None:
    here = _touch(tmp_path / "a.tmp", 0)
    assert hk.remove_paths([here, tmp_path / "gone.tmp"]) == [here]


# --- processes -----------------------------------------------------------------------------


def test_this_process_is_alive_and_a_reaped_one_is_not() -> None:
    assert hk.process_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not hk.process_alive(child.pid)
    assert not hk.process_alive(0) and not hk.process_alive(-5)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_zombie_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 20
        while Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert not hk.process_alive(child.pid)  # exited, not yet reaped
    finally:
        child.wait()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_process_start_time_is_when_it_started() -> None:
    before = time.time()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = hk.process_start_time(child.pid)
        assert started is not None
        assert before - 2 <= started <= time.time() + 2
        assert hk.process_start_time(os.getpid()) < started
    finally:
        child.kill()
        child.wait()
    assert hk.process_start_time(child.pid) is None


def test_owner_tags_round_trip() -> None:
    tags = hk.owner_tags()
    owner = hk.owner_from_tags(tags)
    assert owner is not None
    assert owner.pid == os.getpid() and owner.host == hk.this_host()
    assert hk.owner_gone(owner) is None
    assert hk.owner_from_tags({}) is None
    assert hk.owner_from_tags({hk.OWNER_PID_TAG: "x", hk.OWNER_HOST_TAG: "h"}) is None
    bad_start = {hk.OWNER_PID_TAG: "12", hk.OWNER_HOST_TAG: "h", hk.OWNER_STARTED_TAG: "?"}
    assert hk.owner_from_tags(bad_start) == hk.Owner("h", 12, None)


def test_owner_gone_names_a_dead_process_and_leaves_other_hosts_alone() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    here = hk.this_host()
    reason = hk.owner_gone(hk.Owner(here, child.pid))
    assert reason is not None and f"process {child.pid}" in reason and "gone" in reason
    # Another machine's process cannot be checked from here: never declared dead.
    assert hk.owner_gone(hk.Owner("elsewhere", child.pid), host=here) is None


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_reused_pid_counts_as_gone() -> None:
    me = os.getpid()
    started = hk.process_start_time(me)
    here = hk.this_host()
    assert hk.owner_gone(hk.Owner(here, me, started)) is None
    # The recorded process started earlier than the one that has this pid now.
    reason = hk.owner_gone(hk.Owner(here, me, started - 600))
    assert reason is not None and "another process" in reason
    # No recorded start: a process younger than the run cannot be the run's.
    assert hk.owner_gone(hk.Owner(here, me), started_before=started + 600) is None
    reason = hk.owner_gone(hk.Owner(here, me), started_before=started - 600)
    assert reason is not None and "started after the run" in reason
