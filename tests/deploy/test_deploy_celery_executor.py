"""Scale-out on dagster-celery: two local workers on Redis, started the way the compose
`celery_worker` service starts them (`dagster-celery worker start -y deploy/celery/worker.yaml`),
run a job's independent steps at the same time, while steps in the `duckdb_warehouse` pool
still take turns. The instance is deploy/dagster.yaml on PostgreSQL, as in the deployment.
"""

from __future__ import annotations

import os
import random
import sys
import uuid
from pathlib import Path

import dagster as dg
import pytest
from deploy_support import (
    REDIS_HOST,
    REDIS_PORT,
    DeployHome,
    celery_worker_of_step,
    require_celery_on_redis,
    start_celery_worker,
    stop_process_group,
    wait_for_celery_workers,
)

require_celery_on_redis()

import deploy_celery_job  # noqa: E402  (needs dagster_celery, checked above)

# dagster-celery builds its task once per executor; celery then warns that the name is taken.
pytestmark = pytest.mark.filterwarnings("ignore:Task name 'execute_plan' is already registered")

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
WORKERS = 2


@pytest.fixture
def celery_workers(pg_home: DeployHome, tmp_path: Path):
    """Two single-slot workers on a random Redis database, stopped afterwards."""
    # Dagster's schema first: two workers creating it at once race ("already exists").
    with dg.DagsterInstance.from_config(str(pg_home.home)):
        pass
    db = random.randint(1, 15)  # apart from other users of this Redis
    broker = f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"
    env = {
        **os.environ,
        **pg_home.env,
        "DAGSTER_CELERY_BROKER_URL": broker,
        "DAGSTER_CELERY_BACKEND_URL": broker,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
    }
    token = uuid.uuid4().hex[:6]
    names = {f"deploy-test-{token}-{i}" for i in range(WORKERS)}
    procs = []
    try:
        for name in sorted(names):
            procs.append(start_celery_worker(name, env, tmp_path, tmp_path / f"{name}.log"))
        wait_for_celery_workers(broker, names, procs)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("DAGSTER_CELERY_BROKER_URL", broker)
            mp.setenv("DAGSTER_CELERY_BACKEND_URL", broker)
            yield names
    finally:
        for proc in procs:
            stop_process_group(proc)


def _windows(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    records = instance.get_records_for_run(
        run_id, of_type={dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}
    ).records
    starts, ends = {}, {}
    for record in records:
        entry = record.event_log_entry
        target = (
            starts if entry.dagster_event.event_type == dg.DagsterEventType.STEP_START else ends
        )
        target[entry.step_key] = entry.timestamp
    return {key: (starts[key], ends[key]) for key in starts}


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@pytest.mark.timeout(300)  # a lost worker would leave the run waiting on its tasks forever
def test_celery_workers_run_independent_steps_in_parallel(
    pg_home: DeployHome, celery_workers: set[str]
) -> None:
    with dg.DagsterInstance.from_config(str(pg_home.home)) as instance:
        with dg.execute_job(
            dg.reconstructable(deploy_celery_job.celery_parallel_job), instance=instance
        ) as result:
            assert result.success
            run_id = result.run_id

        windows = _windows(instance, run_id)
        assert set(windows) == {"left_branch", "right_branch", "writer_one", "writer_two"}
        pairs = [(a, b) for a in windows for b in windows if a < b]
        overlapping = [(a, b) for a, b in pairs if _overlap(windows[a], windows[b])]
        assert overlapping, f"no two steps overlapped: {windows}"
        assert not _overlap(windows["writer_one"], windows["writer_two"]), (
            "steps in pool duckdb_warehouse overlapped"
        )

        # Every step ran in a celery worker, and both workers took part.
        worker_of_step = celery_worker_of_step(instance, run_id)
        assert set(worker_of_step) == set(windows)
        assert set(worker_of_step.values()) == celery_workers
