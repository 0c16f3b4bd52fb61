"""A real `dagster-daemon` on deploy/dagster.yaml and PostgreSQL: a sensor tick is stored,
its two runs go through the queued run coordinator, and their steps in the DuckDB writer
pool never overlap. About 20-40 s: the daemon, a code server and two run processes start.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from deploy_support import DeployHome, query, stop_process_group

HERE = Path(__file__).resolve().parent
DAEMON = str(Path(sys.executable).with_name("dagster-daemon"))
DEADLINE_S = 120


def _step_window(instance: dg.DagsterInstance, run_id: str) -> tuple[float, float]:
    records = instance.get_records_for_run(
        run_id, of_type={dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}
    ).records
    times = {
        r.event_log_entry.dagster_event.event_type: r.event_log_entry.timestamp for r in records
    }
    return times[dg.DagsterEventType.STEP_START], times[dg.DagsterEventType.STEP_SUCCESS]


def _last_events(instance: dg.DagsterInstance, run, count: int = 12) -> str:
    """A run's status and its last events, for a failure message."""
    records = instance.get_records_for_run(run.run_id, limit=count, ascending=False).records
    lines = [
        f"    {r.event_log_entry.dagster_event_type or 'log'}: "
        f"{(r.event_log_entry.user_message or '')[:160]}"
        for r in reversed(records)
    ]
    return f"  run {run.run_id[:8]} ({run.tags.get('landing_file')}) {run.status}:\n" + "\n".join(
        lines
    )


def _keep_log(log: Path) -> Path:
    """The daemon's log, copied where CI keeps test artefacts (pytest rotates its temp dirs)."""
    folder = os.environ.get("TRENDING_TEST_ARTIFACTS")
    if not folder:
        return log
    kept = Path(folder) / "deploy" / f"daemon-{int(time.time())}.log"
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_bytes(log.read_bytes())
    return kept


@pytest.mark.timeout(300)
def test_daemon_records_sensor_tick_and_runs_queued_runs(
    pg_home: DeployHome, tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n"
        "  - python_file:\n"
        f"      relative_path: {HERE / 'deploy_daemon_defs.py'}\n"
        "      location_name: deploy_test\n"
    )
    env = {**os.environ, **pg_home.env}
    log = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [DAEMON, "run", "-w", str(workspace)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        with dg.DagsterInstance.from_config(str(pg_home.home)) as instance:
            deadline = time.monotonic() + DEADLINE_S
            runs: list = []
            while time.monotonic() < deadline:
                runs = instance.get_runs(dg.RunsFilter(job_name="writer_stand_in_job"))
                if len(runs) == 2 and all(r.is_finished for r in runs):
                    break
                assert daemon.poll() is None, f"dagster-daemon exited; see {log.name}"
                time.sleep(1)
            else:
                pytest.fail(
                    f"the sensor's two runs did not finish in {DEADLINE_S}s; see "
                    f"{_keep_log(Path(log.name))}. What each run recorded last:\n"
                    + "\n".join(_last_events(instance, r) for r in runs)
                )

            assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
            assert {r.tags["landing_file"] for r in runs} == {"a", "b"}
            assert {r.tags["dagster/sensor_name"] for r in runs} == {"landing_stand_in"}
            for run in runs:  # submitted to the queue, launched from it by the daemon
                assert instance.get_records_for_run(
                    run.run_id, of_type=dg.DagsterEventType.RUN_ENQUEUED
                ).records

            # DuckDB's single writer: the two steps in the pool ran one after the other.
            (start_a, end_a), (start_b, end_b) = sorted(
                _step_window(instance, r.run_id) for r in runs
            )
            assert end_a <= start_b, "two steps in pool duckdb_warehouse overlapped"
    finally:
        stop_process_group(daemon)
        log.close()

    db = pg_home.db_name
    ticks = query(db, "select type, status from job_ticks where status = 'SUCCESS'")
    assert ("SENSOR", "SUCCESS") in ticks
    heartbeats = {row[0] for row in query(db, "select daemon_type from daemon_heartbeats")}
    assert {"SENSOR", "SCHEDULER", "QUEUED_RUN_COORDINATOR"} <= heartbeats
