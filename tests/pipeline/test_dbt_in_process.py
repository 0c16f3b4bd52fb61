"""The dbt steps run dbt Core in the step's process (ProjectDbtResource.invoke) and record
what a dbt process would have: the same materialisations, row counts and check results,
and a failed dbt test fails the step and is named. Both ways side by side, each on its own
real DuckDB warehouse, with the real dbt project."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from trending_assets.defs.resources import ProjectDbtResource, WarehouseResource
from trending_assets.defs.warehouse.assets import dbt_key, warehouse_dbt_models, warehouse_dbt_seeds
from trending_assets.lib.warehouse import ensure_raw_tables
from trending_assets.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR

LISTINGS = [
    {"source": "reelhub", "source_title_id": "rh-1", "url": "https://reelhub.test/rh-1",
     "title": "Moon Harbor", "year": 2024, "title_type": "movie", "plot": "A port at night.",
     "genres": ["Drama"], "ingested_at": datetime(2026, 10, 1, 6), "crawl_date": date(2026, 10, 1)},
    # no type: the staging model's not_null test (severity error) fails
    {"source": "reelhub", "source_title_id": "rh-2", "url": "https://reelhub.test/rh-2",
     "title": "Night Talk", "year": 2025, "title_type": None, "plot": "Two voices.",
     "genres": ["Talk"], "ingested_at": datetime(2026, 10, 1, 6), "crawl_date": date(2026, 10, 1)},
]  # fmt: skip


def _run(warehouse: Path, *, in_process: bool) -> dict[str, object]:
    resources = {
        "warehouse": WarehouseResource(database=str(warehouse)),
        "dbt": ProjectDbtResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            dbt_executable=DBT_EXECUTABLE,
            in_process=in_process,
        ),
    }
    assert resources["dbt"].runs_in_process is in_process
    with duckdb.connect(str(warehouse)) as con:
        ensure_raw_tables(con)
        columns, marks = ", ".join(LISTINGS[0]), ", ".join("?" * len(LISTINGS[0]))
        for listing in LISTINGS:
            con.execute(
                f"insert into raw.listings ({columns}) values ({marks})", list(listing.values())
            )
    # Every seed (the whole seeds step), then the staging models as a subset, checks
    # included: two runs, as the models' relationship tests read a seed.
    materialised: dict[str, object] = {}
    checks: set[tuple[str, str, bool]] = set()
    failures: list[str] = []
    success = []
    with dg.instance_for_test() as instance:
        for assets, selection in (
            (warehouse_dbt_seeds, dg.AssetSelection.assets(*warehouse_dbt_seeds.keys)),
            (
                warehouse_dbt_models,
                dg.AssetSelection.assets(
                    dbt_key("stg_crawl__listings"), dbt_key("stg_crawl__reviews")
                ),
            ),
        ):
            result = dg.materialize(
                [assets], selection=selection, resources=resources, instance=instance,
                raise_on_error=False,
            )  # fmt: skip
            success.append(result.success)
            for event in result.get_asset_materialization_events():
                rows = event.materialization.metadata.get("dagster/row_count")
                materialised[event.asset_key.to_user_string()] = getattr(rows, "value", rows)
            checks |= {
                (e.asset_key.to_user_string(), e.check_name, e.passed)
                for e in result.get_asset_check_evaluations()
            }
            failures += [
                event.step_failure_data.error.to_string()
                for event in result.all_events
                if event.is_step_failure
            ]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        staged = con.execute("select count(*) from stg_crawl__listings").fetchone()[0]
    return {
        "success": success,
        "materialised": materialised,
        "checks": checks,
        "failures": failures,
        "staged": staged,
    }


@pytest.mark.timeout(600)
def test_in_process_dbt_records_what_a_dbt_process_does(tmp_path: Path) -> None:
    process = _run(tmp_path / "process.duckdb", in_process=False)
    in_process = _run(tmp_path / "in_process.duckdb", in_process=True)

    # The same seeds and models built, with the same row counts, the same checks passed
    # and failed; the failed test fails the models' step both ways, and is named.
    assert in_process["materialised"] == process["materialised"]
    assert len(in_process["materialised"]) >= 12  # the seeds and the two staging models
    assert in_process["checks"] == process["checks"]
    failed = {name for _, name, passed in in_process["checks"] if not passed}
    assert "not_null_stg_crawl__listings_title_type" in failed, failed
    assert process["success"] == in_process["success"] == [True, False]
    assert len(in_process["failures"]) == len(process["failures"]) == 1
    assert "not_null_stg_crawl__listings_title_type" in in_process["failures"][0]
    assert in_process["staged"] == process["staged"] == 2
