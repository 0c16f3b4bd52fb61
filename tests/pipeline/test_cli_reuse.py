"""`trending materialize` of a day crawled already reuses that crawl (one crawl per day);
`--full` crawls it again. Checked on a real instance and the real whole-graph job."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from trending_assets import cli
from trending_assets.definitions import defs
from trending_assets.defs.ingest.assets import RAW_LISTINGS, RAW_REVIEWS

DAY = "2026-10-10"


@pytest.fixture
def instance(tmp_path: Path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        yield instance


def _crawled(instance: dg.DagsterInstance, *keys: dg.AssetKey, day: str = DAY) -> None:
    for key in keys:
        instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=day))


def test_a_day_is_reused_only_once_both_feeds_are_stored(instance) -> None:
    definitions = defs()
    assert cli.reuse_crawl_selection(definitions, instance, DAY) is None
    _crawled(instance, RAW_LISTINGS)
    assert cli.reuse_crawl_selection(definitions, instance, DAY) is None  # half a crawl
    _crawled(instance, RAW_REVIEWS, day="2026-10-09")
    assert cli.reuse_crawl_selection(definitions, instance, DAY) is None  # another day
    _crawled(instance, RAW_REVIEWS)
    selection = cli.reuse_crawl_selection(definitions, instance, DAY)
    assert selection is not None
    assert RAW_LISTINGS not in selection and RAW_REVIEWS not in selection
    everything = set(definitions.resolve_all_asset_keys())
    assert set(selection) == everything - {RAW_LISTINGS, RAW_REVIEWS}


def test_the_whole_graph_job_runs_that_selection_without_the_crawl_step(instance) -> None:
    definitions = defs()
    _crawled(instance, RAW_LISTINGS, RAW_REVIEWS)
    selection = cli.reuse_crawl_selection(definitions, instance, DAY)
    job = definitions.resolve_job_def(cli.JOB_NAME).get_subset(asset_selection=set(selection))
    ops = {node.name for node in job.graph.nodes}
    assert "raw_crawl" not in ops
    assert {"warehouse_dbt_models", "genre_model_logreg", "serving_snapshot"} <= ops
