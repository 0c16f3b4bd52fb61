"""Blocking pandera checks on every stored raw table."""

from trending_assets.defs.ingest.assets import (
    RAW_API_RELEASES,
    RAW_DATASET_LISTINGS,
    RAW_DATASET_REVIEWS,
    RAW_LISTINGS,
    RAW_REVIEWS,
)
from trending_assets.lib.validation import (
    ApiRelease,
    CrawledListing,
    CrawledReview,
    ListingRecord,
    ReviewRecord,
)
from trending_assets.quality import pandera_table_check

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
