"""`serving_snapshot`: the marts copied into a versioned read-only DuckDB file, published atomically."""

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from trending_assets.defs.resources import WAREHOUSE_POOL, ServingResource
from trending_assets.lib.snapshot import (
    build_snapshot,
    current_version,
    prune_snapshots,
    publish_snapshot,
)


@dg.asset(
    group_name="serving",
    deps=[
        dg.AssetKey(t)
        for t in (
            "titles", "title_genres", "title_review_stats", "genres", "title_predictions",
            "llm_enrichments",
        )  # fmt: skip
    ],
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,  # reads warehouse.duckdb, which must not be open for writing meanwhile
)
def serving_snapshot(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, serving: ServingResource
) -> dg.MaterializeResult:
    """Build a new snapshot version and flip the `CURRENT` pointer; the API follows without a restart."""
    serving_dir = Path(serving.serving_dir)
    previous = current_version(serving_dir)
    info = build_snapshot(Path(warehouse.database), serving_dir)
    publish_snapshot(serving_dir, info.version)
    pruned = prune_snapshots(serving_dir, keep=serving.keep_versions)
    context.log.info(f"published serving snapshot {info.version} (was {previous})")
    return dg.MaterializeResult(
        metadata={
            "version": info.version,
            "previous_version": previous or "none",
            "path": dg.MetadataValue.path(str(info.path)),
            "row_counts": dg.MetadataValue.json(info.row_counts),
            "skipped_tables": dg.MetadataValue.json(info.skipped_tables),
            "pruned_versions": dg.MetadataValue.json(pruned),
            "api_url": dg.MetadataValue.url(serving.api_url),
            "dagster/row_count": info.row_counts.get("titles", 0),
        }
    )
