"""`trending_scores`: which titles are trending now (formula in trending_assets/lib/trending.py)."""

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from trending_assets.defs.quality import pandera_table_check
from trending_assets.defs.resources import WAREHOUSE_POOL, ServingResource
from trending_assets.defs.warehouse.assets import REVIEWS, TITLES
from trending_assets.lib.served_tables import TRENDING_SCORES, replace_declared_table
from trending_assets.lib.trending import TrendingParams, compute_trending, describe
from trending_assets.lib.validation import TrendingScoresTable

TRENDING_TABLE = TRENDING_SCORES.name


def _has_table(con, name: str) -> bool:
    return bool(
        con.execute("select count(*) from duckdb_tables() where table_name = ?", [name]).fetchone()[
            0
        ]
    )


@dg.asset(
    group_name="serving",
    deps=[TITLES, REVIEWS, dg.AssetKey("llm_enrichments")],
    kinds={"duckdb", "pandas"},
    pool=WAREHOUSE_POOL,
)
def trending_scores(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, serving: ServingResource
) -> dg.MaterializeResult:
    """Every title's trending score and rank as of the newest review: recent review velocity
    against the title's own history and the catalogue, weighted by recency and vibe."""
    params = TrendingParams(
        window_days=serving.trending_window_days,
        half_life_days=serving.trending_half_life_days,
        min_recent_reviews=serving.trending_min_reviews,
    )
    with warehouse.get_connection() as con:
        titles = con.execute("select title_id, title, year from titles order by title_id").df()
        reviews = con.execute("select title_id, review_date, rating from reviews").df()
        vibe = (
            con.execute("select title_id, vibe_score from llm_enrichments").df()
            if _has_table(con, "llm_enrichments")
            else None
        )
    scores = compute_trending(titles["title_id"], reviews, vibe, params=params)
    with warehouse.get_connection() as con:
        # Every title gets a row (unranked without reviews); no titles: an empty table of
        # the declared schema, which the serving models read all the same.
        replace_declared_table(con, TRENDING_SCORES, scores)
    ranked = scores[scores["rank"].notna()]
    # People read titles, not ids: the preview names each title (its id stays in the table).
    top = ranked.head(10).merge(titles, on="title_id", how="left")
    top = top[["rank", "title", "year", "recent_reviews", "momentum", "vibe", "score"]]
    as_of = scores["as_of"].dropna()
    context.log.info(f"{len(ranked)} of {len(scores)} titles ranked")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(scores),
            "as_of": str(as_of.iloc[0]) if len(as_of) else "no reviews",
            "ranked_titles": len(ranked),
            "unranked_titles": len(scores) - len(ranked),
            "llm_vibe_used": vibe is not None and not vibe.empty,
            "formula": describe(params),
            "params": dg.MetadataValue.json(params.to_dict()),
            "top_10": dg.MetadataValue.md(
                pd.DataFrame(top).to_markdown(index=False)
                if len(top)
                else "_no title has enough recent reviews_"
            ),
        }
    )


trending_scores_check = pandera_table_check(
    asset_key=dg.AssetKey("trending_scores"), table=TRENDING_TABLE, model=TrendingScoresTable
)
