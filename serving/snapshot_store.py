"""The published serving snapshot, opened read-only and swapped without a restart.

A background thread polls the ``CURRENT`` pointer. When it names a new version, the new
file is opened and checked *before* it becomes current, so a request never sees a
half-open snapshot. Each request leases the snapshot that is current when it starts and
reads through its own cursor; a replaced snapshot is closed once its last lease ends.

A bad pointer never stops the API. When ``CURRENT`` cannot be used (not UTF-8, empty, not
a version name, or naming a version that is missing, truncated or corrupt), the store keeps
serving what it serves; at start-up, with nothing served yet, it falls back to the newest
version on disk that opens cleanly. Either way it is *degraded*: :attr:`SnapshotStore.degraded`
says why and what is served (``/ready`` and ``/health`` report it), the problem is logged
as one line when it appears (repeated at most every ``LOG_REPEAT_S`` while it lasts, never
a traceback per poll), and the store recovers by itself once ``CURRENT`` is fixed.
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

from trending_assets.lib.snapshot import (
    CURRENT_FILENAME,
    VERSION_PATTERN,
    list_versions,
    snapshot_path,
)

logger = logging.getLogger(__name__)

REQUIRED_TABLES = frozenset({"titles", "title_genres", "genres", "title_details", "snapshot_info"})
RETRY_FAILED_AFTER_S = 30.0
LOG_REPEAT_S = 300.0  # a problem that lasts is logged again at most this often
MAX_POINTER_BYTES = 4096  # CURRENT holds one version name; anything longer is garbage


class PointerError(ValueError):
    """``CURRENT`` exists but does not name a usable version."""


def read_pointer(serving_dir: Path) -> str | None:
    """The version ``CURRENT`` names; None when nothing is published (no ``CURRENT``).

    Raises :class:`PointerError` with a one-line reason when the file exists but cannot be
    used: unreadable, not UTF-8, empty or not a version name. (``current_version`` in
    ``trending_assets.lib.snapshot`` raises on bytes that are not UTF-8 and reads garbage
    as "nothing published"; the API needs the difference.)
    """
    path = Path(serving_dir) / CURRENT_FILENAME
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_POINTER_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PointerError(f"CURRENT unreadable: {exc.strerror or exc}") from None
    if len(raw) > MAX_POINTER_BYTES:
        raise PointerError(f"CURRENT is over {MAX_POINTER_BYTES} bytes, not a version name")
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise PointerError(f"CURRENT is not UTF-8 text ({raw[:24]!r})") from None
    if not text:
        raise PointerError("CURRENT is empty")
    if not VERSION_PATTERN.match(text):
        raise PointerError(f"CURRENT does not name a version ({text[:60]!r})")
    return text


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
        # Per-version things loaded on first use (serving/snapshot_cache.py): vectors, model.
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
        # Why CURRENT's version is not what is served (None when it is, or when nothing
        # has been published); with a snapshot served, the store is degraded.
        self.problem: str | None = None
        self._current: OpenSnapshot | None = None
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._failed: dict[str, tuple[float, str]] = {}  # version -> (when, why it failed)
        self._logged: tuple[str, float] | None = None  # the last problem logged, and when
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.swaps = 0

    @property
    def current(self) -> OpenSnapshot | None:
        return self._current

    @property
    def last_error(self) -> str | None:
        """The problem, with what is served instead; None when all is well."""
        if self.problem is None:
            return None
        current = self._current
        served = f"serving {current.version}" if current else "no snapshot served"
        return f"{self.problem}; {served}"

    @property
    def degraded(self) -> str | None:
        """Set while a snapshot is served but ``CURRENT`` cannot be followed: why, and what
        is served instead (``/ready`` reports it)."""
        return self.last_error if self._current is not None else None

    def start(self) -> None:
        """Open the published snapshot (if any) and start following the pointer.

        Never raises for a bad pointer or snapshot: the API starts and says what is wrong.
        """
        try:
            self.refresh()
        except Exception as exc:  # noqa: BLE001 - reported, the API still starts
            self._report(f"snapshot refresh failed: {type(exc).__name__}: {exc}")
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
            except Exception as exc:  # the poller must outlive any one bad refresh
                self._report(f"snapshot refresh failed: {type(exc).__name__}: {exc}")

    def refresh(self, *, force: bool = False) -> bool:
        """Follow ``CURRENT``: switch to the version it names if it changed; True when the
        served snapshot changed.

        A version that cannot be opened is reported and the previous one keeps serving; it
        is retried every ``RETRY_FAILED_AFTER_S`` in case the failure was transient, or at
        once with ``force`` (the admin reload). With nothing served yet and ``CURRENT``
        unusable, the newest version on disk that opens is served instead (degraded).
        """
        with self._refresh_lock:
            if force:
                self._failed.clear()
            try:
                wanted = read_pointer(self.serving_dir)
            except PointerError as exc:
                wanted, problem = None, str(exc)
            else:
                problem = None
            current = self._current
            if wanted is not None:
                if current is not None and current.version == wanted:
                    self._set_problem(None)  # rolled back to what we serve, or fixed
                    return False
                opened, why = self._try_open(wanted)
                if opened is not None:
                    self._set_problem(None)
                    self._swap(opened)
                    return True
                problem = f"cannot open snapshot {wanted!r}: {why}"
            elif problem is None:
                # Nothing published (no CURRENT): keep serving whatever is served.
                self._set_problem(None)
                return False
            if current is None:
                fallback = self._newest_readable(exclude=wanted)
                if fallback is not None:
                    self._swap(fallback)
                    self._set_problem(problem)
                    return True
                problem += "; no version on disk opens"
            self._set_problem(problem)
            return False

    def _try_open(self, version: str) -> tuple[OpenSnapshot | None, str | None]:
        """Open ``version``, or (None, why) now and for ``RETRY_FAILED_AFTER_S`` after a
        failure (a truncated file is not re-read twice a second)."""
        failed = self._failed.get(version)
        if failed is not None and time.monotonic() - failed[0] < RETRY_FAILED_AFTER_S:
            return None, failed[1]
        try:
            opened = self._open(version)
        except Exception as exc:  # noqa: BLE001 - any failure to open is the same to us
            why = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300]
            now = time.monotonic()
            self._failed = {
                v: f for v, f in self._failed.items() if now - f[0] < RETRY_FAILED_AFTER_S
            }
            self._failed[version] = (now, why)
            return None, why
        self._failed.pop(version, None)
        return opened, None

    def _newest_readable(self, exclude: str | None) -> OpenSnapshot | None:
        """The newest version on disk that opens cleanly (versions sort by build time)."""
        try:
            versions = list_versions(self.serving_dir)
        except OSError as exc:
            self._report(f"cannot list snapshot versions: {exc}")
            return None
        for version in reversed(versions):
            if version == exclude:
                continue
            opened, _ = self._try_open(version)
            if opened is not None:
                return opened
        return None

    def _swap(self, opened: OpenSnapshot) -> None:
        self.swaps += 1
        with self._lock:
            old, self._current = self._current, opened
            to_close = self._retire(old)
        self._close(to_close)
        logger.info("serving snapshot %s (was %s)", opened.version, old.version if old else None)

    def _set_problem(self, problem: str | None) -> None:
        """Record the pointer problem; log it as one line when it appears or changes (and
        at most every ``LOG_REPEAT_S`` while it lasts), and once when it clears."""
        previous, self.problem = self.problem, problem
        if problem is None:
            if previous is not None:
                current = self._current
                logger.info(
                    "snapshot pointer recovered: serving %s", current.version if current else None
                )
                self._logged = None
            return
        self._report(self.last_error or problem)

    def _report(self, message: str) -> None:
        now = time.monotonic()
        if self._logged is not None:
            last_message, last_at = self._logged
            if last_message == message and now - last_at < LOG_REPEAT_S:
                return
        self._logged = (message, now)
        logger.error("%s", message)

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
