"""Metrics against hand-computed cases (and scikit-learn), thresholds on hand cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from trending_assets.lib.ml.metrics import evaluate, slice_metrics
from trending_assets.lib.ml.thresholds import apply_thresholds, tune_thresholds

Y_TRUE = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]])
Y_PRED = np.array([[1, 0, 0], [0, 1, 1], [1, 0, 0], [0, 0, 0]])
GENRES = ["a", "b", "c"]


def test_evaluate_matches_hand_computation() -> None:
    result = evaluate(Y_TRUE, Y_PRED, GENRES)
    # genre a: tp 2 fp 0 fn 0 -> F1 1
    # genre b: tp 1 fp 0 fn 1 -> P 1, R 1/2, F1 2/3
    # genre c: tp 0 fp 1 fn 2 -> P 0, R 0, F1 0
    per = {g["genre"]: g for g in result["per_genre"]}
    assert per["a"] == {"genre": "a", "precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
    assert per["b"]["precision"] == 1.0 and per["b"]["recall"] == 0.5
    assert per["b"]["f1"] == pytest.approx(2 / 3)
    assert per["c"]["f1"] == 0.0 and per["c"]["support"] == 2
    assert result["macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    # pooled: tp 3, fp 1, fn 3 -> 6 / (6 + 1 + 3)
    assert result["micro_f1"] == pytest.approx(6 / 10)
    # rows: 2*1/(2+1)=2/3, 2*1/(1+2)=2/3, 2*1/(2+1)=2/3, 0 (nothing predicted)
    assert result["samples_f1"] == pytest.approx((2 / 3 * 3 + 0) / 4)
    assert result["n_examples"] == 4
    assert result["label_cardinality"] == pytest.approx(6 / 4)
    assert result["predicted_cardinality"] == pytest.approx(4 / 4)


def test_evaluate_agrees_with_sklearn_zero_division_0() -> None:
    rng = np.random.default_rng(3)
    for _ in range(5):
        y = (rng.random((60, 6)) < 0.3).astype(int)
        p = (rng.random((60, 6)) < 0.25).astype(int)
        y[:, 5] = 0  # a genre with no positives
        p[:, 5] = 0  # ... and no predictions: F1 0 by zero_division=0
        result = evaluate(y, p, list("abcdef"))
        for average in ("macro", "micro", "samples"):
            expected = f1_score(y, p, average=average, zero_division=0)
            assert result[f"{average}_f1"] == pytest.approx(expected)


def test_evaluate_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError):
        evaluate(Y_TRUE, Y_PRED[:, :2], GENRES)
    with pytest.raises(ValueError):
        evaluate(Y_TRUE, Y_PRED, ["a", "b"])


def test_slice_metrics_by_meta_column() -> None:
    y = np.vstack([Y_TRUE, Y_TRUE])
    p = np.vstack([Y_PRED, Y_TRUE])  # the tv half is perfect
    meta = pd.DataFrame(
        {
            "title_type": ["movie"] * 4 + ["tv"] * 4,
            "source": ["x"] * 7 + ["y"],
            "original_language": [None] * 8,
        }
    )
    frame = slice_metrics(y, p, GENRES, meta, min_size=2)
    assert set(zip(frame["slice"], frame["value"], strict=True)) == {
        ("title_type", "movie"),
        ("title_type", "tv"),
        ("source", "x"),
    }  # y has one title (< min_size); languages are all missing
    tv = frame[(frame["slice"] == "title_type") & (frame["value"] == "tv")].iloc[0]
    assert tv["n"] == 4 and tv["macro_f1"] == 1.0 and tv["micro_f1"] == 1.0
    movie = frame[frame["value"] == "movie"].iloc[0]
    assert movie["macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    # macro over genres present in the slice only
    only_a = slice_metrics(np.array([[1, 0]] * 5), np.array([[1, 0]] * 5), ["a", "b"],
                           pd.DataFrame({"title_type": ["tv"] * 5}), by=("title_type", "absent"))  # fmt: skip
    assert only_a.iloc[0]["macro_f1"] == 1.0 and only_a.iloc[0]["genres_present"] == 1


def test_tune_thresholds_hand_cases() -> None:
    y = np.array([[1, 0, 1], [1, 0, 0], [0, 0, 1], [0, 0, 0]])
    proba = np.array([[0.9, 0.9, 0.3], [0.6, 0.2, 0.1], [0.4, 0.1, 0.35], [0.2, 0.3, 0.05]])
    grid = np.array([0.1, 0.25, 0.5, 0.7])
    # One or two positives per column: trust them (min_positives=1) to test the F1 search.
    thresholds = tune_thresholds(y, proba, grid=grid, fallback=0.5, min_positives=1)
    # column 0: 0.5 separates perfectly (F1 1); 0.25 also gives F1 0.8 only
    # column 1: no positive -> fallback
    # column 2: 0.25 catches both positives with no false one (F1 1), 0.1 adds a false one
    assert thresholds.tolist() == [0.5, 0.5, 0.25]


def test_tune_thresholds_ties_go_to_the_fallback_side() -> None:
    y = np.array([[1], [0]])
    proba = np.array([[0.8], [0.1]])  # anything in (0.1, 0.8] is perfect
    grid = np.array([0.2, 0.4, 0.6, 0.8])
    assert tune_thresholds(y, proba, grid=grid, fallback=0.5, min_positives=1)[0] == 0.4
    assert (
        tune_thresholds(y, proba, fallback=0.5, min_positives=1)[0] == 0.5
    )  # default grid holds 0.5


def test_apply_thresholds_with_and_without_at_least_one() -> None:
    proba = np.array([[0.6, 0.1, 0.2], [0.1, 0.15, 0.05], [0.0, 0.0, 0.0]])
    thresholds = np.array([0.5, 0.2, 0.5])
    plain = apply_thresholds(proba, thresholds, at_least_one=False)
    assert plain.tolist() == [[1, 0, 0], [0, 0, 0], [0, 0, 0]]
    assert plain.dtype == np.uint8
    fixed = apply_thresholds(proba, thresholds)
    # row 1: ratios 0.2, 0.75, 0.1 -> genre 1 (highest proba / threshold, not highest proba)
    assert fixed.tolist() == [[1, 0, 0], [0, 1, 0], [1, 0, 0]]
    with pytest.raises(ValueError):
        apply_thresholds(proba, thresholds[:2])
