"""Scale-out without a shared disk: the pipeline's steps after the marts run on two
celery workers that have **separate** DAGSTER_HOMEs and working directories and share only
the S3 lake (moto), the PostgreSQL instance and the warehouse file. Every value one step
hands to the next travels through the lake IO manager; the snapshot they publish is what
the API serves.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import dagster as dg
import httpx
import pytest
from deploy_support import (
    DEPLOY_DAGSTER_YAML,
    REDIS_HOST,
    REDIS_PORT,
    REPO_ROOT,
    DeployHome,
    celery_worker_of_step,
    require_celery_on_redis,
    start_celery_worker,
    stop_process_group,
    wait_for_celery_workers,
)

require_celery_on_redis()

pytestmark = [
    pytest.mark.filterwarnings("ignore:Task name 'execute_plan' is already registered"),
    pytest.mark.slow,
]

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
PARTITION = "2026-10-10"
BUCKET = "trending-lake"
# Small but real: every step runs its real code on a small demo catalogue.
SMALL_PIPELINE = {
    "TRENDING_DEMO_TITLES": "150",
    "TRENDING_BERT_EPOCHS": "1",
    "TRENDING_BERT_ROW_CAP": "64",
    "TRENDING_BERT_MAX_LENGTH": "64",
    "TRENDING_XGBOOST_SEARCH_SIZE": "1",
    "TRENDING_XGBOOST_ROUNDS": "20",
    "TRENDING_LLM_PROVIDER": "local",
}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def shared(tmp_path: Path, moto_endpoint: str, pg_home: DeployHome) -> dict[str, str]:
    """What every machine shares: the S3 lake, Postgres (pg_home.env) and the warehouse
    volume (the DuckDB file and the published snapshots)."""
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(
        Bucket=BUCKET
    )
    volume = tmp_path / "warehouse_volume"
    volume.mkdir()
    db = random.randint(1, 15)  # apart from other users of this Redis
    broker = f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"
    return {
        **{k: v for k, v in pg_home.env.items() if k.startswith("DAGSTER_POSTGRES_")},
        **SMALL_PIPELINE,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "TRENDING_S3_BUCKET": BUCKET,
        "TRENDING_S3_ENDPOINT_URL": moto_endpoint,
        "TRENDING_WAREHOUSE_PATH": str(volume / "warehouse.duckdb"),
        "TRENDING_SERVING_DIR": str(volume / "serving"),
        "DAGSTER_CELERY_BROKER_URL": broker,
        "DAGSTER_CELERY_BACKEND_URL": broker,
    }


def _machine(root: Path, shared: dict[str, str]) -> dict[str, str]:
    """One machine's environment: its own DAGSTER_HOME, data dir and storage dirs."""
    home = root / "dagster_home"
    home.mkdir(parents=True)
    shutil.copyfile(DEPLOY_DAGSTER_YAML, home / "dagster.yaml")
    return {
        **os.environ,
        **shared,
        "DAGSTER_HOME": str(home),
        "DAGSTER_COMPUTE_LOGS_DIR": str(root / "storage" / "compute_logs"),
        "DAGSTER_ARTIFACTS_DIR": str(root / "storage"),
        "TRENDING_DATA_DIR": str(root / "data"),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
    }


@pytest.fixture
def workers(tmp_path: Path, shared: dict[str, str], pg_home: DeployHome):
    # Create Dagster's schema in the fresh database first: two workers starting at once
    # would both try, and one would fail on "type event_logs already exists".
    with dg.DagsterInstance.from_config(str(pg_home.home)):
        pass
    token = uuid.uuid4().hex[:6]
    machines = {f"lake-test-{token}-{i}": tmp_path / f"machine{i}" for i in range(2)}
    procs = []
    try:
        for name, root in machines.items():
            env = _machine(root, shared)
            (root / "cwd").mkdir()
            procs.append(start_celery_worker(name, env, root / "cwd", root / "worker.log"))
        wait_for_celery_workers(shared["DAGSTER_CELERY_BROKER_URL"], set(machines), procs)
        yield machines
    finally:
        for proc in procs:
            stop_process_group(proc)


def _stored_values(endpoint: str) -> set[str]:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    keys = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        keys.update(obj["Key"] for obj in page.get("Contents", []))
    return keys


@pytest.mark.timeout(900)
def test_steps_on_two_homes_share_only_the_lake_and_the_api_serves_their_snapshot(
    tmp_path: Path,
    shared: dict[str, str],
    workers: dict[str, Path],
    moto_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The submitting process is a third machine: its own home and data dir.
    submitter = _machine(tmp_path / "submitter", shared)
    for key, value in submitter.items():
        monkeypatch.setenv(key, value)
    import deploy_lake_pipeline

    with dg.DagsterInstance.get() as instance:
        upstream = deploy_lake_pipeline.warehouse_job().execute_in_process(
            instance=instance, partition_key=PARTITION
        )
        assert upstream.success
        with dg.execute_job(
            dg.reconstructable(deploy_lake_pipeline.lake_pipeline_job), instance=instance
        ) as result:
            assert result.success, [
                e.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"
            ]
            run_id = result.run_id
            snapshot = result.asset_materializations_for_node("serving_snapshot")[0].metadata
        worker_of_step = celery_worker_of_step(instance, run_id)

    # Every step ran on a worker, both took part, and the values they handed on are on S3.
    steps = {"training_set", "tfidf_features", "genre_model_bert", "serving_snapshot"}
    assert steps <= set(worker_of_step), worker_of_step
    assert set(worker_of_step.values()) == set(workers)
    keys = _stored_values(moto_endpoint)
    for asset in ("training_set", "tfidf_features", "genre_model_logreg", "champion_model",
                  "text_embeddings", "review_rating_model"):  # fmt: skip
        assert f"lake/assets/{asset}/manifest.json" in keys, asset
    # Nothing was handed on through a worker's own disk.
    for root in workers.values():
        pickles = [p for p in (root / "storage").rglob("*") if p.name in steps]
        assert not pickles, pickles

    # The API, on its own machine, serves the snapshot the workers published.
    version = snapshot["version"].value
    serving_dir = Path(shared["TRENDING_SERVING_DIR"])
    assert (serving_dir / "CURRENT").read_text().strip() == version
    port = _free_port()
    api_env = {**_machine(tmp_path / "api", shared), "TRENDING_SEARCH_ENCODER": "false"}
    server = subprocess.Popen(
        [sys.executable, "-m", "serving", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO_ROOT, env=api_env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                ready = httpx.get(f"{base}/ready", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, "the API exited during start-up"
                assert time.monotonic() < deadline, "the API did not start within 120 s"
                time.sleep(0.3)
        assert ready.status_code == 200 and version in ready.text
        page = httpx.get(f"{base}/titles", params={"limit": 3}, timeout=30).json()
        assert page["total"] == snapshot["row_counts"].value["titles"] > 0
        detail = httpx.get(f"{base}/titles/{page['items'][0]['id']}", timeout=30).json()
        assert detail["model_genres"] is not None
    finally:
        stop_process_group(server)
