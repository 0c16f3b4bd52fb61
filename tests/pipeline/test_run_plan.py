"""What `trending materialize` runs: the stale assets and their downstream, decided by
Dagster's data versions (`defs/automation/run_plan.py`). Real materialisations of a small
graph on a real instance; the code versions change as a code change would change them."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from trending_assets.defs.automation.run_plan import plan
from trending_assets.defs.shared import RETRY_PENDING

DAY, NEXT_DAY = "2026-10-10", "2026-10-11"
DAYS = dg.DailyPartitionsDefinition(start_date="2026-10-01", end_date="2026-10-20")
CRAWL, SOURCE, STAGED, MART, REPORT = (
    dg.AssetKey(name) for name in ("crawl", "source", "staged", "mart", "report")
)


def graph(
    *,
    versions: dict[str, str] | None = None,
    source_content: str = "v1",
    check_passes: bool = True,
    retry_pending: int = 0,
    report_fails: bool = False,
) -> list:
    """crawl (daily) -> staged <- source (content-hash data version); staged -> mart -> report."""
    versions = {"staged": "1", "mart": "1", "report": "1", "source": "1", **(versions or {})}

    @dg.asset(key=CRAWL, partitions_def=DAYS)
    def crawl() -> None:
        return None

    @dg.asset(key=SOURCE, code_version=versions["source"])
    def source() -> dg.MaterializeResult:
        return dg.MaterializeResult(data_version=dg.DataVersion(source_content))

    @dg.asset(key=STAGED, deps=[CRAWL, SOURCE], code_version=versions["staged"])
    def staged() -> None:
        return None

    @dg.asset(key=MART, deps=[STAGED], code_version=versions["mart"])
    def mart() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={RETRY_PENDING: retry_pending})

    @dg.asset_check(asset=MART, blocking=True)
    def mart_is_good() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=check_passes)

    @dg.asset(key=REPORT, deps=[MART], code_version=versions["report"])
    def report() -> None:
        if report_fails:
            raise RuntimeError("the report step failed")

    return [crawl, source, staged, mart, mart_is_good, report]


@pytest.fixture
def instance(tmp_path: Path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        yield instance


def run(instance, assets: list, selection: list[dg.AssetKey] | None = None, day: str = DAY):
    """Materialise the unpartitioned part (or ``selection``), then the crawl of ``day``,
    as the CLI's job does; returns whether the run succeeded."""
    keys = selection if selection is not None else [CRAWL, SOURCE, STAGED, MART, REPORT]
    if CRAWL in keys:
        dg.materialize(assets, instance=instance, selection=[CRAWL], partition_key=day)
    rest = [k for k in keys if k != CRAWL]
    if not rest:
        return True
    result = dg.materialize(assets, instance=instance, selection=rest, raise_on_error=False)
    return result.success


def planned(instance, assets: list, day: str = DAY):
    defs = dg.Definitions(assets=assets)
    graph_ = defs.resolve_asset_graph()
    return plan(graph_, instance, graph_.get_all_asset_keys(), day)


def test_nothing_materialised_yet_runs_everything(instance) -> None:
    result = planned(instance, graph())
    assert set(result.selection) == {CRAWL, SOURCE, STAGED, MART, REPORT}
    assert result.reasons[CRAWL] == f"never materialised for {DAY}"
    assert result.up_to_date == 0


def test_an_unchanged_rerun_runs_nothing(instance) -> None:
    assets = graph()
    assert run(instance, assets)
    result = planned(instance, assets)
    assert result.selection == [] and result.up_to_date == 5
    assert result.describe() == "all 5 assets are up to date"


def test_the_plan_reads_every_assets_record_in_one_query(instance, monkeypatch) -> None:
    """The whole graph's records come in one batch; the latest materialisation of a whole
    asset is read from its record, and only a partition's costs a query of its own (each
    query costs several milliseconds; `make materialize` plans before every run)."""
    assets = graph()
    assert run(instance, assets)
    batches: list[int] = []
    fetches: list[dg.AssetRecordsFilter] = []
    get_records, fetch = instance.get_asset_records, instance.fetch_materializations

    def counted_get_records(*args, **kwargs):
        batches.append(len(list(args[0] if args else kwargs.get("asset_keys") or [])))
        return get_records(*args, **kwargs)

    def counted_fetch(records_filter, *args, **kwargs):
        fetches.append(records_filter)
        return fetch(records_filter, *args, **kwargs)

    monkeypatch.setattr(instance, "get_asset_records", counted_get_records)
    monkeypatch.setattr(instance, "fetch_materializations", counted_fetch)
    result = planned(instance, assets)
    assert result.selection == [] and result.up_to_date == 5
    assert batches == [5], batches
    # Only the daily crawl's partition is fetched by itself; Dagster's resolver may fetch
    # it too, but no whole asset is fetched one by one.
    assert fetches and all(f.asset_partitions for f in fetches), fetches


def test_a_new_code_version_runs_that_asset_and_its_downstream_only(instance) -> None:
    assert run(instance, graph())
    result = planned(instance, graph(versions={"mart": "2"}))
    assert set(result.selection) == {MART, REPORT}
    assert result.reasons == {MART: "has a new code version"}
    assert "2 to run, 3 up to date" in result.describe()


def test_a_source_with_the_same_content_leaves_its_downstream_up_to_date(instance) -> None:
    assert run(instance, graph())
    # The volatile source read again: same content, same data version.
    assert run(instance, graph(), selection=[SOURCE])
    assert planned(instance, graph()).selection == []
    # New content: everything that reads it is stale.
    changed = graph(source_content="v2")
    assert run(instance, changed, selection=[SOURCE])
    result = planned(instance, changed)
    assert set(result.selection) == {STAGED, MART, REPORT}
    assert "source has a new data version" in result.reasons[STAGED]


def test_a_new_crawl_day_runs_its_readers(instance) -> None:
    assert run(instance, graph())
    result = planned(instance, graph(), day=NEXT_DAY)
    assert set(result.selection) == {CRAWL, STAGED, MART, REPORT}
    # The day crawled by another run (a schedule, say): the readers are still stale.
    assert run(instance, graph(), selection=[CRAWL], day=NEXT_DAY)
    result = planned(instance, graph(), day=NEXT_DAY)
    assert set(result.selection) == {STAGED, MART, REPORT}
    assert result.reasons[STAGED] == "crawl has a newer crawled day"


def test_a_failed_blocking_check_runs_the_asset_and_its_downstream_again(instance) -> None:
    assert not run(instance, graph(check_passes=False))  # report never ran
    result = planned(instance, graph())
    assert set(result.selection) == {MART, REPORT}
    assert result.reasons[MART] == "its last run did not succeed"


def test_a_run_that_failed_later_keeps_what_passed_its_checks(instance) -> None:
    assert run(instance, graph())
    # New code for staged; the run fails at report, after mart passed its check.
    assert not run(instance, graph(versions={"staged": "2"}, report_fails=True))
    result = planned(instance, graph(versions={"staged": "2"}))
    assert result.selection == [REPORT]
    assert result.reasons[REPORT].startswith("mart has a new")


def test_work_left_to_retry_runs_the_asset_again(instance) -> None:
    assert run(instance, graph(retry_pending=3))
    result = planned(instance, graph())
    assert set(result.selection) == {MART, REPORT}
    assert result.reasons[MART] == "3 items to retry"
    assert run(instance, graph(), selection=[MART, REPORT])
    assert planned(instance, graph()).selection == []


def test_configured_datasets_and_the_tmdb_api_are_read_first(monkeypatch) -> None:
    from trending_assets.defs.ingest.assets import (
        RAW_API_RELEASES,
        RAW_DATASET_LISTINGS,
        RAW_DATASET_REVIEWS,
        volatile_sources,
    )
    from trending_assets.defs.resources import TmdbApiResource
    from trending_assets.settings import get_settings

    monkeypatch.delenv("TMDB_API_KEY", raising=False)
    monkeypatch.delenv("TRENDING_DATASET_PATHS", raising=False)
    off = TmdbApiResource(base_url=None, max_pages=1)
    # Unconfigured (the demo): they store nothing, and their code version says it all.
    assert volatile_sources(get_settings(), off) == []
    monkeypatch.setenv("TRENDING_DATASET_PATHS", "tmdb5000=/data/tmdb")
    monkeypatch.setenv("TMDB_API_KEY", "k")
    assert volatile_sources(get_settings(), off) == [
        RAW_DATASET_LISTINGS, RAW_DATASET_REVIEWS, RAW_API_RELEASES,
    ]  # fmt: skip
