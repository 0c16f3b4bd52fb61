"""Structured JSON logs: the formatter, and a real Dagster run writing them through dagster.yaml."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import dagster as dg
import pytest
import yaml

from trending_assets.lib.logs import JsonFormatter, api_log_config

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_formatter_writes_one_json_object_with_extras_and_exceptions() -> None:
    record = logging.LogRecord(
        "serving.access", logging.INFO, __file__, 1, "GET %s %s", ("/titles", 200), None
    )
    record.status = 200
    record.route = "/titles/{title_id}"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "GET /titles 200" and line["level"] == "INFO"
    assert line["status"] == 200 and line["route"] == "/titles/{title_id}"
    assert line["logger"] == "serving.access" and line["ts"].endswith("+00:00")
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        failing = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed: %s", ("\u00e9t\u00e9",), sys.exc_info()
        )
    line = json.loads(JsonFormatter().format(failing))
    assert line["message"] == "failed: \u00e9t\u00e9" and "ValueError: boom" in line["exc"]
    # Dagster's records are tuple subclasses that refuse iteration: written as text.
    record.asset = dg.AssetKey(["raw", "listings"])
    record.nested = {"keys": [dg.AssetKey("a"), 1], "value": dg.MetadataValue.text("x")}
    line = json.loads(JsonFormatter().format(record))
    assert "raw" in line["asset"] and line["nested"]["keys"][1] == 1


def test_api_log_config_is_valid_dictconfig() -> None:
    import logging.config

    logging.config.dictConfig(api_log_config("info", "json"))
    assert isinstance(logging.getLogger("serving").handlers[0].formatter, JsonFormatter)
    logging.config.dictConfig(api_log_config("warning", "text"))
    assert not isinstance(logging.getLogger("serving").handlers[0].formatter, JsonFormatter)


def test_dagster_runs_write_json_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log_file = tmp_path / "pipeline.jsonl"
    monkeypatch.setenv("TRENDING_PIPELINE_LOG", str(log_file))
    config = yaml.safe_load((REPO_ROOT / "config" / "dagster.yaml").read_text())

    @dg.asset
    def greeting(context) -> dg.Output[str]:
        context.log.info("hello from the asset")
        # Metadata travels in Dagster's event records, which the formatter must survive.
        return dg.Output("hi", metadata={"rows": 1, "note": dg.MetadataValue.text("fine")})

    errors: list[str] = []
    monkeypatch.setattr(
        logging.Handler, "handleError", lambda self, record: errors.append(record.getMessage())
    )
    with dg.instance_for_test(overrides={"python_logs": config["python_logs"]}) as instance:
        result = dg.materialize([greeting], instance=instance)
    assert errors == [], errors
    assert result.success
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert lines, "no JSON lines were written"
    mine = [line for line in lines if line["message"] == "hello from the asset"]
    assert mine and mine[0]["run_id"] == result.run_id and mine[0]["step"] == "greeting"
    events = {line.get("event") for line in lines}
    assert {"PIPELINE_START", "STEP_START", "STEP_OUTPUT", "STEP_SUCCESS"} <= events, events
    assert all(line["run_id"] == result.run_id for line in lines if "event" in line)
    # Dagster's own record attributes are summarised (run_id, step, event), not dumped.
    assert not any(key.startswith("dagster") for line in lines for key in line)
