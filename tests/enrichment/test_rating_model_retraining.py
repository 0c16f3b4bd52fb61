"""The review-rating model (the local vibe score) follows a retraining rule: kept until the
rated reviews changed by `TRENDING_LLM_RATING_RETRAIN_MIN_CHANGE`, since a new model
re-enriches every title. Real materialisations of the real asset on a real instance."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from trending_assets.defs.enrichment.llm import review_rating_model
from trending_assets.defs.resources import EnrichmentResource, LakeIOManager, LakeResource
from trending_assets.defs.shared import FULL_RUN_TAG
from trending_assets.lib.enrichment.rating_model import rating_retrain_decision

GOOD = "a wonderful, moving film with great acting and a clever story"
BAD = "a dull, boring mess with awful acting and a stupid plot"


def test_the_rule_counts_reviews_added_or_removed() -> None:
    assert rating_retrain_decision(None, 100, 0.1).retrain
    kept = rating_retrain_decision(100, 105, 0.1)
    assert not kept.retrain and kept.reason.startswith("kept: +5 rated reviews (5.0%)")
    assert rating_retrain_decision(100, 110, 0.1).retrain
    assert rating_retrain_decision(100, 89, 0.1).retrain  # removed ones count too
    assert rating_retrain_decision(100, 100, 0.0).retrain  # 0: retrain on every run


def add_reviews(path: Path, start: int, count: int) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute(
            "create table if not exists reviews "
            "(review_id varchar, title_id varchar, text varchar, rating double)"
        )
        con.execute(
            "create table if not exists quarantine_reviews_unresolved (title_id varchar,"
            " source varchar, source_title_id varchar, review_text varchar, rating integer,"
            " reason varchar)"
        )
        for i in range(start, start + count):
            good = i % 2 == 0
            con.execute(
                "insert into reviews values (?, ?, ?, ?)",
                [f"r{i:04d}", f"t{i % 12}", (GOOD if good else BAD) + f" #{i}", 9 if good else 2],
            )


@pytest.fixture
def setup(tmp_path: Path):
    warehouse = tmp_path / "warehouse.duckdb"
    lake = LakeResource(local_root=str(tmp_path / "lake"))
    resources = {
        "warehouse": DuckDBResource(database=str(warehouse)),
        "lake": lake,
        "io_manager": LakeIOManager(lake=lake),
        "enrichment": EnrichmentResource(
            provider="local", base_url=None, model="m", prompt_version="v1",
            ab_prompt_version="v2", ab_sample_size=2, concurrency=1, max_total_tokens=None,
            max_cost_usd=None, max_quarantine_rate=0.5, max_reviews_per_title=5,
            rating_retrain_min_change=0.1,
        ),
    }  # fmt: skip
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        yield warehouse, resources, instance


def materialise(resources, instance, tags=None) -> dict:
    result = dg.materialize([review_rating_model], resources=resources, instance=instance,
                            tags=tags)  # fmt: skip
    assert result.success
    [event] = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_the_model_is_kept_until_enough_reviews_changed(setup) -> None:
    warehouse, resources, instance = setup
    add_reviews(warehouse, 0, 60)
    first = materialise(resources, instance)
    assert first["training_decision"].startswith("trained: no earlier model")
    assert first["training_reviews"] == 60

    add_reviews(warehouse, 60, 3)  # 5 %: the same model, so no title's vibe changes
    second = materialise(resources, instance)
    assert second["training_decision"].startswith("kept: +3 rated reviews (5.0%)")
    assert second["model_version"] == first["model_version"]
    assert (second["training_reviews"], second["current_reviews"]) == (60, 63)
    assert second["held_out_metrics"] == first["held_out_metrics"]

    add_reviews(warehouse, 63, 4)  # 7 since the training on 60: 11.7 %
    third = materialise(resources, instance)
    assert third["training_decision"].startswith("trained: +7 rated reviews")
    assert third["model_version"] != first["model_version"]
    assert third["training_reviews"] == 67

    forced = materialise(resources, instance, tags={FULL_RUN_TAG: "true"})
    assert forced["training_decision"] == "trained: a full run retrains"


def test_rated_reviews_no_title_was_found_for_are_trained_on_too(setup) -> None:
    """A dataset of reviews whose titles no listing names (aclImdb's IMDb ids) is
    quarantined from the reviews mart, and its rated texts still train the model."""
    warehouse, resources, instance = setup
    add_reviews(warehouse, 0, 60)
    with duckdb.connect(str(warehouse)) as con:
        unresolved = [
            (None, "aclimdb", f"tt{i % 7}", (GOOD if i % 2 else BAD) + f" {i}", 9 if i % 2 else 2,
             "no listings from this source")
            for i in range(20)
        ]  # fmt: skip
        unresolved += [
            (None, "aclimdb", "tt9", None, 8, "empty text after cleaning"),  # no text
            (None, "aclimdb", "tt9", "no rating given", None, "no listings from this source"),
            ("t-1", "reelhub", "rh-1", "placed, yet quarantined", 5, "other"),  # has a title
        ]
        con.executemany(
            "insert into quarantine_reviews_unresolved values (?, ?, ?, ?, ?, ?)", unresolved
        )
    metadata = materialise(resources, instance)
    assert metadata["training_reviews"] == 80
    assert metadata["training_reviews_of_titles"] == 60
    assert metadata["training_reviews_unresolved"] == 20


def test_an_unreadable_kept_model_is_retrained(setup, tmp_path: Path) -> None:
    warehouse, resources, instance = setup
    add_reviews(warehouse, 0, 60)
    materialise(resources, instance)
    for stored in (tmp_path / "lake" / "assets" / "review_rating_model").rglob("*.joblib"):
        stored.write_bytes(b"not a model")
    again = materialise(resources, instance)
    assert again["training_decision"].startswith("trained: the model to keep could not be read")


def test_a_new_code_version_retrains(setup) -> None:
    warehouse, resources, instance = setup

    def versioned(version: str) -> dg.AssetsDefinition:
        return review_rating_model.map_asset_specs(
            lambda spec: spec.replace_attributes(code_version=version)
        )

    add_reviews(warehouse, 0, 60)
    for version, expected in (("a", "trained: no earlier"), ("a", "kept"), ("b", "trained: no")):
        result = dg.materialize([versioned(version)], resources=resources, instance=instance)
        [event] = result.get_asset_materialization_events()
        decision = event.materialization.metadata["training_decision"].value
        assert decision.startswith(expected), (version, decision)
