"""Helpers for the deployment tests: service probes, a throwaway PostgreSQL database and a
DAGSTER_HOME holding the deployment's own `deploy/dagster.yaml`.

Connection details follow libpq's variables (PGHOST, PGPORT, PGUSER, PGPASSWORD), with the
machine's local server as the default.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DIR = REPO_ROOT / "deploy"
DEPLOY_DAGSTER_YAML = DEPLOY_DIR / "dagster.yaml"

PG_HOST = os.environ.get("PGHOST", "127.0.0.1")
PG_PORT = int(os.environ.get("PGPORT", "5432"))
PG_USER = os.environ.get("PGUSER", "postgres")
PG_PASSWORD = os.environ.get("PGPASSWORD", "")

REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_celery_on_redis() -> None:
    """Skip the calling module (with the reason) where dagster-celery, the redis client or
    the Redis server is missing."""
    pytest.importorskip("dagster_celery", reason="dagster-celery is not installed")
    pytest.importorskip(
        "redis", reason="the redis client (celery's Redis transport) is not installed"
    )
    if not port_open(REDIS_HOST, REDIS_PORT):
        pytest.skip(f"Redis is not reachable on {REDIS_HOST}:{REDIS_PORT}", allow_module_level=True)


def require_postgres() -> None:
    """Skip (with the reason) where PostgreSQL or its Dagster driver is missing."""
    pytest.importorskip("dagster_postgres", reason="dagster-postgres is not installed")
    pytest.importorskip("psycopg2", reason="psycopg2 (dagster-postgres' driver) is not installed")
    if not port_open(PG_HOST, PG_PORT):
        pytest.skip(f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT}")


def _admin_connection(dbname: str = "postgres"):
    import psycopg2

    con = psycopg2.connect(
        host=PG_HOST,
        port=PG_PORT,
        user=PG_USER,
        password=PG_PASSWORD,
        dbname=dbname,
        connect_timeout=5,
    )
    con.autocommit = True
    return con


def query(dbname: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of one query against the test database, read straight from PostgreSQL."""
    con = _admin_connection(dbname)
    try:
        with con.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        con.close()


@dataclass(frozen=True)
class DeployHome:
    """A DAGSTER_HOME with deploy/dagster.yaml, and the environment that points it at PostgreSQL."""

    home: Path
    db_name: str
    env: dict[str, str]


@contextmanager
def deploy_home(tmp_dir: Path) -> Iterator[DeployHome]:
    """Create `trending_test_<random>`, set the deployment's env vars to it, drop it afterwards."""
    require_postgres()
    db_name = f"trending_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_connection()
    try:
        with admin.cursor() as cur:
            cur.execute(f'create database "{db_name}"')
    except Exception as exc:  # e.g. a role without CREATEDB: say so instead of erroring
        admin.close()
        pytest.skip(f"cannot create a test database on {PG_HOST}:{PG_PORT}: {exc}")

    home = tmp_dir / "dagster_home"
    home.mkdir(parents=True)
    shutil.copyfile(DEPLOY_DAGSTER_YAML, home / "dagster.yaml")
    env = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_POSTGRES_HOST": PG_HOST,
        "DAGSTER_POSTGRES_PORT": str(PG_PORT),
        "DAGSTER_POSTGRES_USER": PG_USER,
        "DAGSTER_POSTGRES_PASSWORD": PG_PASSWORD,
        "DAGSTER_POSTGRES_DB": db_name,
        "DAGSTER_COMPUTE_LOGS_DIR": str(tmp_dir / "storage" / "compute_logs"),
        "DAGSTER_ARTIFACTS_DIR": str(tmp_dir / "storage"),
    }
    try:
        with pytest.MonkeyPatch.context() as mp:
            for key, value in env.items():
                mp.setenv(key, value)
            yield DeployHome(home=home, db_name=db_name, env=env)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{db_name}" with (force)')
        admin.close()


def stop_process_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process group a test started (a CLI and what it spawned), then SIGKILL what is left."""
    for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)  # the group this test started, also if its leader exited
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait_s)
            break
        except subprocess.TimeoutExpired:
            continue


CELERY_READY_TIMEOUT_S = 60


def start_celery_worker(name: str, env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    """One single-slot worker started the way the compose `celery_worker` service starts
    it (`dagster-celery worker start -y deploy/celery/worker.yaml`), in its own process group."""
    binary = Path(sys.executable).parent / "dagster-celery"
    handle = log.open("w")
    try:
        return subprocess.Popen(
            [
                str(binary), "worker", "start", "-A", "dagster_celery.app",
                "-y", str(DEPLOY_DIR / "celery" / "worker.yaml"), "-n", name,
                # solo pool, one task at a time: parallel steps must be on both workers
                "--", "--pool", "solo", "--concurrency", "1",
                "--without-gossip", "--without-mingle",
            ],
            env=env, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    finally:
        handle.close()  # the child keeps its own descriptor


def wait_for_celery_workers(broker: str, names: set[str], procs: list[subprocess.Popen]) -> None:
    from celery import Celery

    app = Celery(broker=broker)
    deadline = time.monotonic() + CELERY_READY_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            assert all(p.poll() is None for p in procs), "a celery worker exited during start-up"
            replies = app.control.ping(timeout=1.0) or []
            answered = {name.split("@")[0] for reply in replies for name in reply}
            if names <= answered:
                return
        pytest.fail(
            f"celery workers {sorted(names)} did not answer within {CELERY_READY_TIMEOUT_S}s"
        )
    finally:
        app.close()


def celery_worker_of_step(instance, run_id: str) -> dict[str, str]:
    """step key -> the celery worker (its name) that ran it, from the run's engine events."""
    import dagster as dg

    workers = {}
    for record in instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ENGINE_EVENT
    ).records:
        entry = record.event_log_entry
        metadata = entry.dagster_event.event_specific_data.metadata
        if "Celery worker" in metadata:
            workers[entry.step_key] = str(metadata["Celery worker"].value).split("@")[0]
    return workers
