"""A split that stays put from day to day, and the retraining rule that relies on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from test_ml_split import _examples

from trending_assets.lib.lake import LocalLake
from trending_assets.lib.ml.features import TfidfFeaturizer
from trending_assets.lib.ml.lifecycle import find_recent, train_and_register
from trending_assets.lib.ml.models import LogRegGenreModel
from trending_assets.lib.ml.registry import ModelRegistry
from trending_assets.lib.ml.split import (
    SPLIT_NAMES,
    assignment_record,
    make_split,
    read_assignment,
)


def test_titles_keep_their_part_and_new_titles_are_stratified_among_themselves() -> None:
    everything = _examples(460, seed=3)
    yesterday = make_split(everything.subset(range(400)), seed=7)
    today = make_split(everything, seed=7, previous=yesterday.assignment())
    before, after = yesterday.assignment(), today.assignment()
    assert all(after[i] == part for i, part in before.items())
    assert today.kept_assignment == len(before)
    new = {i: part for i, part in after.items() if i not in before}
    assert len(new) == 60
    # the 60 new titles are split with the same fractions (70/15/15, within rounding)
    counts = {name: sum(part == name for part in new.values()) for name in SPLIT_NAMES}
    assert 38 <= counts["train"] <= 46 and counts["validation"] >= 6 and counts["test"] >= 6
    # a fresh split of the same titles shuffles them: a model trained yesterday could
    # then be tested on its own training titles
    fresh = make_split(everything, seed=7)
    moved = sum(fresh.assignment()[i] != part for i, part in before.items())
    assert moved > 50
    # the fingerprint covers the assignment: same titles, other parts, other fingerprint
    assert fresh.fingerprint != today.fingerprint
    assert make_split(everything, seed=7, previous=before).fingerprint == today.fingerprint


def test_a_previous_assignment_that_leaves_a_part_empty_starts_afresh() -> None:
    examples = _examples(200, seed=1)
    everyone_in_train = {i: "train" for i in examples.ids}
    split = make_split(examples, seed=7, previous=everyone_in_train)
    assert split.kept_assignment == 0
    assert split.fingerprint == make_split(examples, seed=7).fingerprint


def test_the_assignment_record_round_trips_and_refuses_what_it_cannot_trust() -> None:
    split = make_split(_examples(200, seed=2), seed=7)
    split.lineage = split.fingerprint
    assignment, lineage = read_assignment(assignment_record(split), seed=7)
    assert assignment == split.assignment() and lineage == split.fingerprint
    assert read_assignment(assignment_record(split), seed=8) is None  # a new seed: afresh
    assert read_assignment(assignment_record(split), seed=7, fractions=(0.8, 0.1, 0.1)) is None
    for garbage in (None, b"", b"{not json", b"[]", b'{"seed": 7}'):
        assert read_assignment(garbage, seed=7) is None
    bad_part = assignment_record(split).replace(b'"test"', b'"holdout"')
    assert read_assignment(bad_part, seed=7) is None


def test_the_retraining_rule_keeps_a_model_until_enough_titles_changed(tmp_path: Path) -> None:
    everything = _examples(520, seed=4)
    everything.texts = [
        " ".join(["explosion"] * int(row[0]) + ["joke"] * int(row[1]) + ["tears"] * int(row[2])
                 + ["blood"] * int(row[3]) + ["plot", str(i % 7)])
        for i, row in enumerate(everything.labels)
    ]  # fmt: skip
    registry = ModelRegistry(LocalLake(tmp_path / "lake"))

    def model() -> LogRegGenreModel:
        return LogRegGenreModel(TfidfFeaturizer(char_ngrams=None, min_df=1), c_grid=(1.0,))

    first = make_split(everything.subset(range(400)), seed=7, min_genre_count=10)
    first.lineage = first.fingerprint
    trained = train_and_register(model(), first, registry, code_version="c1")

    # 30 new titles the next day, the split kept: under the rule's 50, the model is kept
    day2 = make_split(everything.subset(range(430)), seed=7, min_genre_count=10,
                      previous=first.assignment())  # fmt: skip
    day2.lineage = first.lineage
    kept, why = find_recent(model(), day2, registry, code_version="c1", min_new_titles=50)
    assert kept is not None and kept.reused
    assert kept.version.version == trained.version.version
    assert "30 titles added or removed" in why
    # its training titles are all still training titles
    assert set(first.train.ids) <= set(day2.train.ids)

    # 120 more titles (119 trainable): retrain
    day3 = make_split(everything, seed=7, min_genre_count=10, previous=first.assignment())
    day3.lineage = first.lineage
    again, why = find_recent(model(), day3, registry, code_version="c1", min_new_titles=50)
    changed = len(day3.assignment()) - len(first.assignment())
    assert again is None and changed > 100
    assert f"{changed} titles added or removed" in why and "retrains at 50" in why

    # a genre that no longer reaches the minimum (western: 12 examples) changes the genres
    fewer = make_split(everything.subset(range(430)), seed=7, min_genre_count=13,
                       previous=first.assignment())  # fmt: skip
    fewer.lineage = first.lineage
    again, why = find_recent(model(), fewer, registry, code_version="c1", min_new_titles=50)
    assert again is None and why.startswith("the genres changed") and "no longer western" in why

    # another lineage (a fresh split), other code or other settings: retrain
    other = make_split(everything.subset(range(430)), seed=7, min_genre_count=10)
    other.lineage = other.fingerprint
    assert find_recent(model(), other, registry, code_version="c1", min_new_titles=50)[0] is None
    assert find_recent(model(), day2, registry, code_version="c2", min_new_titles=50)[0] is None
    wider = LogRegGenreModel(TfidfFeaturizer(char_ngrams=None, min_df=1), c_grid=(1.0, 4.0))
    assert find_recent(wider, day2, registry, code_version="c1", min_new_titles=50)[0] is None


def test_a_damaged_version_is_not_kept(tmp_path: Path) -> None:
    examples = _examples(300, seed=5)
    registry = ModelRegistry(LocalLake(tmp_path / "lake"))
    split = make_split(examples, seed=7)
    split.lineage = split.fingerprint
    model = LogRegGenreModel(TfidfFeaturizer(char_ngrams=None, min_df=1), c_grid=(1.0,))
    trained = train_and_register(model, split, registry, code_version="c1")
    artifact = tmp_path / "lake" / trained.version.artifact_key
    artifact.write_bytes(b"not the artifact" + np.random.default_rng(0).bytes(8))
    fresh = LogRegGenreModel(TfidfFeaturizer(char_ngrams=None, min_df=1), c_grid=(1.0,))
    kept, why = find_recent(fresh, split, registry, code_version="c1", min_new_titles=50)
    assert kept is None and "damaged" in why
