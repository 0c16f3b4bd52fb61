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
import gc
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.pool import ThreadPool
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
        termination), also when dbt's clean-up raised another error while handling it."""
        return _interruption(self.exception) is not None

    @property
    def interruption(self) -> BaseException | None:
        """The interruption to re-raise as it came, if the command was interrupted."""
        return _interruption(self.exception)


def _interruption(error: BaseException | None) -> BaseException | None:
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if not isinstance(error, Exception):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


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
        threads_before = set(threading.enumerate())
        try:
            result = dbtRunner(callbacks=[collect]).invoke(list(args))
        finally:
            os.chdir(cwd)
            # An interruption (Ctrl-C, a run's termination) reaches dbt's main thread while
            # its worker threads still run queries: stop them, as a dbt process does on
            # SIGINT, and let them end before the database is closed under them (a query
            # still running when the process exits aborts it).
            _cancel_open_queries()
            _wait_for_workers(set(threading.enumerate()) - threads_before)
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


def _cancel_open_queries() -> None:
    """Cancel the queries dbt's adapters still have open (none after a command that ran
    to its end; dbt's own clean-up closed them)."""
    from dbt.adapters.factory import FACTORY

    for adapter in list(FACTORY.adapters.values()):
        with contextlib.suppress(Exception):
            adapter.cancel_open_connections()


def _wait_for_workers(threads: set[threading.Thread], timeout_s: float = 30.0) -> None:
    """Join the worker threads of dbt's thread pool that outlived the command (only an
    interrupted command leaves any), each for at most ``timeout_s``.

    Such a worker is most often idle, waiting for its pool's next task: its query was
    cancelled, and its pool was never told to stop (dbt ends its pool on a
    ``KeyboardInterrupt`` only; Dagster interrupts a step with an error of its own). dbt's
    pools are ``multiprocessing.pool.ThreadPool``s, so the ones these workers belong to are
    found among the live objects and terminated, as dbt ends a pool: an idle worker then
    ends at once, and only a query still ending is waited for."""
    workers = [t for t in threads if t.name.endswith("(worker)") and t.is_alive()]
    if not workers:
        return
    for pool in [obj for obj in gc.get_objects() if isinstance(obj, ThreadPool)]:
        if any(worker in getattr(pool, "_pool", ()) for worker in workers):
            with contextlib.suppress(Exception):
                pool.terminate()
    for worker in workers:
        worker.join(timeout_s)


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
