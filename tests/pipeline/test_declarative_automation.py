"""Declarative automation, evaluated on real test instances with the project's own conditions.

The behaviour tests build a small graph of stand-in assets under the project's real keys,
groups and kinds, and pass it through the project's policy (``apply_platform_policy``),
so the conditions are exactly the ones the code location applies. The last tests load the
whole code location: its sensors, and one evaluation of the full graph.
"""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from trending_assets import definitions as platform
from trending_assets.defs.automation import declarative
from trending_assets.defs.ingest.assets import daily_partitions
from trending_assets.settings import get_settings

NOW = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
TODAY, YESTERDAY = "2026-11-20", "2026-11-19"
RAW = dg.AssetKey(["raw", "listings"])
RAW_CHECK = "raw_listings_matches_CrawledListing"
TITLES_CHECK = "titles_matches_TitlesMart"
TRAINING = ("training_set", "genre_model_keyword")


# --- a small graph under the project's keys ---------------------------------------------------


class TitlesConfig(dg.Config):
    passed: bool = True  # the outcome of the mart's blocking check


@dg.asset(
    key=RAW,
    group_name="ingest",
    partitions_def=daily_partitions,
    check_specs=[dg.AssetCheckSpec(RAW_CHECK, asset=RAW, blocking=True)],
)
def raw_listings():  # never run: its events are reported
    pass


@dg.asset(
    deps=[RAW],
    group_name="warehouse",
    kinds={"dbt"},
    check_specs=[dg.AssetCheckSpec(TITLES_CHECK, asset="titles", blocking=True)],
)
def titles(config: TitlesConfig) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        check_results=[dg.AssetCheckResult(check_name=TITLES_CHECK, passed=config.passed)]
    )


@dg.asset(deps=[RAW], group_name="warehouse", kinds={"dbt"})
def title_genres() -> None: ...


@dg.asset(deps=["titles", "title_genres"], group_name="models")
def training_set() -> None: ...


@dg.asset(deps=["training_set"], group_name="models")
def genre_model_keyword() -> None: ...


@dg.asset(deps=["genre_model_keyword"], group_name="models")
def model_evaluation() -> None: ...


@dg.asset(deps=["model_evaluation"], group_name="models")
def champion_model() -> None: ...


@dg.asset(deps=["champion_model", "titles"], group_name="enrichment")
def title_predictions() -> None: ...


@dg.asset(deps=["titles"], group_name="serving")
def trending_scores() -> None: ...


@dg.asset(deps=["titles", "title_predictions", "trending_scores"], group_name="serving")
def serving_snapshot() -> None: ...


STAND_INS = [
    raw_listings, titles, title_genres, training_set, genre_model_keyword, model_evaluation,
    champion_model, title_predictions, trending_scores, serving_snapshot,
]  # fmt: skip
ALL_KEYS = [k for a in STAND_INS for k in a.keys]


@pytest.fixture(scope="module")
def small_defs() -> dg.Definitions:
    return platform.apply_platform_policy(
        dg.Definitions(
            assets=STAND_INS, sensors=[declarative.automation_dbt, declarative.automation_python]
        )
    )


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch) -> Path:
    """Never the checkout's data/: the retraining condition reads the warehouse of the settings."""
    monkeypatch.setenv("TRENDING_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TRENDING_WAREHOUSE_PATH", raising=False)
    return tmp_path


@pytest.fixture
def warehouse(data_dir: Path) -> Path:
    path = get_settings().warehouse
    with duckdb.connect(str(path)) as con:
        con.execute(
            "create table titles (title_id varchar, title varchar, plot varchar, title_type varchar,"
            " original_language varchar, sources varchar[])"
        )
        con.execute("create table title_genres (title_id varchar, genre_id varchar)")
    return path


def add_labelled_titles(path: Path, start: int, count: int) -> None:
    plot = "A detective and her partner chase a thief across the city at night, number {}."
    with duckdb.connect(str(path)) as con:
        for i in range(start, start + count):
            con.execute(
                "insert into titles values (?, ?, ?, 'movie', 'en', ['demo'])",
                [f"t{i}", f"Title {i}", plot.format(i)],
            )
            con.execute("insert into title_genres values (?, 'crime')", [f"t{i}"])


class Ticks:
    """Successive evaluations on one instance, the cursor handed on like the daemon does."""

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance) -> None:
        self.defs, self.instance, self.cursor = defs, instance, None

    def __call__(self) -> set[str]:
        result = dg.evaluate_automation_conditions(
            defs=self.defs, instance=self.instance, evaluation_time=NOW, cursor=self.cursor
        )
        self.cursor = result.cursor
        return {
            key.to_user_string()
            for key in self.defs.resolve_asset_graph().get_all_asset_keys()
            if result.get_num_requested(key)
        }


def materialise(
    instance: dg.DagsterInstance,
    key: str | dg.AssetKey,
    partition: str | None = None,
    checks: dict[str, bool] | None = None,
    metadata: dict | None = None,
) -> None:
    key = dg.AssetKey.from_user_string(key) if isinstance(key, str) else key
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=key, partition=partition, metadata=metadata)
    )
    for name, passed in (checks or {}).items():
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=key, check_name=name, passed=passed, partition=partition
            )
        )


def build_titles(instance: dg.DagsterInstance, passed: bool = True) -> None:
    """A real run of the titles stand-in: its blocking check passes or fails (the run then fails)."""
    result = dg.materialize(
        [titles],
        instance=instance,
        run_config={"ops": {"titles": {"config": {"passed": passed}}}},
        raise_on_error=False,
    )
    assert result.success == passed


def materialise_everything(instance: dg.DagsterInstance) -> None:
    materialise(instance, RAW, YESTERDAY, {RAW_CHECK: True})
    build_titles(instance)
    for key in ALL_KEYS:
        if key.to_user_string() not in ("raw/listings", "titles"):
            materialise(instance, key)


# --- the policy -------------------------------------------------------------------------------


def test_the_policy_gives_each_kind_of_asset_its_condition(small_defs) -> None:
    graph = small_defs.resolve_asset_graph()

    def condition(key: str):
        return graph.get(dg.AssetKey.from_user_string(key)).automation_condition

    assert condition("raw/listings") is None
    for key in TRAINING:
        assert condition(key) is platform.RETRAIN
    for key in ("model_evaluation", "champion_model", "serving_snapshot", "trending_scores"):
        assert condition(key) is platform.EAGER
    # the marts' stand-ins read the daily-partitioned crawl directly
    assert condition("titles") is condition("title_genres") is platform.EAGER_AFTER_DAILY


def test_a_new_crawl_day_flows_eagerly_to_the_snapshot_but_does_not_retrain(small_defs) -> None:
    with dg.instance_for_test() as instance:
        materialise_everything(instance)
        tick = Ticks(small_defs, instance)
        # Everything is materialised (what `make run` leaves behind): the first tick requests nothing.
        assert tick() == set()
        assert tick() == set()

        # Today's crawl lands; its blocking check passed.
        materialise(instance, RAW, TODAY, {RAW_CHECK: True})
        assert tick() == {
            "titles",
            "title_genres",
            "title_predictions",
            "trending_scores",
            "serving_snapshot",
        }
        assert tick() == set()  # requested once

        # The marts' run finished: nothing more to do for the unchanged downstream.
        materialise(instance, "trending_scores")
        assert tick() == {"serving_snapshot"}


def test_a_new_code_version_refreshes_the_eager_assets_but_does_not_retrain(
    small_defs, monkeypatch
) -> None:
    with dg.instance_for_test() as instance:
        materialise_everything(instance)
        tick = Ticks(small_defs, instance)
        assert tick() == set()
        # A setting that changes outputs: every code version is new (definitions.py).
        monkeypatch.setenv("TRENDING_TRENDING_HALF_LIFE_DAYS", "5")
        tick.defs = platform.apply_platform_policy(
            dg.Definitions(
                assets=STAND_INS,
                sensors=[declarative.automation_dbt, declarative.automation_python],
            )
        )
        requested = tick()
        assert {"titles", "title_genres", "model_evaluation", "serving_snapshot"} <= requested
        assert not requested & set(TRAINING)  # the retraining rule alone retrains
        assert "raw/listings" not in requested
        assert tick() == set()  # once


def test_a_failed_blocking_check_holds_everything_downstream(small_defs) -> None:
    with dg.instance_for_test() as instance:
        materialise_everything(instance)
        tick = Ticks(small_defs, instance)
        assert tick() == set()

        materialise(instance, RAW, TODAY, {RAW_CHECK: False})
        assert tick() == set()

        # A mart whose blocking check failed does not feed the snapshot either.
        materialise(instance, "title_genres")
        build_titles(instance, passed=False)
        assert "serving_snapshot" not in tick()
        assert tick() == set()

        # Fixed: titles materialised again, its check passes; downstream catches up.
        build_titles(instance, passed=True)
        requested = tick()
        assert {"title_predictions", "trending_scores", "serving_snapshot"} <= requested
        assert not requested & set(TRAINING)


def test_retraining_waits_for_enough_new_labelled_titles(small_defs, warehouse: Path) -> None:
    threshold = get_settings().retrain_min_new_titles
    add_labelled_titles(warehouse, 0, 100)
    with dg.instance_for_test() as instance:
        materialise_everything(instance)
        # The last training saw 100 trainable labelled titles.
        materialise(instance, "training_set", metadata={"dagster/row_count": 100, "excluded": {}})
        tick = Ticks(small_defs, instance)
        assert not tick() & set(TRAINING)

        # New titles arrive, one fewer than the threshold: the marts update, no retraining.
        add_labelled_titles(warehouse, 100, threshold - 1)
        materialise(instance, "title_genres")
        build_titles(instance)
        requested = tick()
        assert "title_predictions" in requested and not requested & set(TRAINING)
        assert not tick() & set(TRAINING)

        # One more: the training assets are requested, and what follows them eagerly.
        add_labelled_titles(warehouse, 100 + threshold - 1, 1)
        materialise(instance, "title_genres")
        build_titles(instance)
        requested = tick()
        assert (
            set(TRAINING) | {"model_evaluation", "champion_model", "serving_snapshot"} <= requested
        )
        assert not tick() & set(TRAINING)  # once

        # Retrained on 100 + threshold titles: the next mart update starts counting from there.
        materialise(
            instance,
            "training_set",
            metadata={"dagster/row_count": 100 + threshold, "excluded": {}},
        )
        materialise(instance, "genre_model_keyword")
        add_labelled_titles(warehouse, 100 + threshold, 1)
        materialise(instance, "title_genres")
        build_titles(instance)
        assert not tick() & set(TRAINING)


def test_an_unreadable_warehouse_postpones_the_retraining_check(small_defs) -> None:
    with dg.instance_for_test() as instance:
        materialise_everything(instance)
        tick = Ticks(small_defs, instance)
        build_titles(instance)
        assert not tick() & set(TRAINING)


# --- the whole code location ------------------------------------------------------------------


@pytest.fixture(scope="module")
def project_defs() -> dg.Definitions:
    return platform.defs()


def test_two_sensors_split_by_kind_cover_every_automated_asset_once(project_defs) -> None:
    graph = project_defs.resolve_asset_graph()
    repository = project_defs.get_repository_def()
    sensors = {
        s.name: s
        for s in repository.sensor_defs
        if isinstance(s, dg.AutomationConditionSensorDefinition)
    }
    assert set(sensors) == {"automation_dbt", "automation_python"}  # no default sensor
    targets = {name: s.asset_selection.resolve(graph) for name, s in sensors.items()}

    automated = {k for k in graph.get_all_asset_keys() if graph.get(k).automation_condition}
    assert not targets["automation_dbt"] & targets["automation_python"]
    assert automated == (targets["automation_dbt"] | targets["automation_python"])
    assert all("dbt" in graph.get(k).kinds for k in targets["automation_dbt"])
    assert not any("dbt" in graph.get(k).kinds for k in targets["automation_python"])
    # Only the ingest assets are left to the schedule and sensors.
    assert {k.to_user_string() for k in graph.get_all_asset_keys() - automated} == {
        "raw/listings", "raw/reviews", "raw/dataset_listings", "raw/dataset_reviews", "raw/api_releases",
    }  # fmt: skip
    for sensor in sensors.values():
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
        assert sensor.minimum_interval_seconds >= 60
    # The custom retraining condition is evaluated in the code server, the dbt models in the daemon.
    assert sensors["automation_python"].sensor_type.name == "AUTOMATION"
    assert sensors["automation_dbt"].sensor_type.name == "AUTO_MATERIALIZE"


def test_the_whole_graph_updates_after_a_crawl_day_except_the_training(project_defs) -> None:
    graph = project_defs.resolve_asset_graph()
    with dg.instance_for_test() as instance:
        for key in graph.get_all_asset_keys():
            checks = {c.name: True for c in graph.get(key).check_keys}
            partition = YESTERDAY if graph.get(key).partitions_def else None
            materialise(instance, key, partition, checks)
        tick = Ticks(project_defs, instance)
        assert tick() == set()

        materialise(instance, RAW, TODAY, {RAW_CHECK: True})
        requested = tick()
        assert {
            "stg_crawl__listings", "titles", "title_genres", "text_embeddings", "title_predictions",
            "llm_enrichments", "trending_scores", "serving_snapshot", "drift_report",
        } <= requested  # fmt: skip
        assert not requested & {
            *platform.TRAINING_ASSETS, "model_evaluation", "champion_model", "stg_crawl__reviews",
        }  # fmt: skip
