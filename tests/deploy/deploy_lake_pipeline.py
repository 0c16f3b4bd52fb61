"""The real code location, split in two jobs for the two-worker lake test
(test_deploy_celery_lake.py). Workers import this module by name, as they would import
the code location; the settings (lake on S3, the warehouse's path) come from their
environment.

- ``warehouse_job``: the crawl and the dbt marts, run in the test's own process;
- ``lake_pipeline_job``: every step after the marts up to the published snapshot (the
  split, features, the four models and their ensemble, evaluation, champion, predictions,
  enrichment, trending, the served tables) on the celery workers, which share nothing but
  the S3 lake, the Postgres instance and the warehouse file.
"""

import dagster as dg
from dagster_celery import celery_executor

from trending_assets.definitions import defs as code_location

deploy_celery_executor = celery_executor.configured(
    {
        "broker": {"env": "DAGSTER_CELERY_BROKER_URL"},
        "backend": {"env": "DAGSTER_CELERY_BACKEND_URL"},
    }
)

# The whole dbt build of the marts (a subset would run singular tests whose models it skipped).
WAREHOUSE = dg.AssetSelection.groups("ingest", "warehouse")
SERVED = dg.AssetSelection.assets("serving_snapshot").upstream() - WAREHOUSE


def _definitions() -> dg.Definitions:
    return dg.Definitions.merge(
        code_location(),
        dg.Definitions(
            jobs=[
                dg.define_asset_job("warehouse_job", selection=WAREHOUSE),
                dg.define_asset_job(
                    "lake_pipeline_job", selection=SERVED, executor_def=deploy_celery_executor
                ),
            ]
        ),
    )


def warehouse_job() -> dg.JobDefinition:
    return _definitions().resolve_job_def("warehouse_job")


def lake_pipeline_job() -> dg.JobDefinition:
    return _definitions().resolve_job_def("lake_pipeline_job")
