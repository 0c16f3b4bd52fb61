"""Checks on the raw tables: blocking pandera checks on every stored raw table, and the
crawl's own yield checks on `raw/listings` (a source that yielded no title blocks; a
source whose yield fell sharply warns)."""

from datetime import date

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from trending_assets.defs.ingest.assets import (
    RAW_API_RELEASES,
    RAW_DATASET_LISTINGS,
    RAW_DATASET_REVIEWS,
    RAW_LISTINGS,
    RAW_REVIEWS,
)
from trending_assets.defs.quality import pandera_table_check
from trending_assets.defs.resources import WAREHOUSE_POOL
from trending_assets.lib import crawl
from trending_assets.lib.validation import (
    ApiRelease,
    CrawledListing,
    CrawledReview,
    ListingRecord,
    ReviewRecord,
)
from trending_assets.lib.warehouse import CRAWL_SOURCES_TABLE

raw_listings_check = pandera_table_check(
    asset_key=RAW_LISTINGS, table="raw.listings", model=CrawledListing
)
raw_reviews_check = pandera_table_check(
    asset_key=RAW_REVIEWS, table="raw.reviews", model=CrawledReview
)
raw_dataset_listings_check = pandera_table_check(
    asset_key=RAW_DATASET_LISTINGS, table="raw.dataset_listings", model=ListingRecord
)
raw_dataset_reviews_check = pandera_table_check(
    asset_key=RAW_DATASET_REVIEWS, table="raw.dataset_reviews", model=ReviewRecord
)
raw_api_releases_check = pandera_table_check(
    asset_key=RAW_API_RELEASES, table="raw.api_releases", model=ApiRelease
)

PARTITION_TAG = "dagster/partition"


def _nothing_crawled() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=True, metadata={"note": "no crawl recorded yet in raw.crawl_sources"}
    )


def _crawl_sources(warehouse: DuckDBResource) -> pd.DataFrame:
    schema, table = CRAWL_SOURCES_TABLE.split(".")
    with warehouse.get_connection() as con:
        exists = con.execute(
            "select count(*) from information_schema.tables"
            " where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()
        if not exists or not exists[0]:
            return pd.DataFrame()
        return con.execute(f"select * from {CRAWL_SOURCES_TABLE}").df()


def _day_checked(context: dg.AssetCheckExecutionContext, summary: pd.DataFrame) -> date | None:
    """This run's partition when it was crawled, else the latest crawl."""
    try:
        partition = context.run.tags.get(PARTITION_TAG)
    except dg.DagsterError:  # invoked directly, outside a run
        partition = None
    return crawl.crawl_day_to_check(summary, partition)


@dg.asset_check(
    asset=RAW_LISTINGS,
    name="crawl_sources_yield_titles",
    description=(
        "Every source of the crawl (this run's day, else the latest crawl) yielded at least "
        "one title; a source with 0 titles fails, named with its cause (raw.crawl_sources)."
    ),
    blocking=True,
    pool=WAREHOUSE_POOL,
)
def crawl_sources_yield_titles(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource
) -> dg.AssetCheckResult:
    summary = _crawl_sources(warehouse)
    day = _day_checked(context, summary)
    if day is None:
        return _nothing_crawled()
    listed = summary[(summary["spider"] == "listings")]
    crawled = listed[pd.to_datetime(listed["crawl_date"]).dt.date == day]
    empty = crawl.empty_sources_on(summary, day)
    metadata: dict[str, object] = {
        "crawl_date": day.isoformat(),
        "sources": len(crawled),
        "titles_by_source": dg.MetadataValue.json(
            {str(r.source): int(r.titles) for r in crawled.sort_values("source").itertuples()}
        ),
    }
    if empty.empty:
        return dg.AssetCheckResult(passed=True, metadata=metadata)
    causes = {str(r.source): str(r.empty_cause or "") for r in empty.itertuples()}
    named = "; ".join(f"{name} ({cause})" if cause else name for name, cause in causes.items())
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"crawl of {day}: {len(causes)} source(s) yielded 0 titles: {named}",
        metadata={
            **metadata,
            "empty_sources": dg.MetadataValue.json(causes),
            "empty_source_names": ", ".join(causes),
        },
    )


@dg.asset_check(
    asset=RAW_LISTINGS,
    name="crawl_yield_stable",
    description=(
        "Warns when a source's titles fell below "
        f"{crawl.YIELD_DROP_RATIO:.0%} of its previous crawl day's count (a layout change?)."
    ),
    blocking=False,
    pool=WAREHOUSE_POOL,
)
def crawl_yield_stable(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource
) -> dg.AssetCheckResult:
    summary = _crawl_sources(warehouse)
    day = _day_checked(context, summary)
    if day is None:
        return _nothing_crawled()
    drops = crawl.yield_drops(summary, day)
    metadata: dict[str, object] = {"crawl_date": day.isoformat(), "sources_fallen": len(drops)}
    if drops.empty:
        return dg.AssetCheckResult(passed=True, metadata=metadata)
    named = "; ".join(
        f"{r.source}: {r.before} titles on {r.previous_day} -> {r.after} on {day}"
        for r in drops.itertuples()
    )
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"titles fell sharply: {named}",
        metadata={
            **metadata,
            "drops": dg.MetadataValue.md(drops.astype(str).to_markdown(index=False)),
            "fallen_sources": ", ".join(drops["source"].astype(str)),
        },
    )
