"""The multi-label split: determinism, stratification, drops, fingerprint, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trending_assets.lib.ml.data import GenreExamples
from trending_assets.lib.ml.split import TrainingDataError, make_split

GENRES = ["action", "comedy", "drama", "horror", "western", "war"]


def _examples(n: int = 400, seed: int = 0, rare: int = 12, very_rare: int = 4) -> GenreExamples:
    rng = np.random.default_rng(seed)
    labels = np.zeros((n, len(GENRES)), dtype=np.uint8)
    labels[:, :4] = rng.random((n, 4)) < [0.4, 0.3, 0.5, 0.15]
    labels[rng.choice(n, rare, replace=False), 4] = 1  # western: rare but kept
    labels[rng.choice(n, very_rare, replace=False), 5] = 1  # war: below the minimum
    empty = ~labels.any(axis=1)
    labels[empty, 2] = 1  # everyone has a genre
    ids = [f"id{i:04d}" for i in range(n)]
    texts = [f"plot number {i}" for i in range(n)]
    meta = pd.DataFrame(
        {"title_type": ["movie"] * n, "source": ["s"] * n, "original_language": ["en"] * n}
    )
    return GenreExamples(ids, texts, labels, list(GENRES), meta)


def test_split_is_deterministic_and_order_independent() -> None:
    examples = _examples()
    first = make_split(examples, seed=7)
    again = make_split(examples, seed=7)
    shuffled = make_split(
        examples.subset(np.random.default_rng(1).permutation(len(examples))), seed=7
    )
    for name in ("train", "validation", "test"):
        assert getattr(first, name).ids == getattr(again, name).ids
        assert sorted(getattr(first, name).ids) == sorted(getattr(shuffled, name).ids)
    assert first.fingerprint == again.fingerprint == shuffled.fingerprint
    other_seed = make_split(examples, seed=8)
    assert other_seed.train.ids != first.train.ids
    assert other_seed.fingerprint != first.fingerprint


def test_split_sizes_stratification_and_drops() -> None:
    examples = _examples()
    result = make_split(examples, min_genre_count=10)
    assert result.dropped_genres == {"war": 4}
    assert result.genres == ["action", "comedy", "drama", "horror", "western"]
    assert result.train.genres == result.genres
    ids = result.train.ids + result.validation.ids + result.test.ids
    assert len(ids) == len(set(ids)) == len(examples) - result.excluded["no_label_after_genre_drop"]
    sizes = np.array([len(result.train), len(result.validation), len(result.test)]) / len(ids)
    assert np.allclose(sizes, [0.7, 0.15, 0.15], atol=0.03)
    total = examples.with_genres(result.genres).labels.sum(axis=0)
    for name, share in (("train", 0.7), ("validation", 0.15), ("test", 0.15)):
        counts = getattr(result, name).labels.sum(axis=0)
        assert (counts > 0).all(), f"every kept genre appears in {name}"
        # iterative stratification keeps each genre's share close to the split's share
        assert np.all(np.abs(counts - total * share) <= np.maximum(2, 0.1 * total * share)), name


def test_examples_left_without_a_genre_are_excluded() -> None:
    examples = _examples()
    only_war = examples.labels[:, GENRES.index("war")].astype(bool)
    examples.labels[only_war] = 0
    examples.labels[only_war, GENRES.index("war")] = 1
    result = make_split(examples, min_genre_count=10)
    assert result.excluded == {"no_label_after_genre_drop": int(only_war.sum())}
    kept = set(result.train.ids + result.validation.ids + result.test.ids)
    assert not kept & {examples.ids[i] for i in np.flatnonzero(only_war)}


def test_fingerprint_changes_with_text_labels_and_fractions() -> None:
    examples = _examples()
    base = make_split(examples).fingerprint
    edited = _examples()
    edited.texts[3] = edited.texts[3] + " (edited)"
    assert make_split(edited).fingerprint != base
    relabelled = _examples()
    relabelled.labels[5, 0] = 1 - relabelled.labels[5, 0]
    assert make_split(relabelled).fingerprint != base
    assert make_split(examples, fractions=(0.8, 0.1, 0.1)).fingerprint != base


def test_too_small_data_fails_with_a_clear_message() -> None:
    tiny = _examples(n=20, rare=2, very_rare=1)
    with pytest.raises(TrainingDataError, match="too few training examples to split: 20"):
        make_split(tiny, min_genre_count=1)
    with pytest.raises(TrainingDataError, match="no genre has at least 50 examples"):
        make_split(_examples(n=40, rare=2, very_rare=1), min_genre_count=50)
    with pytest.raises(TrainingDataError, match="split would be empty"):
        make_split(_examples(n=40), fractions=(0.98, 0.01, 0.01), min_genre_count=1)
    assert issubclass(TrainingDataError, ValueError)
