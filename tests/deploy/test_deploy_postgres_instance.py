"""deploy/dagster.yaml against a real PostgreSQL: storage, queue and pool as the compose
deployment gets them, and a run, a schedule tick and a sensor tick recorded there.

The ticks are evaluated with Dagster's public context builders and stored through the
instance's schedule storage, the path the daemon takes. (A real daemon records a sensor
tick in test_deploy_daemon_postgres.py; a schedule tick from the daemon would need a cron
minute to pass, too slow for a test.)
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import dagster as dg
import pytest

# Tick records have no public constructor; these are the types the daemon stores.
from dagster._core.scheduler.instigation import InstigatorType, TickData, TickStatus
from deploy_support import DeployHome, query


@dg.asset
def deploy_probe() -> int:
    """A cheap asset standing in for a pipeline step."""
    return 1


probe_job = dg.define_asset_job("deploy_probe_job", selection=[deploy_probe])


@dg.schedule(job=probe_job, cron_schedule="0 6 * * *", execution_timezone="UTC")
def deploy_probe_daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    day = context.scheduled_execution_time.date().isoformat()
    return dg.RunRequest(run_key=day, tags={"crawl_day": day})


@dg.sensor(job=probe_job)
def deploy_probe_files(context: dg.SensorEvaluationContext):
    """Pretend landing sensor: files f1..f3 exist; the cursor remembers what was seen."""
    seen = set(json.loads(context.cursor)) if context.cursor else set()
    new = sorted({"f1", "f2", "f3"} - seen)
    for name in new:
        yield dg.RunRequest(run_key=name, tags={"landing_file": name})
    context.update_cursor(json.dumps(sorted(seen | set(new))))


def _open(home: DeployHome) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(home.home))


def _origin(name: str) -> tuple[str, str]:
    return f"deploy-test:{name}", f"deploy-test-selector:{name}"


@pytest.fixture(scope="module")
def instance(pg_home: DeployHome):
    with _open(pg_home) as inst:
        yield inst


def test_instance_is_postgres_backed_with_queue_and_pool(instance: dg.DagsterInstance) -> None:
    from dagster_postgres import (
        PostgresEventLogStorage,
        PostgresRunStorage,
        PostgresScheduleStorage,
    )

    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    assert type(instance.scheduler).__name__ == "DagsterDaemonScheduler"

    # The pool every DuckDB writer step uses gets one slot, without any setup command.
    pool = instance.event_log_storage.get_concurrency_info("duckdb_warehouse")
    assert pool.limit == 1
    assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 4


def test_run_schedule_tick_and_sensor_tick_are_stored_in_postgres(
    pg_home: DeployHome, instance: dg.DagsterInstance
) -> None:
    # Schedule tick: evaluate, run what it asked for, record the tick with that run.
    scheduled_at = datetime(2026, 9, 24, 6, 0, tzinfo=UTC)
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=scheduled_at) as ctx:
        schedule_data = deploy_probe_daily.evaluate_tick(ctx)
    (request,) = schedule_data.run_requests
    result = dg.materialize([deploy_probe], instance=instance, tags=request.tags)
    assert result.success
    schedule_origin, schedule_selector = _origin(deploy_probe_daily.name)
    instance.create_tick(
        TickData(
            instigator_origin_id=schedule_origin,
            instigator_name=deploy_probe_daily.name,
            instigator_type=InstigatorType.SCHEDULE,
            status=TickStatus.SUCCESS,
            timestamp=scheduled_at.timestamp(),
            run_ids=[result.run_id],
            run_keys=[request.run_key],
            selector_id=schedule_selector,
        )
    )

    # Sensor tick: the first evaluation sees three files and moves the cursor.
    with dg.build_sensor_context(instance=instance, cursor=None) as ctx:
        sensor_data = deploy_probe_files.evaluate_tick(ctx)
    assert [r.run_key for r in sensor_data.run_requests] == ["f1", "f2", "f3"]
    sensor_runs = [
        dg.materialize([deploy_probe], instance=instance, tags=r.tags).run_id
        for r in sensor_data.run_requests
    ]
    sensor_origin, sensor_selector = _origin(deploy_probe_files.name)
    instance.create_tick(
        TickData(
            instigator_origin_id=sensor_origin,
            instigator_name=deploy_probe_files.name,
            instigator_type=InstigatorType.SENSOR,
            status=TickStatus.SUCCESS,
            timestamp=time.time(),
            run_ids=sensor_runs,
            run_keys=[r.run_key for r in sensor_data.run_requests],
            cursor=sensor_data.cursor,
            selector_id=sensor_selector,
        )
    )

    # A fresh instance from the same yaml (another process, say the daemon after a restart)
    # sees all of it, and the stored cursor stops the sensor asking for the same files.
    with _open(pg_home) as reopened:
        run = reopened.get_run_by_id(result.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["crawl_day"] == "2026-09-24"
        materialization = reopened.get_latest_materialization_event(dg.AssetKey("deploy_probe"))
        assert materialization is not None and materialization.run_id == sensor_runs[-1]

        (schedule_tick,) = reopened.get_ticks(schedule_origin, schedule_selector)
        assert schedule_tick.status == TickStatus.SUCCESS
        assert list(schedule_tick.run_ids) == [result.run_id]

        (sensor_tick,) = reopened.get_ticks(sensor_origin, sensor_selector)
        assert sensor_tick.status == TickStatus.SUCCESS
        assert list(sensor_tick.run_ids) == sensor_runs
        files = {reopened.get_run_by_id(r).tags["landing_file"] for r in sensor_runs}
        assert files == {"f1", "f2", "f3"}
        with dg.build_sensor_context(instance=reopened, cursor=sensor_tick.cursor) as ctx:
            assert deploy_probe_files.evaluate_tick(ctx).run_requests == []

    # And it is PostgreSQL that holds it, not a local file.
    db = pg_home.db_name
    assert query(db, "select status from runs where run_id = %s", (result.run_id,)) == [
        ("SUCCESS",)
    ]
    events = {
        row[0]
        for row in query(
            db, "select dagster_event_type from event_logs where run_id = %s", (result.run_id,)
        )
    }
    assert {"STEP_START", "STEP_SUCCESS", "ASSET_MATERIALIZATION"} <= events
    ticks = query(db, "select type, status, selector_id from job_ticks order by id")
    assert ticks == [
        ("SCHEDULE", "SUCCESS", schedule_selector),
        ("SENSOR", "SUCCESS", sensor_selector),
    ]
    assert not list(pg_home.home.glob("**/*.db")), "a SQLite file appeared under DAGSTER_HOME"
