"""The code location: every domain folder under `defs/` is loaded; nothing is listed by hand.

Platform-wide policy lives here: every asset gets the default freshness window unless it
declares its own (the assets users feel staleness in do, in their domain folders).
"""

from datetime import timedelta
from pathlib import Path

import dagster as dg

from trending_assets.settings import REPO_ROOT

DEFAULT_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=48), warn_window=timedelta(hours=26)
)
# What users look at: a day's crawl, the enrichments and the published snapshot.
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=26), warn_window=timedelta(hours=25)
)
DAILY_FRESH_ASSETS = ("raw/listings", "raw/reviews", "llm_enrichments", "serving_snapshot")


def _freshness(spec: dg.AssetSpec) -> dg.AssetSpec:
    if spec.key.to_user_string() in DAILY_FRESH_ASSETS:
        return dg.apply_freshness_policy(spec, DAILY_FRESHNESS)
    return dg.apply_freshness_policy(spec, DEFAULT_FRESHNESS, overwrite_existing=False)


@dg.definitions
def defs() -> dg.Definitions:
    loaded = dg.load_from_defs_folder(path_within_project=Path(REPO_ROOT))
    return loaded.map_resolved_asset_specs(func=_freshness)
