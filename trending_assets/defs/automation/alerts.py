"""Every failed run, anywhere in the deployment, lands in a structured log (and a webhook)."""

import os
from pathlib import Path

import dagster as dg

from trending_assets.lib.alerts import record_failure
from trending_assets.settings import get_settings


@dg.run_failure_sensor(
    name="run_failure_alerts",
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records failed runs in $TRENDING_DATA_DIR/logs/run_failures.jsonl; POSTs to TRENDING_ALERT_WEBHOOK_URL if set.",
)
def run_failure_alerts(context: dg.RunFailureSensorContext) -> None:
    run = context.dagster_run
    failure = context.failure_event
    event = {
        "kind": "run_failure",
        "run_id": run.run_id,
        "job": run.job_name,
        "tags": dict(run.tags),
        "message": failure.message if failure else None,
        "step_failures": [e.step_key for e in context.get_step_failure_events()],
    }
    log_path = Path(get_settings().data_dir).resolve() / "logs" / "run_failures.jsonl"
    result = record_failure(
        event, log_path=log_path, webhook_url=os.environ.get("TRENDING_ALERT_WEBHOOK_URL")
    )
    context.log.info(f"run failure of {run.run_id} recorded: {result}")
