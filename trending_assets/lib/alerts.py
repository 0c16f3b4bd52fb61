"""Run-failure alerts: a structured JSON-lines log, and a webhook POST when one is configured."""

from __future__ import annotations

import json
import os
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def record_failure(
    event: dict[str, Any], *, log_path: Path, webhook_url: str | None = None, timeout_s: float = 5.0
) -> dict[str, Any]:
    """Append ``event`` (plus a UTC timestamp) to ``log_path``; POST it to ``webhook_url``.

    A webhook that fails is recorded in the returned dict and in the log line, never raised:
    an alert must not fail the sensor that raises it, and the log line is written first.
    """
    entry = {"at": datetime.now(UTC).isoformat(), **event}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, default=str) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    result = {"logged": str(log_path), "webhook": None}
    if webhook_url:
        request = urllib.request.Request(
            webhook_url,
            data=json.dumps(entry, default=str).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                result["webhook"] = f"HTTP {response.status}"
        except OSError as exc:  # URLError, HTTPError and timeouts are all OSErrors
            result["webhook"] = f"failed: {exc.__class__.__name__}"
    return result
