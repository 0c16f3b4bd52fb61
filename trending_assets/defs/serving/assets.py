"""`serving_snapshot`: the served tables (dbt's serving models) copied into a versioned
read-only DuckDB file, published atomically."""

import tempfile
from pathlib import Path

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from trending_assets.defs.resources import WAREHOUSE_POOL, LakeResource, ServingResource
from trending_assets.defs.warehouse.assets import dbt_key
from trending_assets.lib.ml.registry import ModelRegistry, ModelVersion
from trending_assets.lib.snapshot import (
    SERVED_TABLES,
    build_snapshot,
    current_version,
    prune_snapshots,
    publish_snapshot,
)


@dg.asset(
    group_name="serving",
    # The dbt serving models it copies (their keys from the dbt manifest).
    deps=[dbt_key(table.model) for table in SERVED_TABLES],
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,  # reads warehouse.duckdb, which must not be open for writing meanwhile
)
def serving_snapshot(
    context: dg.AssetExecutionContext,
    text_embeddings: pd.DataFrame,
    champion_model: ModelVersion | None,
    warehouse: DuckDBResource,
    lake: LakeResource,
    serving: ServingResource,
) -> dg.MaterializeResult:
    """Build a new snapshot version and flip the `CURRENT` pointer; the API follows without a restart.

    The version carries the title embeddings (search, similar titles) and a copy of the
    champion model, so `POST /predict` answers with the model behind the served predictions.
    """
    serving_dir = Path(serving.serving_dir)
    previous = current_version(serving_dir)
    embeddings = pd.DataFrame(
        {
            "title_id": text_embeddings["title_id"],
            "embedding": [list(map(float, v)) for v in text_embeddings["embedding"]],
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        attachments = {}
        if champion_model is not None:
            model_dir = ModelRegistry(lake.get_lake()).fetch(champion_model, Path(tmp) / "model")
            attachments["model"] = (model_dir, f"{champion_model.name}@{champion_model.version}")
        else:
            context.log.warning(
                "no champion model: POST /predict will answer 503 for this snapshot"
            )
        info = build_snapshot(
            Path(warehouse.database), serving_dir,
            frames={"title_embeddings": embeddings}, attachments=attachments,
        )  # fmt: skip
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
            "model": info.attachments.get("model", "none"),
            "pruned_versions": dg.MetadataValue.json(pruned),
            "api_url": dg.MetadataValue.url(serving.api_url),
            "dagster/row_count": info.row_counts.get("titles", 0),
        }
    )
