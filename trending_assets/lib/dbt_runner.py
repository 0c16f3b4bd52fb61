"""dbt Core run in this process, through dbt's programmatic runner (``dbtRunner``).

A dbt command started as a process pays, every time, for what it does before it builds
anything: Python's start, dbt's imports, the project and profile, the adapter, and
reading the last parse state back. On 2 cores that was 5.7 s for a `dbt parse` of this
project with nothing to re-parse. Run in the step's process, the imports are already
there (dagster-dbt imports most of dbt), the first command in a process takes about
2.4 s to set up and parse, and each later one 0.6 s.

dbt's runner keeps global state (its flags, adapters and event logger), so this module
runs one command at a time per process; the pipeline's executors never run two steps in
one process at once. dbt also changes the working directory to the project's while it
runs; the caller's is put back.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

_ONE_AT_A_TIME = threading.Lock()


@dataclass
class DbtCommandResult:
    """What one dbt command did: its events as dbt's JSON log lines carry them
    (``{"info": {...}, "data": {...}}``), the messages of its error-level events, and the
    exception that stopped it, if one did."""

    success: bool
    events: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    exception: BaseException | None = None

    @property
    def interrupted(self) -> bool:
        """Stopped by something that is not an error of dbt's or ours (Ctrl-C, a run's
        termination): the caller re-raises it as it came."""
        return self.exception is not None and not isinstance(self.exception, Exception)


def run_dbt(args: Sequence[str]) -> DbtCommandResult:
    """Run ``dbt <args>`` in this process and return its events.

    ``args`` are what would follow ``dbt`` on a command line. The command fails when dbt
    says so, raises, or logs an error (as dagster-dbt judges a dbt process: exit status 0
    and no error-level event).
    """
    from dbt.cli.main import dbtRunner
    from dbt_common.events.event_manager_client import cleanup_event_logger
    from dbt_common.events.functions import msg_to_dict

    events: list[dict[str, Any]] = []
    errors: list[str] = []

    def collect(message) -> None:
        event = msg_to_dict(message)
        events.append(event)
        info = event.get("info", {})
        if info.get("level") == "error":
            errors.append(str(info.get("msg", "")))

    with _ONE_AT_A_TIME:
        cwd = os.getcwd()
        try:
            result = dbtRunner(callbacks=[collect]).invoke(list(args))
        finally:
            os.chdir(cwd)
            _let_go_of_the_database()
            # dbt's loggers hold the streams of this command (a redirected stdout, the
            # command's dbt.log); the next command sets up its own.
            with contextlib.suppress(Exception):
                cleanup_event_logger()
    return DbtCommandResult(
        success=bool(result.success) and not errors and result.exception is None,
        events=events,
        errors=errors,
        exception=result.exception,
    )


def _let_go_of_the_database() -> None:
    """Close the DuckDB database dbt-duckdb opened. It keeps one per process, open after
    the command, and DuckDB allows one writer per file: the step's own connection (its row
    counts) and every other process would find the warehouse taken."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter: nothing of DuckDB's kept
        return
    environment = DuckDBConnectionManager._ENV
    DuckDBConnectionManager._ENV = None
    if environment is not None:
        with contextlib.suppress(Exception):
            environment.close()
