"""`raw_crawl` on the next day carries unchanged title pages forward from the day before
(the previous crawl's files in the lake), and stores what fetching every page stores."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

from trending_assets.defs.ingest.assets import raw_crawl
from trending_assets.defs.resources import CrawlerResource, LakeResource, WarehouseResource
from trending_assets.defs.shared import FULL_RUN_TAG

DAY1, DAY2 = "2026-11-19", "2026-11-20"


def _crawl(tmp_path: Path, day: str, tags: dict[str, str] | None = None) -> dict[str, object]:
    result = dg.materialize(
        [raw_crawl],
        partition_key=day,
        tags=tags,
        resources={
            "crawler": CrawlerResource(demo_titles=60, timeout_s=300),
            "lake": LakeResource(local_root=str(tmp_path / "lake")),
            "warehouse": WarehouseResource(database=str(tmp_path / "warehouse.duckdb")),
        },
    )
    assert result.success
    return {
        e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }


def _stored(tmp_path: Path, day: str) -> dict[str, set[tuple]]:
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        return {
            "listings": set(con.execute(
                "select source, source_title_id, title, year, title_type, plot, genres::varchar "
                "from raw.listings where crawl_date = ?", [day],
            ).fetchall()),
            "reviews": set(con.execute(
                "select source, source_review_id, source_title_id, rating, review_date, text "
                "from raw.reviews where crawl_date = ?", [day],
            ).fetchall()),
        }  # fmt: skip


def test_the_next_day_carries_unchanged_pages_and_stores_what_a_full_crawl_stores(
    tmp_path: Path,
) -> None:
    first = _crawl(tmp_path, DAY1)
    assert first["raw/listings"]["crawl_carried_pages"] == 0  # nothing earlier to carry

    carried = _crawl(tmp_path, DAY2)
    stored_carried = _stored(tmp_path, DAY2)
    full = _crawl(tmp_path, DAY2, tags={FULL_RUN_TAG: "true"})  # FULL=1 fetches every page
    stored_full = _stored(tmp_path, DAY2)

    for feed in ("listings", "reviews"):
        meta_carried, meta_full = carried[f"raw/{feed}"], full[f"raw/{feed}"]
        assert meta_carried["crawl_carried_pages"] > 0, feed
        assert meta_full["crawl_carried_pages"] == 0, feed
        assert meta_carried["crawl_pages"] < meta_full["crawl_pages"], feed
        assert meta_carried["dagster/row_count"] == meta_full["dagster/row_count"], feed
        assert stored_carried[feed] and stored_carried[feed] == stored_full[feed], feed
