"""No hung runs after a crash: a run killed with SIGKILL while it holds the warehouse pool's
only slot does not block the next one, and SIGINT / SIGTERM stop a run promptly with its
slot freed.

Real processes, real instance: each run is this file executed as a script
(`python tests/pipeline/test_run_recovery.py <hold seconds>`), which goes through the CLI's
own housekeeping (`cli.tidy`), guarded execution (`cli.execute`) and exit handling
(`cli.guarded`), exactly as `trending materialize` does around the whole graph, on a job of
one asset in the pool `duckdb_warehouse` that holds the slot for a while. Each test has its
own DAGSTER_HOME (a copy of config/dagster.yaml) and data dir.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from trending_assets.lib import housekeeping

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).resolve()
MARKER_PREFIX = "holding."  # the asset writes <data dir>/holding.<pid> once it holds the slot
# trending_assets.defs.resources.WAREHOUSE_POOL (checked below); the script does not import
# the definitions, which would cost it seconds of start-up.
WAREHOUSE_POOL = "duckdb_warehouse"


# --- the script side -----------------------------------------------------------------------


def _hold_job(hold_s: float) -> dg.JobDefinition:
    @dg.asset(pool=WAREHOUSE_POOL)
    def warehouse_hold() -> None:
        marker = Path(os.environ["TRENDING_DATA_DIR"]) / f"{MARKER_PREFIX}{os.getpid()}"
        marker.write_text("held")
        time.sleep(hold_s)

    job = dg.define_asset_job("hold_warehouse_job", selection=[warehouse_hold])
    return dg.Definitions(assets=[warehouse_hold], jobs=[job]).resolve_job_def(job.name)


def _script(hold_s: float) -> int:
    from trending_assets import cli

    def command() -> int:
        cli.quiet_environment()
        cli.ensure_dagster_home()
        with dg.DagsterInstance.get() as instance:
            cli.tidy(instance)
            result = cli.execute(_hold_job(hold_s), instance)
        print(f"run {result.run_id} {'OK' if result.success else 'FAILED'}", flush=True)
        return 0 if result.success else 1

    return cli.guarded(command)


# --- the test side -------------------------------------------------------------------------


class Run:
    """One script process, its output collected line by line."""

    def __init__(self, env: dict[str, str], hold_s: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SCRIPT), str(hold_s)],
            cwd=REPO_ROOT, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, text: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if text in line:
                    return line
            assert self.process.poll() is None, f"exited {self.process.returncode}:\n{self.output}"
            time.sleep(0.1)
        raise AssertionError(f"no line with {text!r} within {timeout_s} s:\n{self.output}")

    def wait(self, timeout_s: float) -> tuple[int, float]:
        started = time.monotonic()
        try:
            code = self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"still running after {timeout_s} s:\n{self.output}") from None
        self._reader.join(timeout=5)
        return code, time.monotonic() - started

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "tmp").mkdir()
    environment = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "TRENDING_DATA_DIR": str(data),
        "TMPDIR": str(tmp_path / "tmp"),
        "PYTHONUNBUFFERED": "1",
    }
    environment.pop("TRENDING_PIPELINE_LOG", None)
    return environment


@pytest.fixture
def runs():
    started: list[Run] = []
    yield started
    for run in started:
        run.stop()


def _instance(env: dict[str, str]) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(env["DAGSTER_HOME"])


def _wait_until_holding(env: dict[str, str], run: Run, timeout_s: float = 45) -> None:
    marker = Path(env["TRENDING_DATA_DIR"]) / f"{MARKER_PREFIX}{run.process.pid}"
    deadline = time.monotonic() + timeout_s
    while not marker.exists():
        assert run.process.poll() is None, f"exited {run.process.returncode}:\n{run.output}"
        assert time.monotonic() < deadline, f"never held the pool:\n{run.output}"
        time.sleep(0.1)


def _pool(instance: dg.DagsterInstance):
    return instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)


def _run_of(instance: dg.DagsterInstance, pid: int) -> dg.DagsterRun:
    (run,) = [r for r in instance.get_runs() if r.tags.get(housekeeping.OWNER_PID_TAG) == str(pid)]
    return run


def _failure_message(instance: dg.DagsterInstance, run_id: str) -> str:
    events = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert events, f"run {run_id} has no failure event"
    return events[-1].dagster_event.message or ""


def test_the_pool_is_the_warehouse_pool() -> None:
    from trending_assets.defs import resources

    assert resources.WAREHOUSE_POOL == WAREHOUSE_POOL


@pytest.mark.slow
def test_a_run_killed_holding_the_pool_does_not_block_the_next(env, runs) -> None:
    first = Run(env, hold_s=300)
    runs.append(first)
    _wait_until_holding(env, first)
    first.process.send_signal(signal.SIGKILL)
    first.wait(timeout_s=10)

    with _instance(env) as instance:
        dead = _run_of(instance, first.process.pid)
        assert dead.status == dg.DagsterRunStatus.STARTED  # what a kill leaves behind...
        assert [s.run_id for s in _pool(instance).claimed_slots] == [dead.run_id]  # ...the slot

    # Leftovers of killed runs besides the slot: a staging file and a crawl temp folder.
    stale = Path(env["TRENDING_DATA_DIR"]) / "lake" / "raw" / ".listings.parquet.a1b2c3d4.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_text("half")
    crawl_dir = Path(env["TMPDIR"]) / "crawl-2026-11-20-k3j4h5"
    (crawl_dir / "feeds").mkdir(parents=True)
    (crawl_dir / "feeds" / "listings.jsonl").write_text("{}\n")
    long_ago = time.time() - 2 * 3600
    for path in (stale, crawl_dir, crawl_dir / "feeds", crawl_dir / "feeds" / "listings.jsonl"):
        os.utime(path, (long_ago, long_ago))

    second = Run(env, hold_s=0)
    runs.append(second)
    # A hang on the dead run's slot would wait forever: the wait's bound catches it.
    code, _ = second.wait(timeout_s=180)
    assert code == 0, second.output
    assert f"run {dead.run_id[:8]}" in second.output and "marked failed" in second.output
    assert "removed 1 stale temporary file(s)" in second.output
    assert "removed 1 leftover crawl temp folder(s)" in second.output
    assert not stale.exists() and not crawl_dir.exists()

    with _instance(env) as instance:
        dead = instance.get_run_by_id(dead.run_id)
        assert dead.status == dg.DagsterRunStatus.FAILURE
        reason = _failure_message(instance, dead.run_id)
        assert f"process {first.process.pid}" in reason and "gone" in reason, reason
        latest = _run_of(instance, second.process.pid)
        assert latest.status == dg.DagsterRunStatus.SUCCESS
        pool = _pool(instance)
        assert pool.claimed_slots == [] and pool.pending_steps == []


@pytest.mark.slow
def test_signals_stop_a_waiting_run_and_a_running_one_with_their_slots_freed(env, runs) -> None:
    holder = Run(env, hold_s=300)
    runs.append(holder)
    _wait_until_holding(env, holder)

    # A second run waits for the slot, and says who holds it.
    waiter = Run(env, hold_s=0)
    runs.append(waiter)
    line = waiter.wait_for_line(f"waiting for pool {WAREHOUSE_POOL}", timeout_s=45)
    assert f"pid {holder.process.pid}" in line and "hold_warehouse_job" in line, line

    # SIGTERM while waiting: Dagster alone would wait on; the guard stops the run.
    waiter.process.send_signal(signal.SIGTERM)
    code, took = waiter.wait(timeout_s=30)
    assert code == 143, waiter.output
    assert took < 15, f"{took:.1f} s to stop:\n{waiter.output}"  # ~3 s on an idle machine
    assert "stopped by SIGTERM" in waiter.output
    assert "Traceback" not in waiter.output

    # SIGINT (Ctrl-C) in a step: the step is interrupted, the run fails, the slot frees.
    holder.process.send_signal(signal.SIGINT)
    code, took = holder.wait(timeout_s=30)
    assert code == 130, holder.output
    assert took < 20, f"{took:.1f} s to stop:\n{holder.output}"  # ~4 s on an idle machine
    assert "interrupted by SIGINT" in holder.output.splitlines()[-1]
    assert "Traceback" not in holder.output and "Stack Trace" not in holder.output

    with _instance(env) as instance:
        for run in (holder, waiter):
            stopped = _run_of(instance, run.process.pid)
            assert stopped.status == dg.DagsterRunStatus.FAILURE, run.output
        assert "SIGTERM" in _failure_message(instance, _run_of(instance, waiter.process.pid).run_id)
        pool = _pool(instance)
        assert pool.claimed_slots == [] and pool.pending_steps == []

    # And the pool is free for the next run at once.
    after = Run(env, hold_s=0)
    runs.append(after)
    code, took = after.wait(timeout_s=60)
    assert code == 0 and "waiting for pool" not in after.output, after.output


if __name__ == "__main__":
    sys.exit(_script(float(sys.argv[1])))
