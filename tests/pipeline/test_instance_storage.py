"""The local instance (config/dagster.yaml): Dagster's SQLite files in $DAGSTER_HOME, with the
event log's connections kept open (trending_assets/instance.py), on real runs."""

from __future__ import annotations

import multiprocessing
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef
from sqlalchemy import event
from sqlalchemy.pool import Pool

from trending_assets.instance import (
    MAX_OPEN_DATABASES,
    PooledSqliteEventLogStorage,
    TrendingInstance,
)
from trending_assets.settings import REPO_ROOT

CHECKS = 30


@dg.asset(check_specs=[dg.AssetCheckSpec(f"c{i}", asset="probe") for i in range(CHECKS)])
def probe():
    yield dg.Output(1)
    for i in range(CHECKS):
        yield dg.AssetCheckResult(check_name=f"c{i}", passed=True)


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO_ROOT / "config" / "dagster.yaml", home / "dagster.yaml")
    return home


def _dagsters_default_instance(home: Path, tmp_path: Path) -> dg.DagsterInstance:
    """An instance on ``home``'s files with Dagster's defaults (a dagster.yaml elsewhere,
    without our ``instance_class``)."""
    plain = tmp_path / "plain"
    plain.mkdir(exist_ok=True)
    (plain / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home), config_dir=str(plain)))


@contextmanager
def _sqlite_connections_opened() -> Iterator[Counter]:
    """Every SQLite connection any SQLAlchemy pool of this process opens meanwhile, by file."""
    opened: Counter = Counter()

    def count(dbapi_connection, _record) -> None:
        path = dbapi_connection.execute("pragma database_list").fetchone()[2]
        opened[Path(path).stem] += 1

    event.listen(Pool, "connect", count)
    try:
        yield opened
    finally:
        event.remove(Pool, "connect", count)


def test_the_local_instance_keeps_dagsters_files_and_one_connection_per_database(
    tmp_path: Path,
) -> None:
    home = _home(tmp_path)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance, TrendingInstance)
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        with _sqlite_connections_opened() as opened:
            result = dg.materialize([probe], instance=instance)
        assert result.success
        recorded = instance.all_logs(result.run_id)
        # ~100 events written, each to the run's file (an asset's or a check's also to the
        # index): a connection or two per file (one or two more while a file is set up), not
        # one or two per event as Dagster's own event log opens. (runs.db is the run
        # storage's: Dagster's, a connection per call, a few dozen calls per run.)
        assert len(recorded) > 3 * CHECKS
        assert opened[result.run_id] <= 2 and opened["index"] <= 3, opened
        checks = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("probe"), f"c{i}") for i in range(CHECKS)]
        )
        assert len(checks) == CHECKS
    # Dagster's own layout: the run's events and the index, where its default storage keeps them.
    assert (home / "history" / "runs" / f"{result.run_id}.db").is_file()
    assert (home / "history" / "runs" / "index.db").is_file()
    assert (home / "history" / "runs.db").is_file()


def test_a_home_written_by_dagsters_default_storage_reads_the_same(tmp_path: Path) -> None:
    """Existing homes keep their history both ways: the class only changes how files are opened."""
    home = _home(tmp_path)
    with _dagsters_default_instance(home, tmp_path) as instance:
        assert type(instance) is dg.DagsterInstance
        before = dg.materialize([probe], instance=instance)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance, TrendingInstance)
        assert len(instance.all_logs(before.run_id)) > 3 * CHECKS
        after = dg.materialize([probe], instance=instance)
        latest = instance.get_latest_materialization_event(dg.AssetKey("probe"))
        assert latest is not None and latest.run_id == after.run_id
    with _dagsters_default_instance(home, tmp_path) as instance:
        assert len(instance.all_logs(after.run_id)) > 3 * CHECKS
        assert instance.get_latest_materialization_event(dg.AssetKey("probe")).run_id == (
            after.run_id
        )


def test_only_a_few_run_databases_stay_open(tmp_path: Path) -> None:
    with dg.DagsterInstance.from_config(str(_home(tmp_path))) as instance:
        storage = instance.event_log_storage
        runs = [
            dg.materialize([probe], instance=instance).run_id for _ in range(MAX_OPEN_DATABASES + 2)
        ]
        assert len(storage._engines) <= MAX_OPEN_DATABASES
        assert runs[-1] in storage._engines and runs[0] not in storage._engines
        # A closed one opens again when it is read.
        assert len(instance.all_logs(runs[0])) > 3 * CHECKS


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork here")
def test_a_forked_process_opens_its_own_connections(tmp_path: Path) -> None:
    home = _home(tmp_path)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run_id = dg.materialize([probe], instance=instance).run_id
        storage = instance.event_log_storage
        parents = dict(storage._engines)
        assert run_id in parents
        context = multiprocessing.get_context("fork")
        queue = context.Queue()

        def child() -> None:
            # The inherited storage, used after the fork: new engines, the parent's left alone.
            run = instance.get_run_by_id(run_id)
            instance.report_engine_event("from the forked child", run)
            assert all(storage._engines[k] is not parents.get(k) for k in storage._engines)
            queue.put("ok")

        process = context.Process(target=child)
        process.start()
        process.join(timeout=60)
        assert process.exitcode == 0 and queue.get(timeout=5) == "ok"
        # The parent's pooled connections still work, and see what the child wrote.
        messages = [e.message for e in instance.all_logs(run_id)]
        assert "from the forked child" in messages
        instance.report_engine_event("from the parent", instance.get_run_by_id(run_id))
        assert storage._engines[run_id] is parents[run_id]


def test_a_watched_run_sees_each_event_as_it_is_written(tmp_path: Path) -> None:
    """The UI follows a running run through `watch` (a file watcher on the run's database):
    events must reach it while the writer's connection stays open."""
    with dg.DagsterInstance.from_config(str(_home(tmp_path))) as instance:
        run_id = dg.materialize([probe], instance=instance).run_id
        seen: list[str] = []
        instance.watch_event_logs(run_id, None, lambda entry, _cursor: seen.append(entry.message))
        run = instance.get_run_by_id(run_id)
        for i in range(3):
            instance.report_engine_event(f"live {i}", run)
            deadline = time.monotonic() + 10
            while f"live {i}" not in seen and time.monotonic() < deadline:
                time.sleep(0.05)
            assert f"live {i}" in seen, f"the watcher did not see event {i}"


def _write_events(home: str, run_id: str, count: int, results) -> None:
    try:
        with dg.DagsterInstance.from_config(home) as instance:
            run = instance.get_run_by_id(run_id)
            for i in range(count):
                instance.report_engine_event(f"writer event {i}", run)
        results.put("ok")
    except Exception as exc:  # reported to the test, which names it
        results.put(repr(exc))


def test_processes_writing_one_run_at_once_lose_and_fail_nothing(tmp_path: Path) -> None:
    """The multiprocess executor's steps write one run's events from several processes, each
    with its connections kept open and checkpointing after each event."""
    home = _home(tmp_path)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run_id = dg.materialize([probe], instance=instance).run_id
        before = len(instance.all_logs(run_id))
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        writers = [
            context.Process(target=_write_events, args=(str(home), run_id, 100, results))
            for _ in range(3)
        ]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(timeout=120)
        assert [results.get(timeout=5) for _ in writers] == ["ok"] * 3
        assert len(instance.all_logs(run_id)) - before == 300


def test_everything_but_the_event_log_is_dagsters_default(tmp_path: Path) -> None:
    home = _home(tmp_path)
    ours = dg.DagsterInstance.from_config(str(home))
    theirs = _dagsters_default_instance(home, tmp_path)
    with ours, theirs:

        def parts(instance: dg.DagsterInstance) -> list[str]:
            return [
                type(part).__name__
                for part in (
                    instance.run_storage,
                    instance.schedule_storage,
                    instance.run_coordinator,
                    instance.run_launcher,
                    instance.compute_log_manager,
                    instance.scheduler,
                )
            ]

        assert parts(ours) == parts(theirs)
        assert type(ours.event_log_storage).__mro__[1] is type(theirs.event_log_storage)
