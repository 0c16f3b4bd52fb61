"""Build, publish and prune the read-only serving snapshot.

The API never reads the warehouse: the pipeline copies what it serves into a fresh,
versioned DuckDB file and then flips the one-line ``CURRENT`` pointer. Building never
touches a published version, and publishing is a single ``os.replace``, so a crash at any
point leaves the previous snapshot readable.

Layout under ``serving_dir``::

    CURRENT                          one line: the published version
    versions/<version>/serving.duckdb
    .staging/                        files being built (never read by the API)

Tables are declared in :data:`SNAPSHOT_TABLES` as (name, select over the warehouse)
pairs; a later stage adds its table by appending a :class:`SnapshotTable`, marked
``required=False`` until that stage is part of every run.
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
SNAPSHOT_FORMAT = 2  # 2: optional tables always present, attachments, title_details

# Versions are path segments and sort by time: "20250101T120000Z-1a2b3c4d".
VERSION_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,127}$")


class SnapshotError(RuntimeError):
    """A snapshot could not be built, published or read."""


class MissingWarehouseTableError(SnapshotError):
    """A required snapshot table reads a relation the warehouse does not have yet."""


@dataclass(frozen=True)
class SnapshotTable:
    """One table of the snapshot.

    ``select_sql`` runs with the warehouse as the default catalog, so it names warehouse
    relations unqualified (``titles``, ``title_genres``). ``reads`` lists those relations
    so a missing one is reported by name instead of as a SQL error. ``post_sql`` runs
    against the new table afterwards (``{table}`` is replaced by its qualified name),
    for indexes.
    """

    name: str
    select_sql: str
    reads: tuple[str, ...]
    required: bool = True
    post_sql: tuple[str, ...] = ()
    # For an optional table: its columns, so that when it is skipped it is still created
    # (empty) and readers (the API, later tables of the snapshot) can always join it.
    empty_columns: str | None = None


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


TITLES_SQL = """
with genre_lists as (
    select
        title_id,
        list(genre_name order by genre_name, genre_id) as genres,
        list(genre_id order by genre_name, genre_id) as genre_ids
    from title_genres
    group by title_id
)
select
    t.title_id::varchar as title_id,
    t.title::varchar as title,
    t.year::integer as year,
    t.title_type::varchar as title_type,
    t.plot::varchar as plot,
    t.original_language::varchar as original_language,
    t.release_date::date as release_date,
    coalesce(t.sources, [])::varchar[] as sources,
    coalesce(g.genres, [])::varchar[] as genres,
    coalesce(g.genre_ids, [])::varchar[] as genre_ids,
    coalesce(s.review_count, 0)::bigint as review_count,
    coalesce(s.rated_review_count, 0)::bigint as rated_review_count,
    round(s.mean_rating, 2)::double as mean_rating,
    s.first_review_date::date as first_review_date,
    s.last_review_date::date as last_review_date,
    coalesce(s.reviews_last_7d, 0)::bigint as reviews_last_7d,
    coalesce(s.reviews_last_30d, 0)::bigint as reviews_last_30d,
    e.vibe_score::integer as vibe_score,
    ts.rank::integer as trending_rank,
    ts.score::double as trending_score
from titles as t
left join genre_lists as g on g.title_id = t.title_id
left join title_review_stats as s on s.title_id = t.title_id
-- Tables of the snapshot itself, built before this one (empty when upstream is missing).
left join snapshot.main.llm_enrichments as e on e.title_id = t.title_id
left join snapshot.main.trending_scores as ts on ts.title_id = t.title_id
order by t.title, t.title_id
"""

TITLE_GENRES_SQL = """
select
    tg.title_id::varchar as title_id,
    tg.genre_id::varchar as genre_id,
    tg.genre_name::varchar as genre_name
from title_genres as tg
where tg.title_id in (select title_id from titles)
order by tg.genre_id, tg.title_id
"""

GENRES_SQL = """
select
    g.genre_id::varchar as genre_id,
    g.genre_name::varchar as genre_name,
    count(distinct tg.title_id)::bigint as title_count
from genres as g
left join title_genres as tg
    on tg.genre_id = g.genre_id
    and tg.title_id in (select title_id from titles)
group by g.genre_id, g.genre_name
order by g.genre_id
"""

TITLE_PREDICTIONS_SQL = """
select
    p.title_id::varchar as title_id,
    p.genre_id::varchar as genre_id,
    coalesce(p.genre_name, p.genre_id)::varchar as genre_name,
    p.probability::double as probability,
    p.predicted::boolean as predicted,
    p.model_name::varchar as model_name,
    p.model_version::varchar as model_version
from title_predictions as p
where p.title_id in (select title_id from titles)
order by p.title_id, p.probability desc, p.genre_id
"""

LLM_ENRICHMENTS_SQL = """
select
    e.title_id::varchar as title_id,
    e.provider::varchar as provider,
    e.model::varchar as model,
    e.prompt_version::varchar as prompt_version,
    e.schema_version::varchar as schema_version,
    e.genres::varchar[] as genres,
    e.summary::varchar as summary,
    e.vibe_score::integer as vibe_score,
    e.vibe_tags::varchar[] as vibe_tags
from llm_enrichments as e
where e.title_id in (select title_id from titles)
order by e.title_id
"""

TRENDING_SCORES_SQL = """
select
    ts.title_id::varchar as title_id,
    ts.rank::integer as rank,
    ts.score::double as score,
    ts.recent_reviews::bigint as recent_reviews,
    ts.history_reviews::bigint as history_reviews,
    ts.momentum::double as momentum,
    ts.relative_volume::double as relative_volume,
    ts.vibe::double as vibe,
    ts.as_of::date as as_of
from trending_scores as ts
where ts.title_id in (select title_id from titles)
order by ts.rank nulls last, ts.title_id
"""

# Read from a frame handed to build_snapshot (the text_embeddings asset's output).
TITLE_EMBEDDINGS_SQL = """
select e.title_id::varchar as title_id, e.embedding::float[] as embedding
from title_embeddings as e
where e.title_id in (select title_id from titles)
order by e.title_id
"""

# One JSON document per title, shaped like the API's GET /titles/{id} answer, assembled
# from the tables above (all already in the snapshot), so the API answers with one point
# lookup. provenance.snapshot_version is filled in by the API (the version is named after
# the content hash, so it is not known while the tables are written).
TITLE_DETAILS_SQL = """
with predictions as (
    select
        title_id,
        any_value(model_name) as model,
        any_value(model_version) as model_version,
        coalesce(
            list(genre_name order by probability desc, genre_id) filter (where predicted), []
        ) as predicted,
        list(
            {'genre_id': genre_id, 'genre': genre_name, 'probability': probability,
             'predicted': predicted}
            order by probability desc, genre_id
        ) as probabilities
    from snapshot.main.title_predictions
    group by title_id
)
select
    t.title_id,
    to_json({
        'id': t.title_id, 'title': t.title, 'year': t.year, 'type': t.title_type,
        'plot': t.plot, 'original_language': t.original_language,
        'release_date': t.release_date, 'sources': t.sources, 'genres': t.genres,
        'genre_ids': t.genre_ids,
        'review_stats': {
            'review_count': t.review_count, 'rated_review_count': t.rated_review_count,
            'mean_rating': t.mean_rating, 'first_review_date': t.first_review_date,
            'last_review_date': t.last_review_date, 'reviews_last_7d': t.reviews_last_7d,
            'reviews_last_30d': t.reviews_last_30d
        },
        'model_genres': case when p.title_id is not null then {
            'model': p.model, 'model_version': p.model_version, 'predicted': p.predicted,
            'probabilities': p.probabilities
        } end,
        'enrichment': case when e.title_id is not null then {
            'provider': e.provider, 'model': e.model, 'prompt_version': e.prompt_version,
            'schema_version': e.schema_version, 'genres': e.genres, 'summary': e.summary,
            'vibe_score': e.vibe_score, 'vibe_tags': e.vibe_tags
        } end,
        'trending': case when ts.title_id is not null then {
            'rank': ts.rank, 'score': ts.score, 'recent_reviews': ts.recent_reviews,
            'momentum': ts.momentum, 'as_of': ts.as_of
        } end,
        'provenance': {
            'snapshot_version': '', 'model_version': p.model_version,
            'prompt_version': e.prompt_version
        }
    })::varchar as body
from snapshot.main.titles as t
left join predictions as p on p.title_id = t.title_id
left join snapshot.main.llm_enrichments as e on e.title_id = t.title_id
left join snapshot.main.trending_scores as ts on ts.title_id = t.title_id
order by t.title_id
"""

# Stored sorted by (title, title_id) for the list endpoint; the unique index serves
# /titles/{id}. title_genres is sorted by genre so genre filters scan few row groups.
SNAPSHOT_TABLES: tuple[SnapshotTable, ...] = (
    # Optional per-title tables first: `titles` joins them. A warehouse built before a
    # model, the enrichment or the trending scores existed still publishes; snapshot_info
    # records such a table as skipped and it is created empty.
    SnapshotTable(
        name="title_predictions",
        select_sql=TITLE_PREDICTIONS_SQL,
        reads=("title_predictions", "titles"),
        required=False,
        post_sql=("create index title_predictions_title_id on {table} (title_id)",),
        empty_columns="title_id varchar, genre_id varchar, genre_name varchar, "
        "probability double, predicted boolean, model_name varchar, model_version varchar",
    ),
    SnapshotTable(
        name="llm_enrichments",
        select_sql=LLM_ENRICHMENTS_SQL,
        reads=("llm_enrichments", "titles"),
        required=False,
        post_sql=("create unique index llm_enrichments_title_id on {table} (title_id)",),
        empty_columns="title_id varchar, provider varchar, model varchar, prompt_version varchar, "
        "schema_version varchar, genres varchar[], summary varchar, vibe_score integer, "
        "vibe_tags varchar[]",
    ),
    SnapshotTable(
        name="trending_scores",
        select_sql=TRENDING_SCORES_SQL,
        reads=("trending_scores", "titles"),
        required=False,
        post_sql=("create unique index trending_scores_title_id on {table} (title_id)",),
        empty_columns="title_id varchar, rank integer, score double, recent_reviews bigint, "
        "history_reviews bigint, momentum double, relative_volume double, vibe double, as_of date",
    ),
    SnapshotTable(
        name="title_embeddings",
        select_sql=TITLE_EMBEDDINGS_SQL,
        reads=("title_embeddings", "titles"),
        required=False,
        empty_columns="title_id varchar, embedding float[]",
    ),
    SnapshotTable(
        name="titles",
        select_sql=TITLES_SQL,
        reads=("titles", "title_genres", "title_review_stats"),
        post_sql=("create unique index titles_title_id on {table} (title_id)",),
    ),
    SnapshotTable(
        name="title_genres",
        select_sql=TITLE_GENRES_SQL,
        reads=("title_genres", "titles"),
        post_sql=(
            "create index title_genres_genre_id on {table} (genre_id)",
            "create index title_genres_title_id on {table} (title_id)",
        ),
    ),
    SnapshotTable(
        name="genres",
        select_sql=GENRES_SQL,
        reads=("genres", "title_genres", "titles"),
        post_sql=("create unique index genres_genre_id on {table} (genre_id)",),
    ),
    # Last: built from the snapshot's own tables above.
    SnapshotTable(
        name="title_details",
        select_sql=TITLE_DETAILS_SQL,
        reads=("titles",),
        post_sql=("create unique index title_details_title_id on {table} (title_id)",),
    ),
)


def build_snapshot(
    warehouse_path: Path,
    serving_dir: Path,
    *,
    version: str | None = None,
    tables: Sequence[SnapshotTable] = SNAPSHOT_TABLES,
    frames: Mapping[str, pd.DataFrame] | None = None,
    attachments: Mapping[str, tuple[Path, str]] | None = None,
) -> SnapshotInfo:
    """Copy the served tables from the warehouse into a new, unpublished snapshot version.

    The warehouse is attached read-only. The file is built under ``.staging`` and moved
    into ``versions/<version>/`` only when complete, so a reader never sees a partial one.
    ``version`` defaults to a UTC timestamp plus a hash of the content.

    ``frames`` are data frames the tables may read by name next to warehouse relations
    (data that lives in the lake, such as title embeddings). ``attachments`` maps a name
    to ``(directory, fingerprint)``: the directory is copied to ``versions/<version>/<name>``
    (the champion model, so the API predicts with exactly the model behind the snapshot's
    predictions); the fingerprint enters the content hash and ``snapshot_info``.
    """
    warehouse_path = Path(warehouse_path)
    serving_dir = Path(serving_dir)
    if not warehouse_path.is_file():
        raise SnapshotError(f"warehouse not found at {warehouse_path}")
    if version is not None:
        _check_version(version)

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
            warehouse_path, staging_path, tables, frames or {}
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
    tables: Sequence[SnapshotTable],
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
        for name, frame in frames.items():
            if name in available:
                raise SnapshotError(f"frame {name!r} would shadow the warehouse relation {name!r}")
            con.register(name, frame)
            available.add(name)
        con.execute("use warehouse")
        missing_required = {
            t.name: sorted(set(t.reads) - available)
            for t in tables
            if t.required and not set(t.reads) <= available
        }
        if missing_required:
            detail = "; ".join(
                f"{name} needs {', '.join(rels)}" for name, rels in missing_required.items()
            )
            raise MissingWarehouseTableError(
                f"warehouse {warehouse_path} lacks relations required by the snapshot: {detail}. "
                "Materialise the upstream assets first."
            )

        row_counts: dict[str, int] = {}
        skipped: dict[str, str] = {}
        digest = hashlib.sha256(f"format={SNAPSHOT_FORMAT}".encode())
        for table in tables:
            missing = sorted(set(table.reads) - available)
            qualified = f'snapshot.main."{table.name}"'
            if missing:
                skipped[table.name] = f"missing in warehouse: {', '.join(missing)}"
                if table.empty_columns:
                    con.execute(f"create table {qualified} ({table.empty_columns})")
                continue
            con.execute(f"create table {qualified} as {table.select_sql}")
            for statement in table.post_sql:
                con.execute(statement.format(table=qualified))
            count, row_hash = con.execute(
                f"select count(*), coalesce(sum(hash(t)::hugeint), 0)::varchar from {qualified} t"
            ).fetchone()
            row_counts[table.name] = int(count)
            digest.update(f"|{table.name}:{count}:{row_hash}".encode())
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
