"""Enrichment of every title: the champion model's genres (LLM enrichment joins this group later)."""

import tempfile
from pathlib import Path

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from trending_assets.defs.resources import WAREHOUSE_POOL, LakeResource
from trending_assets.defs.warehouse.assets import GENRES, TITLES
from trending_assets.lib.ml.embeddings import plot_vector_cache, read_vectors_through
from trending_assets.lib.ml.lifecycle import predict_titles
from trending_assets.lib.ml.models import load_model
from trending_assets.lib.ml.registry import ModelRegistry, ModelVersion
from trending_assets.lib.served_tables import TITLE_PREDICTIONS, replace_declared_table

PREDICTIONS_TABLE = TITLE_PREDICTIONS.name


@dg.asset(
    group_name="enrichment",
    deps=[TITLES, GENRES],
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
)
def title_predictions(
    context: dg.AssetExecutionContext,
    champion_model: ModelVersion | None,
    lake: LakeResource,
    warehouse: DuckDBResource,
) -> dg.MaterializeResult:
    """The champion's genre probabilities for every title, also those left out of training.

    Without a champion model yet, the table is written empty (its declared schema), so the
    served tables and the snapshot still build; the API then serves no model genres.
    """
    if champion_model is None:
        context.log.warning(
            "no champion model: title_predictions is empty until a model passes the gate"
        )
        with warehouse.get_connection() as con:
            replace_declared_table(con, TITLE_PREDICTIONS, pd.DataFrame())
        return dg.MaterializeResult(metadata={"dagster/row_count": 0, "titles": 0, "model": "none"})
    registry = ModelRegistry(lake.get_lake())
    with tempfile.TemporaryDirectory() as tmp:
        model = load_model(registry.fetch(champion_model, Path(tmp) / "champion"))
    # A part that embeds plots (the zero-shot member) reads the vectors text_embeddings
    # keeps instead of running the encoder over every title again. The cache is a memo,
    # not an input (as for genre_model_ensemble): no dependency on text_embeddings.
    vectors = plot_vector_cache(lake.get_lake())
    reads_cache = read_vectors_through(model, vectors) > 0
    with warehouse.get_connection() as con:
        # A title with no plot is still predicted, from its title: every title gets an answer.
        titles = con.execute(
            "select title_id, coalesce(nullif(trim(plot), ''), title) as text, title_type "
            "from titles order by title_id"
        ).df()
    # The type reaches models that take it, and no title gets a genre of the other type.
    predictions = predict_titles(
        model, titles["title_id"].tolist(), titles["text"].tolist(),
        [t if isinstance(t, str) else None for t in titles["title_type"].tolist()],
    )  # fmt: skip
    predictions = predictions.assign(
        model_name=champion_model.name, model_version=champion_model.version
    )
    with warehouse.get_connection() as con:
        replace_declared_table(
            con, TITLE_PREDICTIONS, predictions,
            query="""select p.title_id, p.genre_id, g.genre_name, p.probability, p.predicted,
                            p.model_name, p.model_version
                     from incoming p left join genres g using (genre_id)""",
        )  # fmt: skip
    per_title = predictions.groupby("title_id")["predicted"].sum()
    preview = predictions[predictions["predicted"]].head(10)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(predictions),
            "titles": int(per_title.size),
            "mean_genres_per_title": round(float(per_title.mean()), 2) if len(per_title) else 0.0,
            "model": f"{champion_model.name} {champion_model.version}",
            **({"plot_vectors": dg.MetadataValue.json(vectors.stats)} if reads_cache else {}),
            "preview": dg.MetadataValue.md(
                pd.DataFrame(preview).to_markdown(index=False) if len(preview) else "_none_"
            ),
        }
    )
