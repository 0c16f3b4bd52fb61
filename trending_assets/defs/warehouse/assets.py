"""The dbt project as Dagster assets: staging, intermediate and marts on DuckDB, dbt tests as checks."""

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_duckdb import DuckDBResource

from trending_assets.defs.resources import WAREHOUSE_POOL
from trending_assets.lib.warehouse import ensure_raw_tables
from trending_assets.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def _manifest_is_stale() -> bool:
    """No manifest yet (a fresh clone), or a dbt file changed since the last parse."""
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return True
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "seeds", "macros", "tests"):
        sources.extend((DBT_PROJECT_DIR / folder).rglob("*"))
    newest = max((p.stat().st_mtime for p in sources if p.is_file()), default=0.0)
    return newest > manifest.stat().st_mtime


if _manifest_is_stale():
    # Parsing needs no database and takes seconds; `dagster dev` would do it too.
    DbtCliResource(
        project_dir=str(DBT_PROJECT_DIR),
        profiles_dir=str(DBT_PROJECT_DIR),
        dbt_executable=DBT_EXECUTABLE,
    ).cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()


class TrendingDbtTranslator(DagsterDbtTranslator):
    """Every dbt node in the `warehouse` group; sources keep the raw assets' keys (dbt meta)."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if unique_id.startswith(("model.", "seed.", "snapshot.")):
            return spec.replace_attributes(group_name="warehouse")
        return spec


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=TrendingDbtTranslator(),
    pool=WAREHOUSE_POOL,
)
def warehouse_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: DuckDBResource
):
    """`dbt build`: seeds, models and their tests, in dependency order."""
    with warehouse.get_connection() as con:
        ensure_raw_tables(con)  # sources must exist even before every raw asset has run
    # dbt runs as a subprocess and reads the warehouse path from its profile's env_var.
    os.environ["TRENDING_WAREHOUSE_PATH"] = warehouse.database
    yield from dbt.cli(["build"], context=context).stream()
