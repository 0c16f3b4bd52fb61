"""Structured JSON logs: one JSON object per line, for the pipeline and the API.

``JsonFormatter`` turns any ``logging`` record into a line with ``ts``, ``level``,
``logger`` and ``message``, plus:

* for Dagster's records (they carry ``dagster_meta``): ``run_id``, ``job``, ``step``,
  ``event`` (e.g. ``STEP_SUCCESS``) and the asset key when there is one;
* any ``extra={...}`` fields the caller passed (the API's access log uses these);
* ``exc`` with the formatted traceback when an exception is attached.

Dagster is pointed at it from ``config/dagster.yaml`` (``python_logs.dagster_handler_config``)
with :class:`PipelineLogHandler`, which appends to ``$DAGSTER_HOME/logs/pipeline.jsonl``
(or ``TRENDING_PIPELINE_LOG``). The API uses :func:`api_log_config` with uvicorn.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
_DAGSTER_FIELDS = {"run_id": "run_id", "job_name": "job", "step_key": "step"}


def _plain(value: Any, depth: int = 0) -> Any:
    """JSON-able form of an `extra` value. Only plain containers are walked: Dagster's
    records are tuple subclasses that refuse iteration, so anything else becomes str()."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    if depth < 4 and type(value) is dict:
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    if depth < 4 and type(value) in (list, tuple, set, frozenset):
        return [_plain(v, depth + 1) for v in value]
    try:
        return str(value)
    except Exception:  # a log line must never fail
        return f"<{type(value).__name__}>"


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring for the fields)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        meta = getattr(record, "dagster_meta", None)
        if meta is not None:
            meta = (
                meta if isinstance(meta, dict) else getattr(meta, "_asdict", lambda: vars(meta))()
            )
            for source, target in _DAGSTER_FIELDS.items():
                if meta.get(source):
                    line[target] = meta[source]
            event = meta.get("dagster_event")
            if event is not None:
                line["event"] = getattr(event, "event_type_value", str(event))
                asset_key = getattr(event, "asset_key", None)
                if asset_key is not None:
                    line["asset"] = asset_key.to_user_string()
            # Dagster prefixes its messages with job/run/step; keep the user's text.
            original = meta.get("orig_message")
            if original:
                line["message"] = original
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith(("_", "dagster")):
                line[key] = _plain(value)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def pipeline_log_path() -> Path:
    """``TRENDING_PIPELINE_LOG``, else ``$DAGSTER_HOME/logs/pipeline.jsonl``."""
    from trending_assets.settings import get_settings

    if explicit := get_settings().pipeline_log:
        return explicit
    # DAGSTER_HOME is Dagster's own variable: where the instance (and so its logs) lives.
    return Path(os.environ.get("DAGSTER_HOME", ".dagster_home")) / "logs" / "pipeline.jsonl"


class PipelineLogHandler(logging.FileHandler):
    """Appends the pipeline's JSON lines to :func:`pipeline_log_path` (created on demand)."""

    def __init__(self, path: str | None = None) -> None:
        target = Path(path) if path else pipeline_log_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(target, mode="a", encoding="utf-8", delay=True)
        self.setFormatter(JsonFormatter())


def api_log_config(level: str = "info", fmt: str = "json") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict for uvicorn + the API: JSON lines on stderr.

    ``fmt="text"`` keeps human-readable lines (``TRENDING_LOG_FORMAT=text``). uvicorn's own
    access log is off: the API's access middleware logs structured fields instead.
    """
    formatter = (
        {"()": "trending_assets.lib.logs.JsonFormatter"}
        if fmt == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "serving": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "trending_assets": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
        },
    }
