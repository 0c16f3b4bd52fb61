"""The published serving snapshot, opened read-only and swapped without a restart.

A background thread polls the ``CURRENT`` pointer. When it names a new version, the new
file is opened and checked *before* it becomes current, so a request never sees a
half-open snapshot. Each request leases the snapshot that is current when it starts and
reads through its own cursor; a replaced snapshot is closed once its last lease ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from trending_assets.lib.snapshot import current_version, snapshot_path

logger = logging.getLogger(__name__)

REQUIRED_TABLES = frozenset({"titles", "title_genres", "genres", "title_details", "snapshot_info"})
RETRY_FAILED_AFTER_S = 30.0


class NoSnapshotError(RuntimeError):
    """No snapshot has been published (or none could be opened) yet."""


class OpenSnapshot:
    """One opened snapshot version and the number of requests reading it.

    A plain class rather than a dataclass: Litestar would try to convert injected
    dataclasses field by field.
    """

    def __init__(
        self, version: str, path: Path, created_at: datetime, connection: duckdb.DuckDBPyConnection
    ) -> None:
        self.version = version
        self.path = path
        self.created_at = created_at
        self.connection = connection
        self.leases = 0
        self.retired = False
        self.closed = False
        # duckdb's cursor() opens a connection on the shared database; serialise that step.
        self.cursor_lock = threading.Lock()
        # Per-version things loaded on first use (serving/extras.py): vectors, the model.
        self.extras: dict[str, object] = {}
        self.extras_lock = threading.Lock()

    def age_seconds(self, now: datetime | None = None) -> float:
        return ((now or datetime.now(UTC)) - self.created_at).total_seconds()


class SnapshotLease:
    """What one request reads through: a private cursor on one snapshot version."""

    __slots__ = ("cursor", "snapshot")

    def __init__(self, snapshot: OpenSnapshot, cursor: duckdb.DuckDBPyConnection) -> None:
        self.snapshot = snapshot
        self.cursor = cursor

    @property
    def version(self) -> str:
        return self.snapshot.version


class SnapshotStore:
    """Holds the current snapshot connection and follows the ``CURRENT`` pointer."""

    def __init__(self, serving_dir: Path, *, poll_interval_s: float = 0.5) -> None:
        self.serving_dir = Path(serving_dir)
        self.poll_interval_s = poll_interval_s
        self.last_error: str | None = None
        self._current: OpenSnapshot | None = None
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._failed_version: str | None = None
        self._failed_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.swaps = 0

    @property
    def current(self) -> OpenSnapshot | None:
        return self._current

    def start(self) -> None:
        """Open the published snapshot (if any) and start following the pointer."""
        self.refresh()
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, name="snapshot-store-poll", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and close the current snapshot once no request reads it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            old, self._current = self._current, None
            to_close = self._retire(old)
        self._close(to_close)

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_interval_s):
            try:
                self.refresh()
            except Exception:  # the poller must outlive any one bad refresh
                logger.exception("snapshot refresh failed")

    def refresh(self, *, force: bool = False) -> bool:
        """Switch to the version named by ``CURRENT`` if it changed; True when it switched.

        A version that cannot be opened is logged and the previous one keeps serving; it
        is retried every ``RETRY_FAILED_AFTER_S`` in case the failure was transient, or
        at once with ``force`` (the admin reload).
        """
        with self._refresh_lock:
            if force:
                self._failed_version = None
            wanted = current_version(self.serving_dir)
            current = self._current
            if current is not None and current.version == wanted:
                self._failed_version = self.last_error = None  # rolled back to what we serve
                return False
            if wanted is None:
                return False
            if (
                wanted == self._failed_version
                and time.monotonic() - self._failed_at < RETRY_FAILED_AFTER_S
            ):
                return False
            try:
                opened = self._open(wanted)
            except Exception as exc:
                self._failed_version, self._failed_at = wanted, time.monotonic()
                self.last_error = f"cannot open snapshot {wanted!r}: {exc}"
                logger.error("%s; still serving %s", self.last_error, current and current.version)
                return False
            self._failed_version = None
            self.last_error = None
            self.swaps += 1
            with self._lock:
                old, self._current = self._current, opened
                to_close = self._retire(old)
            self._close(to_close)
            logger.info(
                "serving snapshot %s (was %s)", opened.version, old.version if old else None
            )
            return True

    def _open(self, version: str) -> OpenSnapshot:
        path = snapshot_path(self.serving_dir, version)
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist")
        con = duckdb.connect(str(path), read_only=True)
        try:
            tables = {
                name for (name,) in con.execute("select table_name from duckdb_tables()").fetchall()
            }
            missing = REQUIRED_TABLES - tables
            if missing:
                raise ValueError(f"snapshot lacks tables: {', '.join(sorted(missing))}")
            row = con.execute("select version, created_at from snapshot_info").fetchone()
            if row is None or row[0] != version:
                raise ValueError(f"snapshot_info names {row and row[0]!r}, not {version!r}")
            # Touch the served tables once so a corrupt file fails here, not in a request.
            con.execute("select count(*) from titles").fetchone()
        except Exception:
            con.close()
            raise
        created_at = row[1]
        created_at = (
            created_at.replace(tzinfo=UTC)
            if created_at.tzinfo is None
            else created_at.astimezone(UTC)
        )
        return OpenSnapshot(version=version, path=path, created_at=created_at, connection=con)

    def acquire(self) -> SnapshotLease:
        """Lease the current snapshot with a private cursor; pair with :meth:`release`."""
        with self._lock:
            snap = self._current
            if snap is None:
                raise NoSnapshotError(self.last_error or "no snapshot has been published yet")
            snap.leases += 1
        try:
            with snap.cursor_lock:
                cursor = snap.connection.cursor()
        except Exception:
            self._release_snapshot(snap)
            raise
        return SnapshotLease(snapshot=snap, cursor=cursor)

    def release(self, lease: SnapshotLease) -> None:
        try:
            lease.cursor.close()
        finally:
            self._release_snapshot(lease.snapshot)

    @contextmanager
    def lease(self) -> Iterator[SnapshotLease]:
        held = self.acquire()
        try:
            yield held
        finally:
            self.release(held)

    def _release_snapshot(self, snap: OpenSnapshot) -> None:
        with self._lock:
            snap.leases -= 1
            to_close = snap if snap.retired and snap.leases == 0 and not snap.closed else None
            if to_close is not None:
                to_close.closed = True
        self._close(to_close)

    @staticmethod
    def _retire(snap: OpenSnapshot | None) -> OpenSnapshot | None:
        """Mark ``snap`` replaced (caller holds the lock); return it if it can close now."""
        if snap is None:
            return None
        snap.retired = True
        if snap.leases == 0 and not snap.closed:
            snap.closed = True
            return snap
        return None

    @staticmethod
    def _close(snap: OpenSnapshot | None) -> None:
        if snap is not None:
            snap.connection.close()
            logger.debug("closed snapshot %s", snap.version)
