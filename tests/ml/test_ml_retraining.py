"""The retraining rule: count trainable labelled titles, compare with the last training."""

import pandas as pd

from trending_assets.lib.ml.retraining import (
    TrainingBaseline,
    baseline_from_metadata,
    count_trainable_titles,
    decide_retraining,
)

PLOT = "A detective and her partner chase a thief across the city at night."


def _marts(rows: list[tuple[str, str | None, list[str]]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    titles = pd.DataFrame(
        [
            {"title_id": i, "title": i.upper(), "plot": plot, "title_type": "movie",
             "original_language": "en", "sources": ["demo"]}
            for i, plot, _ in rows
        ]
    )  # fmt: skip
    genres = pd.DataFrame(
        [{"title_id": i, "genre_id": g} for i, _, gs in rows for g in gs],
        columns=["title_id", "genre_id"],
    )
    return titles, genres


def test_only_titles_training_would_use_are_counted() -> None:
    titles, genres = _marts(
        [
            ("t1", PLOT, ["crime"]),
            ("t2", PLOT, ["crime", "drama"]),  # two genres: still one title
            ("t3", PLOT, []),  # no source genre
            ("t4", None, ["drama"]),  # no plot
            ("t5", "Too short.", ["drama"]),  # short plot
            (
                "t6",
                "Un détective et son partenaire poursuivent un voleur dans la ville la nuit.",
                ["crime"],
            ),
        ]
    )
    assert count_trainable_titles(titles, genres) == 2


def test_baseline_is_what_the_last_training_saw() -> None:
    metadata = {
        "dagster/row_count": 120,
        "excluded": {"no_genre": 9, "no_label_after_genre_drop": 3},
        "fingerprint": "ab",
    }
    assert baseline_from_metadata(metadata) == TrainingBaseline(titles=123, fingerprint="ab")
    assert baseline_from_metadata({"dagster/row_count": 7}) == TrainingBaseline(titles=7)
    assert baseline_from_metadata(None) is None
    assert baseline_from_metadata({"fingerprint": "ab"}) is None


def test_retrain_only_from_the_threshold_on() -> None:
    baseline = TrainingBaseline(titles=100)
    below = decide_retraining(149, baseline, 50)
    assert (
        not below.retrain
        and below.new_titles == 49
        and "fewer than the threshold 50" in below.reason
    )
    at = decide_retraining(150, baseline, 50)
    assert at.retrain and at.new_titles == 50 and at.baseline_titles == 100
    # Titles merged away offset new ones; a shrinking catalogue never retrains.
    assert not decide_retraining(80, baseline, 50).retrain
    # Nothing new: no retraining, even with the smallest threshold (0 is taken as 1).
    assert not decide_retraining(100, baseline, 0).retrain
    assert decide_retraining(101, baseline, 0).retrain


def test_first_training_needs_data_only() -> None:
    assert decide_retraining(10, None, 50).retrain
    assert not decide_retraining(0, None, 50).retrain
