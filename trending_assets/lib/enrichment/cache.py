"""The enrichment cache: (provider, model, prompt version, schema version, input hash) -> result.

Only validated results are stored, so a quarantined or failed title is tried again on the
next run, while an unchanged title costs nothing. A new prompt or schema version changes
every key, so everything is enriched again (old rows stay until ``prune``).

Held in memory as a dict; persisted as a pandas frame (``to_frame``/``from_frame``) or a
Parquet file (``load``/``save``, atomic: temporary file, fsync, then rename).

Paid answers survive a kill. :func:`open_cache` (what the assets use) persists the cache
*while* a run fills it, not only at its end:

- on a local lake, every answer is appended to a journal beside the snapshot
  (``<file>.journal.jsonl``, one JSON line per answer, written through at once and fsynced
  every ``PERSIST_EVERY`` answers); a run killed even with SIGKILL keeps every answer it
  got, and the next open replays the journal into the snapshot (each line validated; a
  torn last line is dropped);
- on S3 (no appends) the whole cache is rewritten, atomically, every ``CHECKPOINT_EVERY``
  answers;
- on the way out (normal end, an exception, ``KeyboardInterrupt``, SIGTERM) the cache is
  compacted into the snapshot in a ``finally`` block.

Everything is validated on read: a row or journal line whose key fields are not strings or
whose result does not validate against the current schema is dropped (and so enriched
again) with a warning naming the file; a snapshot that does not read as Parquet or lacks
the columns is moved aside (``<file>.corrupt-<timestamp>``) and the run goes on.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, NamedTuple

import pandas as pd

from trending_assets.lib.enrichment.schema import SCHEMA_VERSION, Enrichment
from trending_assets.lib.integrity import local_path, move_aside_key, move_aside_path

log = logging.getLogger(__name__)

CACHE_COLUMNS = [
    "provider", "model", "prompt_version", "schema_version", "input_hash",
    "title_id", "result_json", "created_at",
]  # fmt: skip
KEY_COLUMNS = ("provider", "model", "prompt_version", "schema_version", "input_hash")
# Every answer is written to the local journal as it arrives (so a killed process loses
# none); the journal is fsynced every PERSIST_EVERY answers (so a power cut loses fewer
# than that). 1 for paid answers: an fsync (~3 ms) costs far less than an LLM call.
PERSIST_EVERY = 1
# Answers between two full rewrites of a cache that lives on S3 (no appends there).
CHECKPOINT_EVERY = 50
JOURNAL_SUFFIX = ".journal.jsonl"


class CacheKey(NamedTuple):
    provider: str
    model: str
    prompt_version: str
    schema_version: str
    input_hash: str


def _row_problem(values: dict[str, Any]) -> str | None:
    """Why one stored row (frame row or journal line) cannot be used, or None."""
    for column in (*KEY_COLUMNS, "title_id"):
        value = values.get(column)
        if not isinstance(value, str) or not value:
            return f"{column} missing or not a string"
    result = values.get("result_json")
    if not isinstance(result, str):
        return "result_json missing or not a string"
    if values["schema_version"] == SCHEMA_VERSION:
        try:
            Enrichment.model_validate_json(result)
        except ValueError:
            return "result does not validate against the schema"
    return None


def _created(value: Any) -> datetime:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        stamp = pd.NaT
    if pd.isna(stamp):
        return datetime.now(UTC)
    return stamp.tz_localize(UTC).to_pydatetime() if stamp.tz is None else stamp.to_pydatetime()


class EnrichmentCache:
    def __init__(self) -> None:
        self._rows: dict[CacheKey, tuple[str, str, datetime]] = {}
        self.hits = 0
        self.misses = 0
        self.source = "enrichment cache"  # named in warnings: the file, when there is one
        self.problems: list[str] = []  # what was dropped or moved aside on load, one line each
        self._lock = threading.RLock()
        self._journal: IO[bytes] | None = None
        self._path: Path | None = None
        self._journal_path: Path | None = None
        self._persist_every = PERSIST_EVERY
        self._unsynced = 0
        self._checkpoint: Callable[[EnrichmentCache], None] | None = None
        self._checkpoint_every = CHECKPOINT_EVERY
        self._since_checkpoint = 0

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def _problem(self, line: str) -> None:
        self.problems.append(line)
        log.warning("%s", line)

    def get(self, key: CacheKey) -> Enrichment | None:
        row = self._rows.get(key)
        if row is None:
            self.misses += 1
            return None
        try:
            value = Enrichment.model_validate_json(row[1])
        except ValueError:  # a row written under other rules: dropped, enriched again
            with self._lock:
                self._rows.pop(key, None)
            self._problem(f"{self.source}: dropped an entry for {row[0]} that fails the schema")
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, key: CacheKey, title_id: str, enrichment: Enrichment) -> None:
        """Store a validated result; persisted at once when a journal or checkpoint is set."""
        created = datetime.now(UTC)
        result_json = enrichment.model_dump_json()
        with self._lock:
            self._rows[key] = (title_id, result_json, created)
            if self._journal is None and self._journal_path is not None:  # opened on first use
                self._journal_path.parent.mkdir(parents=True, exist_ok=True)
                self._journal = open(self._journal_path, "ab")  # noqa: SIM115 - see close()
            if self._journal is not None:
                line = {**key._asdict(), "title_id": title_id, "result_json": result_json,
                        "created_at": created.isoformat()}  # fmt: skip
                self._journal.write(json.dumps(line, ensure_ascii=False).encode() + b"\n")
                self._journal.flush()  # in the OS now: survives the process being killed
                self._unsynced += 1
                if self._unsynced >= self._persist_every:
                    self.sync()
            if self._checkpoint is not None:
                self._since_checkpoint += 1
                if self._since_checkpoint >= self._checkpoint_every:
                    self._checkpoint(self)
                    self._since_checkpoint = 0

    def sync(self) -> None:
        """Flush the journal to disk (write, then fsync)."""
        with self._lock:
            if self._journal is not None:
                self._journal.flush()
                os.fsync(self._journal.fileno())
                self._unsynced = 0

    def prune(self, keep: Iterable[CacheKey]) -> int:
        """Drop every row whose key is not in ``keep``; returns how many were dropped."""
        keep_set = set(keep)
        with self._lock:
            stale = [key for key in self._rows if key not in keep_set]
            for key in stale:
                del self._rows[key]
        return len(stale)

    def to_frame(self) -> pd.DataFrame:
        with self._lock:
            rows = [
                {**key._asdict(), "title_id": t, "result_json": j, "created_at": c}
                for key, (t, j, c) in self._rows.items()
            ]
        return pd.DataFrame(rows, columns=CACHE_COLUMNS)

    def _add_rows(self, rows: Iterable[dict[str, Any]], where: str) -> int:
        """Validate and add rows; returns how many were dropped (warned once, naming ``where``)."""
        dropped: dict[str, int] = {}
        for values in rows:
            problem = _row_problem(values)
            if problem is not None:
                dropped[problem] = dropped.get(problem, 0) + 1
                continue
            key = CacheKey(*(values[c] for c in KEY_COLUMNS))
            self._rows[key] = (values["title_id"], values["result_json"],
                               _created(values.get("created_at")))  # fmt: skip
        if dropped:
            detail = ", ".join(f"{n}: {p}" for p, n in sorted(dropped.items()))
            self._problem(
                f"{where}: dropped {sum(dropped.values())} corrupt entr(y/ies) ({detail}); "
                "those titles are enriched again"
            )
        return sum(dropped.values())

    @classmethod
    def from_frame(cls, frame: pd.DataFrame | None, source: str = "cache frame") -> EnrichmentCache:
        """A cache from a frame; rows that fail validation are dropped with a warning."""
        cache = cls()
        cache.source = source
        if frame is None or not len(frame):
            return cache
        missing = set(CACHE_COLUMNS) - set(frame.columns)
        if missing:
            raise ValueError(f"{source}: cache frame lacks columns {sorted(missing)}")
        records = frame[CACHE_COLUMNS].to_dict(orient="records")
        cache._add_rows(records, source)
        return cache

    @classmethod
    def from_bytes(cls, data: bytes | None, source: str) -> tuple[EnrichmentCache, str | None]:
        """A cache from Parquet bytes, and why the bytes are unusable as a whole (or None)."""
        if data is None:
            return cls.from_frame(None, source), None
        try:
            frame = pd.read_parquet(io.BytesIO(data))
        except Exception as exc:  # noqa: BLE001 - any unreadable file is corrupt
            return cls.from_frame(None, source), f"unreadable Parquet: {type(exc).__name__}"
        missing = set(CACHE_COLUMNS) - set(frame.columns)
        if missing:
            return cls.from_frame(None, source), f"lacks columns {sorted(missing)}"
        return cls.from_frame(frame, source), None

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            self.to_frame().to_parquet(tmp, index=False)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EnrichmentCache:
        """The cache at ``path`` (validated; a corrupt file is moved aside), plus its journal.

        An empty cache when the file does not exist yet.
        """
        path = Path(path)
        data = path.read_bytes() if path.exists() else None
        cache, problem = cls.from_bytes(data, str(path))
        if problem is not None:
            move_aside_path(path, problem)
            cache._problem(f"{path} is corrupt ({problem}): moved aside, starting empty")
        cache._replay(journal_path(path))
        return cache

    # -- incremental persistence ------------------------------------------------------

    def _replay(self, journal: Path) -> int:
        """Add the valid lines of ``journal``; returns how many lines were dropped."""
        if not journal.exists():
            return 0
        records: list[dict[str, Any]] = []
        bad = 0
        for raw in journal.read_bytes().splitlines():
            if not raw.strip():
                continue
            try:
                value = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                bad += 1  # a torn last line (killed mid-write) or garbage
                continue
            if isinstance(value, dict):
                records.append(value)
            else:
                bad += 1
        if bad:
            self._problem(f"{journal}: dropped {bad} unparsable line(s)")
        return bad + self._add_rows(records, str(journal))

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], *, persist_every: int = PERSIST_EVERY
    ) -> EnrichmentCache:
        """The cache at ``path`` with its journal replayed and compacted, journaling from now.

        Every ``put`` appends a line to ``<path>.journal.jsonl``, synced every
        ``persist_every`` answers; ``close`` writes the snapshot and removes the journal.
        """
        path = Path(path)
        cache = cls.load(path)
        journal = journal_path(path)
        if journal.exists():  # answers of a run that did not finish: into the snapshot now
            cache.save(path)
            journal.unlink()
        cache._path = path
        cache._journal_path = journal
        cache._persist_every = max(1, int(persist_every))
        return cache

    def set_checkpoint(
        self, checkpoint: Callable[[EnrichmentCache], None], every: int = CHECKPOINT_EVERY
    ) -> None:
        """Call ``checkpoint(cache)`` every ``every`` answers (a cache without appends)."""
        self._checkpoint = checkpoint
        self._checkpoint_every = max(1, int(every))

    def close(self) -> None:
        """Compact: write the snapshot (atomically), then drop the journal. Idempotent."""
        with self._lock:
            if self._journal_path is not None:
                if self._journal is not None:
                    self.sync()
                    self._journal.close()
                    self._journal = None
                assert self._path is not None
                self.save(self._path)
                self._journal_path.unlink(missing_ok=True)
                self._journal_path = None
            if self._checkpoint is not None:
                self._checkpoint(self)
                self._checkpoint = None

    def stats(self) -> dict[str, int]:
        return {"rows": len(self), "hits": self.hits, "misses": self.misses}


def journal_path(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    return path.with_name(path.name + JOURNAL_SUFFIX)


def load_from_lake(lake: Any, key: str) -> EnrichmentCache:
    """The cache at ``key`` in a lake, validated; a corrupt object is moved aside."""
    path = local_path(lake, key)
    if path is not None:
        return EnrichmentCache.load(path)
    data = lake.read_bytes(key) if lake.exists(key) else None
    cache, problem = EnrichmentCache.from_bytes(data, lake.uri(key))
    if problem is not None:
        move_aside_key(lake, key, problem)
        cache._problem(f"{lake.uri(key)} is corrupt ({problem}): moved aside, starting empty")
    return cache


@contextlib.contextmanager
def _sigterm_raises_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises ``KeyboardInterrupt`` (so ``finally`` blocks run).

    Only in the main thread, and only where SIGTERM still has its default action (a
    handler someone else installed, such as Dagster's, is left alone).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            yield
            return
    except (AttributeError, ValueError):  # pragma: no cover - no SIGTERM here
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def open_cache(
    lake: Any,
    key: str,
    *,
    persist_every: int = PERSIST_EVERY,
    checkpoint_every: int = CHECKPOINT_EVERY,
) -> Iterator[EnrichmentCache]:
    """The cache at ``key`` in ``lake``, persisted while in use, compacted on the way out.

    Local lake: a journal synced every ``persist_every`` answers (survives SIGKILL). S3: the
    whole cache rewritten every ``checkpoint_every`` answers. Either way the cache is
    written in a ``finally`` block, so an exception, Ctrl-C or SIGTERM keeps every answer.
    """
    from trending_assets.lib.lake import write_parquet

    path = local_path(lake, key)
    if path is not None:
        cache = EnrichmentCache.open(path, persist_every=persist_every)
    else:
        cache = load_from_lake(lake, key)
        cache.set_checkpoint(lambda c: write_parquet(lake, key, c.to_frame()), checkpoint_every)
    with _sigterm_raises_interrupt():
        try:
            yield cache
        finally:
            cache.close()
