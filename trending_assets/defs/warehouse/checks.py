"""Blocking pandera checks on the marts (dbt's own tests arrive as checks through dagster-dbt)."""

import dagster as dg

from trending_assets.lib.validation import (
    ReviewsMart,
    TitleGenresMart,
    TitleReviewStatsMart,
    TitlesMart,
)
from trending_assets.quality import pandera_table_check

titles_check = pandera_table_check(
    asset_key=dg.AssetKey("titles"), table="titles", model=TitlesMart
)
title_genres_check = pandera_table_check(
    asset_key=dg.AssetKey("title_genres"), table="title_genres", model=TitleGenresMart
)
reviews_check = pandera_table_check(
    asset_key=dg.AssetKey("reviews"), table="reviews", model=ReviewsMart
)
title_review_stats_check = pandera_table_check(
    asset_key=dg.AssetKey("title_review_stats"),
    table="title_review_stats",
    model=TitleReviewStatsMart,
)
