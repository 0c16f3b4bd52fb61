"""Build, publish and prune the read-only serving snapshot.

The API never reads the warehouse: the pipeline copies what it serves into a fresh,
versioned DuckDB file and then flips the one-line ``CURRENT`` pointer. Building never
touches a published version, and publishing is a single ``os.replace``, so a crash at any
point leaves the previous snapshot readable.

Layout under ``serving_dir``::

    CURRENT                          one line: the published version
    versions/<version>/serving.duckdb
    versions/<version>/<attachment>/ directories handed to build_snapshot (the model)
    .staging/                        files being built (never read by the API)

What the API serves is built by dbt: every table in :data:`SERVED_TABLES` is a dbt model
of ``dbt_project/models/serving/`` (``serving_titles`` becomes the snapshot's ``titles``),
whose SQL, column types, tests and data dictionary live there. This module only copies
those tables, adds the frames it is handed (:data:`FRAME_TABLES`: data that lives in the
lake, such as title embeddings) and the indexes, and publishes. A new served field is a
column of a serving model (and its YAML), plus the API's msgspec schema; a new served table
is a serving model plus a :class:`ServedTable` here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

SNAPSHOT_FILENAME = "serving.duckdb"
CURRENT_FILENAME = "CURRENT"
VERSIONS_DIRNAME = "versions"
STAGING_DIRNAME = ".staging"
# 2: every table always present (empty when its stage has nothing yet), attachments,
# title_details. Still 2 since the tables are copies of dbt models: same tables and types.
SNAPSHOT_FORMAT = 2

# Versions are path segments and sort by time: "20250101T120000Z-1a2b3c4d".
VERSION_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,127}$")


class SnapshotError(RuntimeError):
    """A snapshot could not be built, published or read."""


class MissingWarehouseTableError(SnapshotError):
    """The warehouse lacks a served table (a dbt serving model that was not built)."""


@dataclass(frozen=True)
class ServedTable:
    """One table of the snapshot: a copy of the dbt model ``model`` of the warehouse.

    ``post_sql`` runs against the copy afterwards (``{table}`` is replaced by its qualified
    name), for indexes. Rows keep the model's order (the models sort what the API scans).
    """

    name: str
    model: str
    post_sql: tuple[str, ...] = ()


@dataclass(frozen=True)
class FrameTable:
    """A table of the snapshot read from a data frame handed to :func:`build_snapshot`.

    Only rows of served titles are kept, cast to ``columns`` (``(name, DuckDB type)``);
    without a frame the table is created empty and listed in ``skipped_tables``.
    """

    name: str
    columns: tuple[tuple[str, str], ...]
    post_sql: tuple[str, ...] = ()


@dataclass(frozen=True)
class SnapshotInfo:
    """What :func:`build_snapshot` wrote; mirrors the ``snapshot_info`` table."""

    version: str
    path: Path
    created_at: datetime
    source_warehouse: str
    content_hash: str
    row_counts: dict[str, int] = field(default_factory=dict)
    skipped_tables: dict[str, str] = field(default_factory=dict)
    attachments: dict[str, str] = field(default_factory=dict)


# The unique indexes serve point lookups (/titles/{id}); title_genres is stored sorted by
# genre (the model) and indexed both ways for the genre filters and similar titles.
SERVED_TABLES: tuple[ServedTable, ...] = (
    ServedTable(
        "titles",
        "serving_titles",
        ("create unique index titles_title_id on {table} (title_id)",),
    ),
    ServedTable(
        "title_genres",
        "serving_title_genres",
        (
            "create index title_genres_genre_id on {table} (genre_id)",
            "create index title_genres_title_id on {table} (title_id)",
        ),
    ),
    ServedTable(
        "genres",
        "serving_genres",
        ("create unique index genres_genre_id on {table} (genre_id)",),
    ),
    ServedTable(
        "title_predictions",
        "serving_title_predictions",
        ("create index title_predictions_title_id on {table} (title_id)",),
    ),
    ServedTable(
        "llm_enrichments",
        "serving_llm_enrichments",
        ("create unique index llm_enrichments_title_id on {table} (title_id)",),
    ),
    ServedTable(
        "trending_scores",
        "serving_trending_scores",
        ("create unique index trending_scores_title_id on {table} (title_id)",),
    ),
    ServedTable(
        "title_details",
        "serving_title_details",
        ("create unique index title_details_title_id on {table} (title_id)",),
    ),
)

# The text_embeddings asset's output (it lives in the lake, not in the warehouse).
FRAME_TABLES: tuple[FrameTable, ...] = (
    FrameTable("title_embeddings", (("title_id", "varchar"), ("embedding", "float[]"))),
)


def build_snapshot(
    warehouse_path: Path,
    serving_dir: Path,
    *,
    version: str | None = None,
    tables: Sequence[ServedTable] = SERVED_TABLES,
    frame_tables: Sequence[FrameTable] = FRAME_TABLES,
    frames: Mapping[str, pd.DataFrame] | None = None,
    attachments: Mapping[str, tuple[Path, str]] | None = None,
) -> SnapshotInfo:
    """Copy the served tables from the warehouse into a new, unpublished snapshot version.

    The warehouse is attached read-only. The file is built under ``.staging`` and moved
    into ``versions/<version>/`` only when complete, so a reader never sees a partial one.
    ``version`` defaults to a UTC timestamp plus a hash of the content.

    ``frames`` fill the :data:`FRAME_TABLES` by name (data that lives in the lake, such as
    title embeddings). ``attachments`` maps a name to ``(directory, fingerprint)``: the
    directory is copied to ``versions/<version>/<name>`` (the champion model, so the API
    predicts with exactly the model behind the snapshot's predictions); the fingerprint
    enters the content hash and ``snapshot_info``.

    Raises :class:`MissingWarehouseTableError`, naming them, when served tables (dbt
    serving models) are missing from the warehouse.
    """
    warehouse_path = Path(warehouse_path)
    serving_dir = Path(serving_dir)
    if not warehouse_path.is_file():
        raise SnapshotError(f"warehouse not found at {warehouse_path}")
    if version is not None:
        _check_version(version)
    frames = dict(frames or {})
    served_names = {t.name for t in tables}
    frame_names = {t.name for t in frame_tables}
    for name in frames:
        if name in served_names:
            raise SnapshotError(f"frame {name!r} would shadow the served table {name!r}")
        if name not in frame_names:
            raise SnapshotError(f"no snapshot table reads a frame named {name!r}")

    staging_dir = serving_dir / STAGING_DIRNAME
    staging_dir.mkdir(parents=True, exist_ok=True)
    staging_path = staging_dir / f"{uuid.uuid4().hex}.duckdb"
    staged_attachments = staging_path.with_suffix(".attachments")
    attachments = dict(attachments or {})
    for name in attachments:
        if not VERSION_PATTERN.match(name) or name == SNAPSHOT_FILENAME:
            raise ValueError(f"invalid attachment name {name!r}")
    created_at = datetime.now(UTC)
    try:
        row_counts, skipped, content_hash = _write_tables(
            warehouse_path, staging_path, tables, frame_tables, frames
        )
        if attachments:
            digest = hashlib.sha256(content_hash.encode())
            for name, (_, fingerprint) in sorted(attachments.items()):
                digest.update(f"|{name}:{fingerprint}".encode())
            content_hash = digest.hexdigest()
        auto_version = version is None
        if version is None:
            version = f"{created_at:%Y%m%dT%H%M%SZ}-{content_hash[:8]}"
        info = SnapshotInfo(
            version=version,
            path=serving_dir / VERSIONS_DIRNAME / version / SNAPSHOT_FILENAME,
            created_at=created_at,
            source_warehouse=str(warehouse_path.resolve()),
            content_hash=content_hash,
            row_counts=row_counts,
            skipped_tables=skipped,
            attachments={name: fp for name, (_, fp) in sorted(attachments.items())},
        )
        if info.path.exists():
            if auto_version:
                # Same content built within the same second: that version already is this build.
                return read_snapshot_info(info.path)
            raise FileExistsError(f"snapshot version {version!r} already exists at {info.path}")
        _write_info(staging_path, info)
        _fsync_file(staging_path)
        info.path.parent.mkdir(parents=True, exist_ok=True)
        # Attachments first: once the DuckDB file is in place, the version is complete.
        for name, (source_dir, _) in attachments.items():
            staged = staged_attachments / name
            shutil.copytree(source_dir, staged)
            target = info.path.parent / name
            shutil.rmtree(target, ignore_errors=True)
            os.replace(staged, target)
        os.replace(staging_path, info.path)
        _fsync_dir(info.path.parent)
        return info
    finally:
        for leftover in (staging_path, staging_path.with_name(staging_path.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        shutil.rmtree(staged_attachments, ignore_errors=True)


def _write_tables(
    warehouse_path: Path,
    staging_path: Path,
    tables: Sequence[ServedTable],
    frame_tables: Sequence[FrameTable],
    frames: Mapping[str, pd.DataFrame],
) -> tuple[dict[str, int], dict[str, str], str]:
    """Create every table in the staging file; return row counts, skips and a content hash."""
    con = duckdb.connect()
    try:
        con.execute("attach ? as warehouse (read_only)", [str(warehouse_path)])
        con.execute("attach ? as snapshot", [str(staging_path)])
        available = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_catalog = 'warehouse' and table_schema = 'main'"
            ).fetchall()
        }
        missing = [t for t in tables if t.model not in available]
        if missing:
            detail = ", ".join(f"{t.model} (for {t.name})" for t in missing)
            raise MissingWarehouseTableError(
                f"warehouse {warehouse_path} lacks the served tables {detail}. Build the dbt "
                "serving models first (the warehouse_dbt_serving step; "
                "dbt build --select path:models/serving)."
            )

        row_counts: dict[str, int] = {}
        skipped: dict[str, str] = {}
        digest = hashlib.sha256(f"format={SNAPSHOT_FORMAT}".encode())

        def finish(name: str, post_sql: Sequence[str]) -> None:
            qualified = f'snapshot.main."{name}"'
            for statement in post_sql:
                con.execute(statement.format(table=qualified))
            ((count, row_hash),) = con.execute(
                f"select count(*), coalesce(sum(hash(t)::hugeint), 0)::varchar from {qualified} t"
            ).fetchall()
            row_counts[name] = int(count)
            digest.update(f"|{name}:{count}:{row_hash}".encode())

        for table in tables:
            con.execute(
                f'create table snapshot.main."{table.name}" as '
                f'select * from warehouse.main."{table.model}"'
            )
            finish(table.name, table.post_sql)
        for table in frame_tables:
            qualified = f'snapshot.main."{table.name}"'
            frame = frames.get(table.name)
            if frame is None:
                columns = ", ".join(f'"{name}" {kind}' for name, kind in table.columns)
                con.execute(f"create table {qualified} ({columns})")
                skipped[table.name] = "no frame handed to build_snapshot"
                continue
            con.register("frame", frame)
            casts = ", ".join(f'f."{name}"::{kind} as "{name}"' for name, kind in table.columns)
            con.execute(
                f"create table {qualified} as select {casts} from frame as f "
                'where f.title_id in (select title_id from snapshot.main."titles") '
                "order by f.title_id"
            )
            con.unregister("frame")
            finish(table.name, table.post_sql)
        con.execute("checkpoint snapshot")
        return row_counts, skipped, digest.hexdigest()
    finally:
        con.close()


def _write_info(staging_path: Path, info: SnapshotInfo) -> None:
    con = duckdb.connect(str(staging_path))
    try:
        con.execute(
            """
            create table snapshot_info (
                version varchar not null,
                created_at timestamptz not null,
                source_warehouse varchar not null,
                content_hash varchar not null,
                format integer not null,
                row_counts json not null,
                skipped_tables json not null,
                attachments json not null
            )
            """
        )
        con.execute(
            "insert into snapshot_info values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                info.version,
                info.created_at,
                info.source_warehouse,
                info.content_hash,
                SNAPSHOT_FORMAT,
                json.dumps(info.row_counts, sort_keys=True),
                json.dumps(info.skipped_tables, sort_keys=True),
                json.dumps(info.attachments, sort_keys=True),
            ],
        )
        con.execute("checkpoint")
    finally:
        con.close()


def read_snapshot_info(path: Path) -> SnapshotInfo:
    """Read the ``snapshot_info`` row of a snapshot file (opened read-only)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute(
            "select version, created_at, source_warehouse, content_hash, row_counts, "
            "skipped_tables, attachments from snapshot_info"
        ).fetchone()
    except duckdb.Error as exc:
        raise SnapshotError(f"{path} is not a readable snapshot: {exc}") from exc
    finally:
        con.close()
    if row is None:
        raise SnapshotError(f"{path} has an empty snapshot_info table")
    version, created_at, source_warehouse, content_hash, row_counts, skipped, attached = row
    return SnapshotInfo(
        version=version,
        path=Path(path),
        created_at=created_at.astimezone(UTC),
        source_warehouse=source_warehouse,
        content_hash=content_hash,
        row_counts=json.loads(row_counts),
        skipped_tables=json.loads(skipped),
        attachments=json.loads(attached),
    )


def snapshot_path(serving_dir: Path, version: str) -> Path:
    """Where the DuckDB file of ``version`` lives."""
    _check_version(version)
    return Path(serving_dir) / VERSIONS_DIRNAME / version / SNAPSHOT_FILENAME


def publish_snapshot(serving_dir: Path, version: str) -> None:
    """Point ``CURRENT`` at ``version`` with one atomic rename.

    The new pointer is written and fsynced under a temporary name in the same directory
    first, so ``CURRENT`` always holds either the old or the new version, never a mix.
    """
    serving_dir = Path(serving_dir)
    target = snapshot_path(serving_dir, version)
    if not target.is_file():
        raise SnapshotError(f"cannot publish {version!r}: {target} does not exist")
    current = serving_dir / CURRENT_FILENAME
    tmp = serving_dir / f".{CURRENT_FILENAME}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(version + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, current)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    _fsync_dir(serving_dir)


def current_version(serving_dir: Path) -> str | None:
    """The published version, or None when nothing has been published yet."""
    try:
        text = (Path(serving_dir) / CURRENT_FILENAME).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return text if text and VERSION_PATTERN.match(text) else None


def list_versions(serving_dir: Path) -> list[str]:
    """Complete snapshot versions on disk, oldest first (versions sort by their timestamp)."""
    versions_dir = Path(serving_dir) / VERSIONS_DIRNAME
    if not versions_dir.is_dir():
        return []
    return sorted(
        entry.name
        for entry in versions_dir.iterdir()
        if VERSION_PATTERN.match(entry.name) and (entry / SNAPSHOT_FILENAME).is_file()
    )


def prune_snapshots(serving_dir: Path, keep: int = 3, *, stale_after_s: float = 3600) -> list[str]:
    """Delete all but the ``keep`` newest versions, never the published one.

    Readers that still have a deleted file open keep reading it (POSIX unlink semantics),
    so pruning does not break requests in flight. Staging files older than
    ``stale_after_s`` (left by killed builds) are removed too. Returns the pruned versions.
    """
    if keep < 1:
        raise ValueError("keep must be at least 1")
    serving_dir = Path(serving_dir)
    in_use = current_version(serving_dir)
    versions = list_versions(serving_dir)
    retained = set(versions[-keep:])
    if in_use is not None:
        retained.add(in_use)
    pruned = [v for v in versions if v not in retained]
    for version in pruned:
        shutil.rmtree(serving_dir / VERSIONS_DIRNAME / version, ignore_errors=True)

    staging_dir = serving_dir / STAGING_DIRNAME
    if staging_dir.is_dir():
        cutoff = time.time() - stale_after_s
        for leftover in staging_dir.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if leftover.stat().st_mtime < cutoff:
                    if leftover.is_dir():
                        shutil.rmtree(leftover, ignore_errors=True)
                    else:
                        leftover.unlink()
    return pruned


def _check_version(version: str) -> None:
    if not VERSION_PATTERN.match(version):
        raise ValueError(
            f"invalid snapshot version {version!r}: use letters, digits, '.', '_', '-'"
        )


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable; a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
