"""`data_profile`: what the marts hold, with charts the Dagster UI shows."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from trending_assets.defs.resources import WAREHOUSE_POOL
from trending_assets.defs.warehouse.assets import GENRES
from trending_assets.lib.profiling import (
    MART_TABLES,
    QUARANTINE_TABLES,
    UNMAPPED_LABELS_TABLE,
    length_summary,
    png_markdown,
    profile_marts,
    quarantine_summary,
    unmapped_genre_labels,
)


@dg.asset(
    group_name="warehouse",
    deps=[dg.AssetKey(t) for t in (*MART_TABLES, *QUARANTINE_TABLES, UNMAPPED_LABELS_TABLE)]
    + [GENRES],
    kinds={"duckdb", "pandas"},
    pool=WAREHOUSE_POOL,
)
def data_profile(warehouse: DuckDBResource) -> dg.MaterializeResult:
    """Row counts, missing values, plot/review length distributions and genre frequencies of the
    marts, and what dbt quarantined (listings, reviews, unmapped genre labels) with the reasons."""
    with warehouse.get_connection() as con:
        profile = profile_marts(con)
        quarantined = quarantine_summary(con)
        unmapped = unmapped_genre_labels(con)
    missing = profile.missing[profile.missing["missing"] > 0]
    return dg.MaterializeResult(
        metadata={
            "row_counts": dg.MetadataValue.json(profile.row_counts),
            "titles_by_type": dg.MetadataValue.json(profile.type_counts),
            "plot_words": dg.MetadataValue.json(length_summary(profile.plot_lengths)),
            "review_words": dg.MetadataValue.json(length_summary(profile.review_lengths)),
            "missing_values": dg.MetadataValue.md(
                missing.to_markdown(index=False) if len(missing) else "_no missing values_"
            ),
            "genre_frequencies": dg.MetadataValue.md(profile.genre_counts.to_markdown(index=False)),
            "dbt_quarantined_rows": sum(sum(r.values()) for r in quarantined.values()),
            "dbt_quarantine_reasons": dg.MetadataValue.json(quarantined),
            "unmapped_genre_labels": dg.MetadataValue.md(
                unmapped.astype(str).to_markdown(index=False)
                if len(unmapped)
                else "_every genre label maps_"
            ),
            **{
                f"chart_{name}": dg.MetadataValue.md(png_markdown(png, name))
                for name, png in profile.figures.items()
            },
        }
    )
