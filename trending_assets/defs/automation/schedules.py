"""The daily crawl: one run per day partition of the raw crawl assets."""

import dagster as dg

from trending_assets.defs.ingest.assets import RAW_LISTINGS, RAW_REVIEWS, daily_partitions

daily_crawl_job = dg.define_asset_job(
    "daily_crawl_job",
    selection=dg.AssetSelection.assets(RAW_LISTINGS, RAW_REVIEWS),
    partitions_def=daily_partitions,
    description="Crawl the listing sites for one day (raw/listings + raw/reviews).",
)

# Runs each morning for the day's partition; missed days are filled with a backfill of
# the job's partitions from the UI (Assets → raw/listings → Materialize → date range).
daily_crawl_schedule = dg.build_schedule_from_partitioned_job(
    daily_crawl_job, hour_of_day=6, minute_of_hour=0, name="daily_crawl_schedule"
)
