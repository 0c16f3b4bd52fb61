"""Platform automation: freshness on every asset, the daily crawl schedule, run-failure alerts."""

import http.server
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from trending_assets.definitions import DAILY_FRESH_ASSETS, defs
from trending_assets.defs.automation.alerts import run_failure_alerts
from trending_assets.defs.automation.schedules import daily_crawl_schedule
from trending_assets.lib.alerts import record_failure


@pytest.fixture(scope="module")
def definitions():
    return defs()


def test_every_asset_has_a_freshness_policy_and_daily_ones_are_tighter(definitions) -> None:
    graph = definitions.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        policy = graph.get(key).freshness_policy
        assert policy is not None, key.to_user_string()
        expected = timedelta(hours=26) if key.to_user_string() in DAILY_FRESH_ASSETS else timedelta(hours=48)
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
