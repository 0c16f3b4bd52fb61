"""`trending materialize` of a day crawled already reuses that crawl (one crawl per day,
`defs/automation/run_plan.py`); `--full` crawls it again. Checked on a real instance and
the real whole-graph job."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from trending_assets import cli
from trending_assets.definitions import defs
from trending_assets.defs.ingest.assets import RAW_LISTINGS, RAW_REVIEWS, daily_partitions

DAY = "2026-10-10"


@pytest.fixture
def instance(tmp_path: Path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        yield instance


def _crawl_run(instance, day: str = DAY, *, keys=(RAW_LISTINGS, RAW_REVIEWS), ok=True) -> None:
    """A real run that materialises the crawl feeds of ``day`` (a stand-in for the crawl),
    failing its blocking check when not ``ok``."""
    specs = [dg.AssetSpec(key) for key in keys]

    @dg.multi_asset(specs=specs, partitions_def=daily_partitions, name="stand_in_crawl")
    def stand_in_crawl():
        for key in keys:
            yield dg.MaterializeResult(asset_key=key)

    @dg.asset_check(asset=keys[0], blocking=True)
    def stand_in_yield_check() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=ok)

    result = dg.materialize(
        [stand_in_crawl, stand_in_yield_check], instance=instance, partition_key=day,
        raise_on_error=False,
    )  # fmt: skip
    assert result.success is ok


def _crawl_planned(definitions, instance) -> set:
    selection = cli.plan_run(definitions, instance, DAY).selection
    return {RAW_LISTINGS, RAW_REVIEWS} & set(selection)


def test_a_day_is_reused_only_once_both_feeds_are_stored_by_a_good_run(instance) -> None:
    definitions = defs()
    crawl = {RAW_LISTINGS, RAW_REVIEWS}
    assert _crawl_planned(definitions, instance) == crawl
    _crawl_run(instance, keys=(RAW_LISTINGS,))
    assert _crawl_planned(definitions, instance) == {RAW_REVIEWS}  # half a crawl
    _crawl_run(instance, day="2026-10-09")
    assert _crawl_planned(definitions, instance) == {RAW_REVIEWS}  # another day
    _crawl_run(instance, ok=False)
    plan = cli.plan_run(definitions, instance, DAY)
    assert plan.reasons[RAW_LISTINGS] == "its last run did not succeed"  # its check failed
    _crawl_run(instance)
    plan = cli.plan_run(definitions, instance, DAY)
    assert not crawl & set(plan.selection)
    # Nothing else was ever materialised on this instance: all of it runs.
    everything = set(definitions.resolve_job_def(cli.JOB_NAME).asset_layer.selected_asset_keys)
    assert set(plan.selection) == everything - crawl


def test_the_whole_graph_job_runs_that_selection_without_the_crawl_step(instance) -> None:
    definitions = defs()
    _crawl_run(instance)
    selection = cli.plan_run(definitions, instance, DAY).selection
    job = definitions.resolve_job_def(cli.JOB_NAME).get_subset(asset_selection=set(selection))
    ops = {node.name for node in job.graph.nodes}
    assert "raw_crawl" not in ops
    assert {"warehouse_dbt_models", "genre_model_logreg", "serving_snapshot"} <= ops


def test_a_dry_run_says_what_would_run_and_runs_nothing(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TRENDING_DATA_DIR", str(tmp_path / "data"))
    assert cli.materialize(DAY, dry_run=True) == 0
    out = capsys.readouterr().out
    everything = len(defs().resolve_job_def(cli.JOB_NAME).asset_layer.selected_asset_keys)
    assert f"what would run: {everything} assets, 0 up to date" in out
    assert "raw/listings" in out and f"never materialised for {DAY}" in out
    assert "summary" not in out
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        assert instance.get_run_records() == []
