"""A tiny code location for the daemon test: a sensor asks for two runs of a job whose one
step is in the DuckDB writer pool, so the run queue and the pool both have work to do."""

import time

import dagster as dg

WRITER_POOL = "duckdb_warehouse"  # the pool name the pipeline's writer steps use


@dg.asset(pool=WRITER_POOL)
def warehouse_writer_stand_in() -> None:
    time.sleep(1.0)


# In-process executor: one process per run instead of two keeps the test short; the pool
# is enforced the same way for every executor.
writer_job = dg.define_asset_job(
    "writer_stand_in_job",
    selection=[warehouse_writer_stand_in],
    executor_def=dg.in_process_executor,
)


@dg.sensor(
    job=writer_job, minimum_interval_seconds=1, default_status=dg.DefaultSensorStatus.RUNNING
)
def landing_stand_in(context: dg.SensorEvaluationContext):
    if context.cursor == "done":
        return dg.SkipReason("both files already requested")
    context.update_cursor("done")
    for name in ("a", "b"):
        yield dg.RunRequest(run_key=name, tags={"landing_file": name})


defs = dg.Definitions(
    assets=[warehouse_writer_stand_in], jobs=[writer_job], sensors=[landing_stand_in]
)
