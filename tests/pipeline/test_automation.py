"""Platform automation: freshness on every asset, the daily crawl schedule and its backfill, run-failure alerts."""

import http.server
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from trending_assets.definitions import DAILY_FRESH_ASSETS, defs
from trending_assets.defs.automation import schedules
from trending_assets.defs.automation.alerts import run_failure_alerts
from trending_assets.defs.automation.schedules import daily_crawl_schedule
from trending_assets.defs.ingest.assets import RAW_LISTINGS, RAW_REVIEWS
from trending_assets.lib.alerts import record_failure


@pytest.fixture(scope="module")
def definitions():
    return defs()


def test_every_asset_has_a_freshness_policy_and_daily_ones_are_tighter(definitions) -> None:
    graph = definitions.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        policy = graph.get(key).freshness_policy
        assert policy is not None, key.to_user_string()
        expected = (
            timedelta(hours=26)
            if key.to_user_string() in DAILY_FRESH_ASSETS
            else timedelta(hours=48)
        )
        assert policy.fail_window.to_timedelta() == expected, key.to_user_string()


def test_the_daily_schedule_requests_the_days_crawl_partition(definitions) -> None:
    schedule = definitions.resolve_schedule_def("daily_crawl_schedule")
    assert schedule.cron_schedule == "0 6 * * *"
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=datetime(2026, 11, 20, 6, 0, tzinfo=UTC),
            repository_def=definitions.get_repository_def(),
        )
        requests = schedule.evaluate_tick(context).run_requests
    assert len(requests) == 1
    assert requests[0].partition_key in ("2026-11-19", "2026-11-20")
    assert daily_crawl_schedule.name == "daily_crawl_schedule"


@pytest.fixture
def webhook():
    received: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()


def test_a_failed_run_is_logged_and_posted(tmp_path: Path, monkeypatch, webhook) -> None:
    url, received = webhook
    monkeypatch.setenv("TRENDING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TRENDING_ALERT_WEBHOOK_URL", url)

    @dg.op
    def explode() -> None:
        raise RuntimeError("the warehouse is on fire")

    @dg.job
    def doomed() -> None:
        explode()

    with dg.instance_for_test() as instance:
        result = doomed.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alerts",
            dagster_event=result.get_run_failure_event(),
            dagster_instance=instance,
            dagster_run=result.dagster_run,
        ).for_run_failure()
        run_failure_alerts(context)

    lines = (tmp_path / "logs" / "run_failures.jsonl").read_text().splitlines()
    entry = json.loads(lines[-1])
    assert entry["run_id"] == result.run_id and entry["job"] == "doomed"
    assert entry["step_failures"] == ["explode"]
    assert received and received[0]["run_id"] == result.run_id


def test_an_unreachable_webhook_still_leaves_the_log_line(tmp_path: Path) -> None:
    result = record_failure(
        {"kind": "run_failure", "run_id": "r1"},
        log_path=tmp_path / "failures.jsonl",
        webhook_url="http://127.0.0.1:9/unreachable",
        timeout_s=1,
    )
    assert result["webhook"].startswith("failed")
    assert json.loads((tmp_path / "failures.jsonl").read_text())["run_id"] == "r1"


# --- backfill of missed days ---------------------------------------------------------------

BACKFILL_NOW = datetime(2026, 11, 20, 6, 30, tzinfo=UTC)


def _materialise(instance: dg.DagsterInstance, key: dg.AssetKey, *days: str) -> None:
    for day in days:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=day))


def _backfill_tick(instance: dg.DagsterInstance, cursor: str | None = None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, sensor_name="crawl_backfill_sensor"
    )
    return schedules.crawl_backfill_sensor(context)


def test_backfill_requests_exactly_the_missed_days_once(monkeypatch) -> None:
    monkeypatch.setattr(schedules, "_now", lambda: BACKFILL_NOW)
    monkeypatch.delenv("TRENDING_BACKFILL_LOOKBACK_DAYS", raising=False)
    with dg.instance_for_test() as instance:
        # the 7 days before 2026-11-20: 13..19. Both feeds on 13, 14, 17; only listings on 15.
        _materialise(instance, RAW_LISTINGS, "2026-11-13", "2026-11-14", "2026-11-15", "2026-11-17")
        _materialise(instance, RAW_REVIEWS, "2026-11-13", "2026-11-14", "2026-11-17")
        _materialise(
            instance, RAW_LISTINGS, "2026-11-20"
        )  # today: the schedule's, never backfilled
        _materialise(instance, RAW_LISTINGS, "2026-11-01")  # outside the window

        first = _backfill_tick(instance)
        requested = {r.partition_key: r for r in first.run_requests}
        assert sorted(requested) == ["2026-11-15", "2026-11-16", "2026-11-18", "2026-11-19"]
        assert {r.run_key for r in first.run_requests} == {f"backfill:{d}" for d in requested}
        assert all(r.tags[schedules.BACKFILL_TAG] == "missed_day" for r in first.run_requests)

        # The next tick (the daemon hands the stored cursor back) requests nothing new...
        second = _backfill_tick(instance, cursor=first.cursor)
        assert not second.run_requests and "already requested" in second.skip_reason.skip_message
        # ... and a day materialised meanwhile simply drops out of the missing set.
        _materialise(instance, RAW_LISTINGS, "2026-11-16")
        _materialise(instance, RAW_REVIEWS, "2026-11-16")
        assert schedules.missing_partitions(instance, schedules.backfill_window(BACKFILL_NOW, 7)) == [
            "2026-11-15", "2026-11-18", "2026-11-19",
        ]  # fmt: skip
        assert not _backfill_tick(instance, cursor=second.cursor).run_requests


def test_backfill_from_landed_files_when_configured(monkeypatch) -> None:
    monkeypatch.setattr(schedules, "_now", lambda: BACKFILL_NOW)
    monkeypatch.setenv("TRENDING_BACKFILL_LOOKBACK_DAYS", "2")
    with dg.instance_for_test() as instance:
        monkeypatch.delenv("TRENDING_BACKFILL_SOURCE", raising=False)
        crawl = _backfill_tick(instance).run_requests
        assert crawl and all(not r.run_config for r in crawl)
        monkeypatch.setenv("TRENDING_BACKFILL_SOURCE", "landing")
        landing_runs = _backfill_tick(instance).run_requests
        assert [r.partition_key for r in landing_runs] == ["2026-11-18", "2026-11-19"]
        # The same config the landing sensor sends (its runs are executed in its tests).
        assert all(r.run_config == schedules.LANDING_RUN_CONFIG for r in landing_runs)


def test_backfill_window_follows_the_setting_and_the_partitions_range(monkeypatch) -> None:
    monkeypatch.setattr(schedules, "_now", lambda: BACKFILL_NOW)
    monkeypatch.setenv("TRENDING_BACKFILL_LOOKBACK_DAYS", "3")
    with dg.instance_for_test() as instance:
        result = _backfill_tick(instance)
        assert [r.partition_key for r in result.run_requests] == [
            "2026-11-17",
            "2026-11-18",
            "2026-11-19",
        ]
    # Two days after the first partition (2026-09-24), only those two days can be missed.
    near_start = datetime(2026, 9, 26, 7, 0, tzinfo=UTC)
    assert schedules.backfill_window(near_start, 7) == ["2026-09-24", "2026-09-25"]


def test_backfill_of_yesterday_only_stops_once_it_is_materialised(monkeypatch) -> None:
    monkeypatch.setattr(schedules, "_now", lambda: BACKFILL_NOW)
    monkeypatch.setenv("TRENDING_BACKFILL_LOOKBACK_DAYS", "1")
    with dg.instance_for_test() as instance:
        assert [r.partition_key for r in _backfill_tick(instance).run_requests] == ["2026-11-19"]
        _materialise(instance, RAW_LISTINGS, "2026-11-19")
        _materialise(instance, RAW_REVIEWS, "2026-11-19")
        assert not _backfill_tick(instance).run_requests


def test_backfill_sensor_is_registered_for_the_crawl_job(definitions) -> None:
    sensor = definitions.resolve_sensor_def("crawl_backfill_sensor")
    assert sensor.job_name == "daily_crawl_job"
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
