"""Cross-source evaluation helpers: de-duplication, label masks, masked metrics, calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trending_assets.lib.ml.crosssource import (
    calibration_table,
    cross_source_duplicates,
    expected_calibration_error,
    expressible_genres,
    label_mask,
    masked_evaluate,
    normalise_title,
    title_key,
)
from trending_assets.lib.ml.metrics import evaluate

MAPS = {
    # a movie database: no TV genres, no "kids"
    "tmdb_5000": {"action": ["action"], "comedy": ["comedy"], "horror": ["horror"]},
    # a family platform: no horror; "kids" (a TV genre, family on a movie)
    "disney_plus": {"action-adventure": ["action"], "comedy": ["comedy"], "kids": ["kids"]},
}
GENRES = ["action", "comedy", "horror", "family", "kids"]


def test_normalise_title_ignores_case_accents_and_punctuation() -> None:
    assert normalise_title("Amélie!") == normalise_title("amelie")
    assert normalise_title("Fast & Furious") == normalise_title("Fast and  Furious")
    assert title_key("Up", 2009.0) == ("up", 2009)
    assert title_key("Up", None) == ("up", None)


def test_a_leaked_duplicate_is_removed_from_the_training_side() -> None:
    train = [title_key("The Matrix", 1999), title_key("Heat", 1995), title_key("Up", 2009)]
    test = [title_key("the matrix", 1999), title_key("Up", 1980)]
    assert cross_source_duplicates(train, test).tolist() == [True, False, False]
    # one year apart matches only with a tolerance; a missing year matches any year
    assert cross_source_duplicates(train, [("heat", 1996)]).tolist() == [False, False, False]
    assert cross_source_duplicates(train, [("heat", 1996)], year_tolerance=1).tolist() == [
        False,
        True,
        False,
    ]
    assert cross_source_duplicates(train, [("up", None)]).tolist() == [False, False, True]
    # an empty title never matches
    assert not cross_source_duplicates([("", 2000)], [("", 2000)]).any()


def test_expressible_genres_follow_the_dbt_mapping_rules() -> None:
    assert expressible_genres(MAPS["tmdb_5000"], "movie") == {"action", "comedy", "horror"}
    # kids applies to TV; on a movie the mapping turns it into family
    assert expressible_genres(MAPS["disney_plus"], "tv") == {"action", "comedy", "kids"}
    assert expressible_genres(MAPS["disney_plus"], "movie") == {"action", "comedy", "family"}


def test_label_mask_per_source_type_and_merged_sources() -> None:
    meta = pd.DataFrame(
        {
            "source": ["tmdb_5000", "disney_plus", "disney_plus+tmdb_5000", "unknown_src"],
            "title_type": ["movie", "tv", "movie", "movie"],
        }
    )
    mask = label_mask(meta, MAPS, GENRES)
    # kids does not apply to a movie: a known negative for every movie, whatever its source
    assert mask.tolist() == [
        [True, True, True, False, True],
        [True, True, False, False, True],
        [True, True, True, True, True],  # the union of both vocabularies
        [False, False, False, False, True],
    ]


def test_an_unknown_genre_is_not_a_false_negative() -> None:
    # Title 0 (Disney+) cannot say horror; the model predicts horror for it. Title 1
    # (TMDB) is horror and predicted so.
    y = np.array([[1, 0, 0], [0, 0, 1]])
    pred = np.array([[1, 0, 1], [0, 0, 1]])
    mask = np.array([[True, True, False], [True, True, True]])
    genres = ["action", "comedy", "horror"]
    masked = masked_evaluate(y, pred, mask, genres)
    plain = evaluate(y, pred, genres)
    per_genre = {g["genre"]: g for g in masked["per_genre"]}
    assert per_genre["horror"]["f1"] == pytest.approx(1.0)
    assert per_genre["horror"]["known"] == 1
    # unmasked, the horror prediction on the Disney+ title is a false positive
    assert {g["genre"]: g["f1"] for g in plain["per_genre"]}["horror"] < 1.0
    # comedy: no positive anywhere, so not in the macro average
    assert masked["evaluated_genres"] == ["action", "horror"]
    assert masked["macro_f1"] == pytest.approx(1.0)
    assert masked["micro_f1"] == pytest.approx(1.0)
    assert masked["samples_f1"] == pytest.approx(1.0)
    # and a missed known genre still counts
    missed = masked_evaluate(y, np.array([[0, 1, 0], [0, 0, 1]]), mask, genres)
    assert {g["genre"]: g["f1"] for g in missed["per_genre"]}["action"] == 0.0
    assert missed["macro_f1"] == pytest.approx(0.5)


def test_masked_evaluate_rejects_a_positive_on_an_unknown_cell() -> None:
    with pytest.raises(ValueError, match="unknown"):
        masked_evaluate(np.array([[1]]), np.array([[1]]), np.array([[False]]), ["action"])


def test_a_genre_unknown_everywhere_is_reported_and_not_averaged() -> None:
    y = np.array([[1, 0], [1, 0]])
    pred = np.array([[1, 1], [1, 1]])
    mask = np.array([[True, False], [True, False]])
    result = masked_evaluate(y, pred, mask, ["action", "war"])
    assert result["unknown_genres"] == ["war"]
    assert result["macro_f1"] == pytest.approx(1.0)


def test_ece_of_a_perfectly_calibrated_set_is_zero_and_of_an_overconfident_one_is_not() -> None:
    rng = np.random.default_rng(0)
    # Within each bin the predicted probability equals the observed positive rate.
    proba = np.repeat([0.05, 0.25, 0.55, 0.85], 200).reshape(-1, 1)
    y = np.zeros_like(proba, dtype=int)
    for value in (0.05, 0.25, 0.55, 0.85):
        rows = np.flatnonzero(proba[:, 0] == value)
        y[rng.choice(rows, int(round(value * len(rows))), replace=False), 0] = 1
    table = calibration_table(y, proba, bins=10)
    assert table["n"].sum() == len(y)
    assert expected_calibration_error(table) == pytest.approx(0.0, abs=1e-9)
    overconfident = np.where(proba > 0.5, 0.99, 0.01)
    assert expected_calibration_error(calibration_table(y, overconfident)) > 0.1


def test_calibration_table_counts_only_known_cells_and_puts_one_in_the_last_bin() -> None:
    y = np.array([[1, 0], [0, 1]])
    proba = np.array([[1.0, 0.9], [0.0, 0.2]])
    mask = np.array([[True, False], [True, True]])
    table = calibration_table(y, proba, mask, bins=5)
    assert table["n"].sum() == 3
    last = table.iloc[-1]
    assert last["n"] == 1 and last["observed_rate"] == 1.0
