"""The snapshot writer: contents, versions, the served tables (dbt serving models), publish
and prune.

Every warehouse here gets its served tables from the real `dbt build` of the serving
models (serving_fixtures.build_serving_tables), as the pipeline's serving step builds them.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path

import duckdb
import pytest
from serving_fixtures import (
    TITLES,
    build_serving_tables,
    run_serving_build,
    title_embeddings,
    write_warehouse,
)

from trending_assets.lib import snapshot
from trending_assets.lib.snapshot import (
    CURRENT_FILENAME,
    SERVED_TABLES,
    STAGING_DIRNAME,
    MissingWarehouseTableError,
    ServedTable,
    SnapshotError,
    build_snapshot,
    current_version,
    list_versions,
    prune_snapshots,
    publish_snapshot,
    read_snapshot_info,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return write_warehouse(tmp_path / "warehouse.duckdb")


def _rows(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_build_writes_the_served_tables(warehouse: Path, tmp_path: Path) -> None:
    info = build_snapshot(warehouse, tmp_path / "serving")

    assert info.path == tmp_path / "serving" / "versions" / info.version / "serving.duckdb"
    assert info.path.is_file()
    # The trending scores were never computed: their served table is there, empty.
    assert info.row_counts == {
        "titles": len(TITLES), "title_genres": 11, "genres": 24, "title_predictions": 2,
        "llm_enrichments": 1, "trending_scores": 0, "title_details": len(TITLES),
    }  # fmt: skip
    # A frame that was not handed (no embeddings yet): recorded, and created empty for readers.
    assert info.skipped_tables == {"title_embeddings": "no frame handed to build_snapshot"}
    assert _rows(info.path, "select count(*) from trending_scores") == [(0,)]
    assert _rows(info.path, "select count(*) from title_embeddings") == [(0,)]

    row = _rows(
        info.path,
        "select title, year, title_type, genres, genre_ids, review_count, rated_review_count, "
        "mean_rating, first_review_date, last_review_date, sources "
        "from titles where title_id = 't03'",
    )[0]
    assert row == (
        "Cold Case Files",
        2015,
        "tv",
        ["Crime", "Drama", "Mystery"],
        ["crime", "drama", "mystery"],
        1,
        1,
        9.0,
        date(2024, 5, 28),
        date(2024, 5, 28),
        ["reelhub"],
    )
    assert _rows(info.path, "select mean_rating from titles where title_id = 't07'") == [(7.67,)]
    # Left joins: a title without reviews (t04) or without genres (t05) is still served.
    no_stats = (
        "select review_count, reviews_last_30d, mean_rating from titles where title_id = 't04'"
    )
    assert _rows(info.path, no_stats) == [(0, 0, None)]
    no_genres = "select genres, genre_ids from titles where title_id = 't05'"
    assert _rows(info.path, no_genres) == [([], [])]

    genres = dict(_rows(info.path, "select genre_id, title_count from genres"))
    assert len(genres) == 24
    assert genres["action"] == 2 and genres["drama"] == 2 and genres["western"] == 0

    indexes = {name for (name,) in _rows(info.path, "select index_name from duckdb_indexes()")}
    assert {"titles_title_id", "title_genres_genre_id", "genres_genre_id"} <= indexes


def test_snapshot_info_describes_the_build(warehouse: Path, tmp_path: Path) -> None:
    info = build_snapshot(warehouse, tmp_path / "serving")
    stored = read_snapshot_info(info.path)
    assert stored.version == info.version
    assert stored.row_counts == info.row_counts
    assert stored.source_warehouse == str(warehouse.resolve())
    assert stored.content_hash == info.content_hash
    assert abs((stored.created_at - info.created_at).total_seconds()) < 1e-3


def test_warehouse_is_only_read(warehouse: Path, tmp_path: Path) -> None:
    before = hashlib.sha256(warehouse.read_bytes()).hexdigest()
    # A second reader holding the warehouse open must not block the build.
    reader = duckdb.connect(str(warehouse), read_only=True)
    try:
        build_snapshot(warehouse, tmp_path / "serving")
    finally:
        reader.close()
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == before
    assert not (warehouse.parent / "warehouse.duckdb.wal").exists()


def test_versions_sort_by_time_and_hash_the_content(warehouse: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    first = build_snapshot(warehouse, serving)
    assert first.version[:16].endswith("Z") and first.version[16] == "-"
    other = write_warehouse(tmp_path / "other.duckdb", TITLES[:3])
    second = build_snapshot(other, serving, version="29990101T000000Z-manual")
    assert first.content_hash != second.content_hash
    assert list_versions(serving) == [first.version, second.version]
    with pytest.raises(FileExistsError):
        build_snapshot(other, serving, version=second.version)
    with pytest.raises(ValueError, match="invalid snapshot version"):
        build_snapshot(other, serving, version="../escape")


def test_same_content_in_the_same_second_is_the_same_version(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)

    class FrozenClock(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:
            return frozen

    monkeypatch.setattr(snapshot, "datetime", FrozenClock)
    first = build_snapshot(warehouse, tmp_path / "serving")
    again = build_snapshot(warehouse, tmp_path / "serving")
    assert first.version.startswith("20250301T120000Z-")
    assert again.version == first.version
    assert list_versions(tmp_path / "serving") == [first.version]


def test_missing_served_table_fails_clearly(tmp_path: Path) -> None:
    warehouse = write_warehouse(tmp_path / "warehouse.duckdb")
    con = duckdb.connect(str(warehouse))
    con.execute("drop table serving_title_genres")
    con.close()
    with pytest.raises(
        MissingWarehouseTableError, match=r"serving_title_genres \(for title_genres\)"
    ):
        build_snapshot(warehouse, tmp_path / "serving")
    assert list_versions(tmp_path / "serving") == []
    assert list((tmp_path / "serving" / STAGING_DIRNAME).iterdir()) == []


def test_missing_warehouse_file_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="warehouse not found"):
        build_snapshot(tmp_path / "nope.duckdb", tmp_path / "serving")


def test_a_new_served_table_is_a_model_and_one_line(warehouse: Path, tmp_path: Path) -> None:
    """A served table is copied as its model built it (rows in order, types), indexed."""
    awards = ServedTable(
        "title_awards",
        "serving_title_awards",
        ("create unique index title_awards_title_id on {table} (title_id)",),
    )
    tables = (*SERVED_TABLES, awards)
    with pytest.raises(MissingWarehouseTableError, match="serving_title_awards"):
        build_snapshot(warehouse, tmp_path / "serving", tables=tables)

    con = duckdb.connect(str(warehouse))
    con.execute(
        "create table serving_title_awards as select * from (values ('t03', 0.5::decimal(3, 2)), "
        "('t01', 0.9)) as a(title_id, score)"
    )
    con.close()
    built = build_snapshot(warehouse, tmp_path / "serving", tables=tables)
    assert built.row_counts["title_awards"] == 2
    assert _rows(built.path, "select title_id, score::varchar from title_awards") == [
        ("t03", "0.50"),
        ("t01", "0.90"),
    ]
    indexes = _rows(built.path, "select index_name from duckdb_indexes()")
    assert ("title_awards_title_id",) in indexes
    stored = _rows(built.path, "select skipped_tables from snapshot_info")[0][0]
    assert json.loads(stored) == built.skipped_tables


def test_publish_and_current_version(warehouse: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    assert current_version(serving) is None
    info = build_snapshot(warehouse, serving)
    publish_snapshot(serving, info.version)
    assert current_version(serving) == info.version
    assert (serving / CURRENT_FILENAME).read_text() == info.version + "\n"
    with pytest.raises(SnapshotError, match="does not exist"):
        publish_snapshot(serving, "20000101T000000Z-missing")
    assert current_version(serving) == info.version
    assert [p.name for p in serving.iterdir() if p.name.startswith(".CURRENT")] == []


def _run_until_replace_crashes(code: str) -> None:
    """Run ``code`` in a child whose os.replace kills the process, as a power cut would."""
    prelude = "import os\nos.replace = lambda *a, **k: os._exit(17)\n"
    result = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 17, result.stderr


def test_crash_between_write_and_replace_keeps_old_current(warehouse: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    old = build_snapshot(warehouse, serving)
    publish_snapshot(serving, old.version)
    new = build_snapshot(write_warehouse(tmp_path / "w2.duckdb", TITLES[:2]), serving)

    _run_until_replace_crashes(
        f"""
        from trending_assets.lib.snapshot import publish_snapshot
        publish_snapshot({str(serving)!r}, {new.version!r})
        """
    )
    # The temp pointer was written, the rename never happened: readers still see the old one.
    assert any(p.name.startswith(".CURRENT") for p in serving.iterdir())
    assert current_version(serving) == old.version
    assert _rows(old.path, "select count(*) from titles") == [(len(TITLES),)]

    publish_snapshot(serving, new.version)
    assert current_version(serving) == new.version


def test_crash_during_build_publishes_nothing(warehouse: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    _run_until_replace_crashes(
        f"""
        from trending_assets.lib.snapshot import build_snapshot
        build_snapshot({str(warehouse)!r}, {str(serving)!r})
        """
    )
    assert list_versions(serving) == []
    assert current_version(serving) is None
    assert list((serving / STAGING_DIRNAME).iterdir())  # the half-built file is left behind
    prune_snapshots(serving, stale_after_s=0)
    assert list((serving / STAGING_DIRNAME).iterdir()) == []
    assert build_snapshot(warehouse, serving).path.is_file()


def test_prune_keeps_newest_and_current(warehouse: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    versions = [
        build_snapshot(warehouse, serving, version=f"2025010{i}T000000Z-test").version
        for i in range(1, 6)
    ]
    publish_snapshot(serving, versions[0])  # an old version still published (a rollback)

    pruned = prune_snapshots(serving, keep=2)

    assert pruned == versions[1:3]
    assert list_versions(serving) == [versions[0], *versions[3:]]
    assert prune_snapshots(serving, keep=2) == []
    with pytest.raises(ValueError):
        prune_snapshots(serving, keep=0)


def test_frames_and_attachments_travel_with_the_version(warehouse: Path, tmp_path: Path) -> None:
    import pandas as pd

    model_dir = tmp_path / "champion"
    model_dir.mkdir()
    (model_dir / "model.json").write_text('{"name": "keyword"}')
    embeddings = pd.DataFrame(
        {"title_id": [t.title_id for t in TITLES] + ["not-a-title"],
         "embedding": [[0.1, 0.2, 0.3]] * (len(TITLES) + 1)}
    )  # fmt: skip
    info = build_snapshot(
        warehouse, tmp_path / "serving", frames={"title_embeddings": embeddings},
        attachments={"model": (model_dir, "keyword@v1")},
    )  # fmt: skip
    assert info.row_counts["title_embeddings"] == len(TITLES)  # unknown titles dropped
    assert (info.path.parent / "model" / "model.json").read_text() == '{"name": "keyword"}'
    assert read_snapshot_info(info.path).attachments == {"model": "keyword@v1"}
    assert not list((tmp_path / "serving" / ".staging").iterdir())
    # Another model is another version, even with the same tables.
    other = build_snapshot(
        warehouse, tmp_path / "serving", frames={"title_embeddings": embeddings},
        attachments={"model": (model_dir, "keyword@v2")},
    )  # fmt: skip
    assert other.content_hash != info.content_hash
    with pytest.raises(SnapshotError, match="shadow"):
        build_snapshot(warehouse, tmp_path / "serving", frames={"titles": embeddings})
    with pytest.raises(SnapshotError, match="no snapshot table reads a frame named 'awards'"):
        build_snapshot(warehouse, tmp_path / "serving", frames={"awards": embeddings})


def test_snapshot_tables_are_the_serving_models_unchanged(warehouse: Path, tmp_path: Path) -> None:
    """Names, column types and row order: the snapshot is a copy of what dbt built."""
    info = build_snapshot(warehouse, tmp_path / "serving")
    columns = (
        "select column_name, data_type from duckdb_columns() "
        "where table_name = '{}' order by column_index"
    )
    for table in SERVED_TABLES:
        assert _rows(info.path, f"select * from {table.name}") == _rows(
            warehouse, f"select * from {table.model}"
        ), table.name
        assert _rows(info.path, columns.format(table.name)) == _rows(
            warehouse, columns.format(table.model)
        ), table.name


def test_a_fresh_warehouse_still_publishes(tmp_path: Path) -> None:
    """No Python asset ran (no predictions, enrichments or trending scores): the serving
    models build on the empty tables the serving step creates, and the snapshot publishes
    every title with empty per-title extras."""
    warehouse = write_warehouse(tmp_path / "warehouse.duckdb", serving=False)
    with duckdb.connect(str(warehouse)) as con:
        for table in ("title_predictions", "llm_enrichments"):
            con.execute(f"drop table {table}")
    build_serving_tables(warehouse)
    serving = tmp_path / "serving"
    info = build_snapshot(warehouse, serving, frames={"title_embeddings": title_embeddings()})
    publish_snapshot(serving, info.version)
    assert current_version(serving) == info.version
    assert info.row_counts["titles"] == len(TITLES)
    assert info.row_counts["title_details"] == len(TITLES)
    for table in ("title_predictions", "llm_enrichments", "trending_scores"):
        assert info.row_counts[table] == 0, table
    assert info.skipped_tables == {}
    body = json.loads(
        _rows(info.path, "select body from title_details where title_id = 't07'")[0][0]
    )
    assert body["model_genres"] is None and body["enrichment"] is None and body["trending"] is None
    assert _rows(
        info.path, "select vibe_score, trending_rank from titles where title_id = 't07'"
    ) == [(None, None)]


def test_a_bad_row_fails_the_serving_build(tmp_path: Path) -> None:
    """The serving models' dbt tests stop a bad row: a probability of 1.5 fails the build,
    and what reads the failed model is skipped, so it never reaches a snapshot."""
    warehouse = write_warehouse(tmp_path / "warehouse.duckdb", serving=False)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update title_predictions set probability = 1.5 where genre_id = 'drama'")
    code, statuses, output = run_serving_build(warehouse)
    assert code != 0, output[-3000:]
    failed = {node for node, status in statuses.items() if status in ("fail", "error")}
    assert any(
        node.startswith("test.trending_now.value_between_serving_title_predictions_probability")
        for node in failed
    ), failed
    assert statuses.get("model.trending_now.serving_title_details") == "skipped"
    with pytest.raises(MissingWarehouseTableError, match="serving_title_details"):
        build_snapshot(warehouse, tmp_path / "serving")
