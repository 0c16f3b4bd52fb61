"""Blocking pandera checks on the marts (dbt's own tests arrive as checks through dagster-dbt)."""

from trending_assets.defs.quality import pandera_table_check
from trending_assets.defs.warehouse.assets import REVIEWS, TITLE_GENRES, TITLE_REVIEW_STATS, TITLES
from trending_assets.lib.validation import (
    ReviewsMart,
    TitleGenresMart,
    TitleReviewStatsMart,
    TitlesMart,
)

titles_check = pandera_table_check(asset_key=TITLES, table="titles", model=TitlesMart)
title_genres_check = pandera_table_check(
    asset_key=TITLE_GENRES, table="title_genres", model=TitleGenresMart
)
reviews_check = pandera_table_check(asset_key=REVIEWS, table="reviews", model=ReviewsMart)
title_review_stats_check = pandera_table_check(
    asset_key=TITLE_REVIEW_STATS,
    table="title_review_stats",
    model=TitleReviewStatsMart,
)
