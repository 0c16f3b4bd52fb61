"""The champion gate's metric: validation macro F1 balanced over the sources
(lifecycle.source_balanced_macro_f1, GATE_METRIC), and scoring a model that knows more
genres than the split (lifecycle.aligned)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trending_assets.lib.lake import LocalLake
from trending_assets.lib.ml.data import GenreExamples
from trending_assets.lib.ml.keyword import KeywordGenreModel
from trending_assets.lib.ml.lifecycle import (
    GATE_METRIC,
    aligned,
    choose_champion,
    source_balanced_macro_f1,
    train_and_register,
)
from trending_assets.lib.ml.registry import ModelRegistry
from trending_assets.lib.ml.split import make_split

GENRES = ["comedy", "horror"]


def _examples(sources: list[str], labels: np.ndarray) -> GenreExamples:
    n = len(sources)
    meta = pd.DataFrame({"title_type": "movie", "source": sources, "original_language": "en"})
    return GenreExamples([f"t{i}" for i in range(n)], ["plot"] * n, labels, GENRES, meta)


def test_each_source_counts_once_whatever_its_size() -> None:
    # 80 titles of a big source the model gets right, 20 of a small one it gets wrong.
    labels = np.tile(np.array([[1, 0], [0, 1]], dtype=np.uint8), (50, 1))
    sources = ["big"] * 80 + ["small"] * 20
    predicted = labels.copy()
    predicted[80:] = 1 - labels[80:]
    examples = _examples(sources, labels)
    balanced, by_source = source_balanced_macro_f1(labels, predicted, examples)
    assert by_source == {"big": 1.0, "small": 0.0}
    assert balanced == pytest.approx(0.5)
    pooled, _ = source_balanced_macro_f1(labels, predicted, _examples(["one"] * 100, labels))
    assert pooled == pytest.approx(0.8)  # one source: the pooled macro F1, nothing to balance
    assert pooled > balanced


def test_small_sources_get_no_score_of_their_own_and_merged_titles_count_for_each() -> None:
    labels = np.tile(np.array([[1, 0], [0, 1]], dtype=np.uint8), (30, 1))
    sources = ["a"] * 25 + ["a+b"] * 25 + ["c"] * 10
    _, by_source = source_balanced_macro_f1(labels, labels, _examples(sources, labels))
    assert set(by_source) == {"a", "b"}  # c has 10 titles, under the minimum of 20
    _, by_source = source_balanced_macro_f1(
        labels, labels, _examples(sources, labels), min_titles=5
    )
    assert set(by_source) == {"a", "b", "c"}


def test_a_model_with_more_genres_is_scored_on_the_splits() -> None:
    predicted = np.array([[1, 0, 1], [0, 1, 0]], dtype=np.uint8)
    out = aligned(predicted, ["horror", "reality", "comedy"], ["comedy", "horror", "western"])
    np.testing.assert_array_equal(out, [[1, 1, 0], [0, 0, 0]])
    assert aligned(predicted, GENRES + ["x"], GENRES + ["x"]) is predicted


def _two_source_split():
    rng = np.random.default_rng(1)
    words = {"comedy": "joke prank laugh", "horror": "ghost demon scream"}
    texts, labels, sources = [], [], []
    for i in range(600):
        genre = i % 2
        cue = " ".join(rng.choice(words[GENRES[genre]].split(), 2))
        texts.append(f"the people of the town {cue} after years")
        labels.append([1 - genre, genre])
        sources.append("site_a" if i % 3 else "site_b")
    meta = pd.DataFrame({"title_type": "movie", "source": sources, "original_language": "en"})
    examples = GenreExamples([f"s{i}" for i in range(600)], texts, np.array(labels), GENRES, meta)
    return make_split(examples, seed=3, min_genre_count=5)


def test_training_records_the_gate_metric_and_the_gate_uses_it(tmp_path: Path) -> None:
    split = _two_source_split()
    registry = ModelRegistry(LocalLake(tmp_path / "lake"))
    trained = train_and_register(KeywordGenreModel(), split, registry, code_version="c1")
    metrics = trained.version.metrics
    assert GATE_METRIC in metrics
    assert set(trained.report["validation_by_source"]) == {"site_a", "site_b"}
    expected = np.mean(list(trained.report["validation_by_source"].values()))
    assert metrics[GATE_METRIC] == pytest.approx(expected)

    # Two versions whose plain and balanced scores disagree: the balanced one decides.
    model_dir = tmp_path / "artifact"
    trained_model = KeywordGenreModel()
    trained_model.fit(split.train, split.validation)
    trained_model.save(model_dir)

    def register(plain: float, balanced: float | None):
        metrics = {"validation_macro_f1": plain}
        if balanced is not None:
            metrics[GATE_METRIC] = balanced
        return registry.register("keyword", model_dir, metrics=metrics, card="",
                                 fingerprint=split.fingerprint, code_version="c1")  # fmt: skip

    even = register(plain=0.70, balanced=0.68)  # good on both sources
    lopsided = register(plain=0.75, balanced=0.55)  # best pooled, poor on the small source
    champion, decision, challenger = choose_champion(registry, [lopsided, even], floor=0.1)
    assert challenger.version == even.version and decision.promote
    assert GATE_METRIC in decision.reason

    # A version registered before the gate metric existed is compared on plain validation.
    old = register(plain=0.80, balanced=None)
    champion, decision, _ = choose_champion(registry, [old], floor=0.1)
    assert decision.promote and champion.version == old.version
    assert "0.8000" in decision.reason
