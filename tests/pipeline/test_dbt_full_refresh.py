"""The crawl's staging models are incremental (dbt_project/macros/incremental_crawl.sql);
a run tagged as full (`trending materialize --full`, `make materialize FULL=1`) rebuilds
them from every raw row. Checked with the real dbt assets on a real DuckDB file, with two
things every dbt step does on the way: it prunes old invocation folders, and it starts from
its own warehouse's parse state (docs/operations.md)."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import duckdb

from trending_assets.defs.resources import ProjectDbtResource, WarehouseResource
from trending_assets.defs.shared import FULL_RUN_TAG
from trending_assets.defs.warehouse.assets import dbt_key, warehouse_dbt_models
from trending_assets.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR

LISTING = {
    "source": "reelhub", "source_title_id": "rh-1", "url": "https://reelhub.test/rh-1",
    "title": "Moon Harbor", "year": 2024, "title_type": "movie", "plot": "A port at night.",
    "genres": ["Drama"], "ingested_at": datetime(2026, 10, 1, 6), "crawl_date": date(2026, 10, 1),
}  # fmt: skip


def test_a_full_run_rebuilds_the_incremental_staging(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    staging = dg.AssetSelection.assets(
        dbt_key("stg_crawl__listings"), dbt_key("stg_crawl__reviews")
    ).without_checks()
    runs: list[str] = []

    def build(
        instance: dg.DagsterInstance, tags: dict[str, str] | None = None, database: Path = warehouse
    ) -> list[str]:
        resources = {
            "warehouse": WarehouseResource(database=str(database)),
            "dbt": ProjectDbtResource(
                project_dir=str(DBT_PROJECT_DIR),
                profiles_dir=str(DBT_PROJECT_DIR),
                dbt_executable=DBT_EXECUTABLE,
            ),
        }
        result = dg.materialize(
            [warehouse_dbt_models], selection=staging, resources=resources,
            instance=instance, tags=tags,
        )  # fmt: skip
        assert result.success
        runs.append(result.run_id)
        with duckdb.connect(str(database), read_only=True) as con:
            staged = con.execute("select source_title_id from stg_crawl__listings").fetchall()
        return [row[0] for row in staged]

    # A step's old invocation folders beyond its newest 10 go when a dbt step runs (these
    # stand for a step's folders from earlier days, under a name of their own).
    target = DBT_PROJECT_DIR / "target"
    step = f"zz_pruned_{uuid.uuid4().hex[:8]}"
    old = [target / f"{step}-{i:07x}-0000000" for i in range(12)]
    for i, folder in enumerate(old):
        (folder / "compiled").mkdir(parents=True)
        for path in (folder / "compiled", folder):
            stamp = time.time() - (30 - i) * 3600
            os.utime(path, (stamp, stamp))

    with dg.instance_for_test() as instance:
        try:
            assert build(instance) == []  # the raw tables are created empty, then staged
            assert [f.is_dir() for f in old] == [False] * 2 + [True] * 10
        finally:
            for folder in old:
                shutil.rmtree(folder, ignore_errors=True)
        columns, marks = ", ".join(LISTING), ", ".join("?" * len(LISTING))
        with duckdb.connect(str(warehouse)) as con:
            con.execute(
                f"insert into raw.listings ({columns}) values ({marks})", list(LISTING.values())
            )
        assert build(instance) == ["rh-1"]
        # A staged row of an old day that no raw row names (written here by hand): an
        # incremental build reads no raw row of that day and keeps it; a full run rebuilds
        # from the raw rows.
        with duckdb.connect(str(warehouse)) as con:
            con.execute(
                "insert into stg_crawl__listings select * replace ('rh-gone' as source_title_id,"
                " date '2026-09-01' as first_crawled_on, date '2026-09-01' as last_crawled_on,"
                " timestamp '2026-09-01 06:00' as ingested_at) from stg_crawl__listings"
            )
        assert sorted(build(instance)) == ["rh-1", "rh-gone"]
        # dbt's parse state is kept per warehouse: a build on another one in between (a
        # second home, another test) does not make the next build here parse everything
        # (checked in that build's dbt log below).
        assert build(instance, database=tmp_path / "other.duckdb") == []
        assert build(instance, tags={FULL_RUN_TAG: "true"}) == ["rh-1"]
    (folder,) = target.glob(f"warehouse_dbt_models-{runs[-1][:7]}-*")
    output = (folder / "dbt_output.log").read_text(encoding="utf-8")
    assert "Unable to do partial parsing" not in output, output[:2000]
    assert "Partial parse save file not found" not in output
