"""The job the celery test runs. Workers import it by module name (the test puts this
folder on their PYTHONPATH), as they would import the real code location.

Two independent branches must overlap on two single-slot workers; two stand-ins for the
DuckDB writer steps share the `duckdb_warehouse` pool and must not.
"""

import time

import dagster as dg
from dagster_celery import celery_executor

STEP_SECONDS = 0.5

# The broker and result backend come from the same variables deploy/celery/worker.yaml reads.
deploy_celery_executor = celery_executor.configured(
    {
        "broker": {"env": "DAGSTER_CELERY_BROKER_URL"},
        "backend": {"env": "DAGSTER_CELERY_BACKEND_URL"},
    }
)


@dg.asset
def left_branch() -> None:
    time.sleep(STEP_SECONDS)


@dg.asset
def right_branch() -> None:
    time.sleep(STEP_SECONDS)


@dg.asset(pool="duckdb_warehouse")
def writer_one() -> None:
    time.sleep(STEP_SECONDS)


@dg.asset(pool="duckdb_warehouse")
def writer_two() -> None:
    time.sleep(STEP_SECONDS)


defs = dg.Definitions(
    assets=[left_branch, right_branch, writer_one, writer_two],
    jobs=[dg.define_asset_job("celery_parallel_job", executor_def=deploy_celery_executor)],
)


def celery_parallel_job() -> dg.JobDefinition:
    return defs.resolve_job_def("celery_parallel_job")
