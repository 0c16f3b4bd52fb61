"""The local Dagster instance (`config/dagster.yaml`, `instance_class`): Dagster's own SQLite
storage under $DAGSTER_HOME, with the event log's database connections kept open.

Dagster's SQLite event log builds a new SQLAlchemy engine, opens a new SQLite connection
and compiles its SQL statements again for every event it records, then throws all of it
away (and for a check's event does it once more, to ask whether the checks table exists).
A run of the whole graph records about a thousand events (every asset and check is
planned, output and evaluated), and those costs were most of the 8 ms each event took on
two cores (`bench/event_log_benchmark.py`: 2.5-2.8 ms here). Here each database file keeps
one engine, with its connection pool and its statement cache, for as long as the process
lives:

- the same files, tables and write-ahead-log mode as Dagster's own (this is a subclass of
  it), so the UI, the daemon and runs of other processes read and write them as before;
- a pooled connection is idle between events, with no transaction open, so it holds no
  lock that another process would wait on;
- the writer of an event checkpoints the run's write-ahead log, so the run's database file
  changes with each event as it did when Dagster closed the connection: the UI follows a
  running run by watching that file;
- a process forked from one that holds engines starts its own (a SQLite connection must
  not cross a fork); the engines of the least recently used run databases are closed once
  more than a few are open, so a long-lived webserver does not keep every run's file open.

The deployment's PostgreSQL instance (`deploy/dagster.yaml`) is not touched.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import yaml
from dagster import DagsterInstance
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

# The index database and the few runs being written or watched: more are closed, oldest first.
MAX_OPEN_DATABASES = 6


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log, with one engine (and its pooled connection) per file."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        self._tables_found: set[str] = set()
        super().__init__(base_dir, inst_data=inst_data)

    def has_table(self, table_name: str) -> bool:
        """Whether the index has a table (asked again for every check's event, each time
        with a new engine): a table found stays found, as Dagster never drops one."""
        if table_name in self._tables_found:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables_found.add(table_name)
        return found

    def _engine(self, shard: str) -> Engine:
        """This process's engine for one database file (called with ``_db_lock`` held)."""
        if self._engines_pid != os.getpid():
            # Forked: the parent's connections are the parent's. Forget them, closing nothing.
            for engine in self._engines.values():
                engine.dispose(close=False)
            self._engines.clear()
            self._engines_pid = os.getpid()
        engine = self._engines.get(shard)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                pool_size=1,
                max_overflow=2,
            )
            self._engines[shard] = engine
            while len(self._engines) > MAX_OPEN_DATABASES:
                _, oldest = self._engines.popitem(last=False)
                oldest.dispose()
        else:
            self._engines.move_to_end(shard)
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:  # ty: ignore[invalid-method-override]
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def store_event(self, event: EventLogEntry) -> None:
        super().store_event(event)
        # The UI follows a running run by watching its database file (`watch`). In WAL mode a
        # commit only appends to the `-wal` file; the database file changes when the log is
        # checkpointed, which Dagster's storage got each time an event's connection closed.
        # With the connection kept open, the event's writer checkpoints it (PASSIVE: it
        # waits for no reader).
        with self._db_lock:
            engine = self._engine(event.run_id)
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def _dispose_engines(self) -> None:
        with self._db_lock:
            if self._engines_pid == os.getpid():
                for engine in self._engines.values():
                    engine.dispose()
            self._engines.clear()

    def wipe(self) -> None:
        self._dispose_engines()  # the files are deleted: no connection may outlive them
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._dispose_engines()


class PooledSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage under one folder, with the pooled event log."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage.dispose()
        self._event_log_storage = PooledSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(  # ty: ignore[invalid-method-override]
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, str]
    ) -> PooledSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)


class TrendingInstance(DagsterInstance):
    """A Dagster instance whose default storage is :class:`PooledSqliteStorage` in
    $DAGSTER_HOME. Everything else, and a ``storage`` that dagster.yaml sets, is Dagster's."""

    @classmethod
    def config_schema(cls) -> dict:
        return {}

    @classmethod
    def config_defaults(cls, base_dir: str) -> Mapping[str, ConfigurableClassData | None]:
        return {
            **InstanceRef.config_defaults(base_dir),
            "storage": ConfigurableClassData(
                __name__,
                PooledSqliteStorage.__name__,
                yaml.dump({"base_dir": base_dir}, default_flow_style=False),
            ),
        }
