"""Behavioural tests of the genre models (lib/ml/behaviour.py): the checks themselves can
fail, and the models trained on the demo catalogue pass them."""

import zlib

import numpy as np
import pandas as pd
import pytest

from scrapers.demo_site.catalog import build_catalog
from trending_assets.lib.ml.behaviour import (
    BehaviourResult,
    check_direction,
    check_invariance,
    check_minimum_functionality,
    check_no_universal_genre,
    run_all,
)
from trending_assets.lib.ml.data import GenreExamples
from trending_assets.lib.ml.split import make_split
from trending_assets.lib.taxonomy import genre_ids

GENRES = ["comedy", "horror", "romance"]


def _keyword_predict(texts):
    """A toy model that only looks at genre words: it has the behaviours."""
    words = {"comedy": ("joke", "hilarious"), "horror": ("ghost", "haunted", "demon"),
             "romance": ("love", "romance")}  # fmt: skip

    # Without its words a genre scores a low background that varies from text to text
    # (deterministically), so a plot with no genre word does not always fall to one genre.
    def background(genre: str, text: str) -> float:
        return 0.05 + 0.1 * (zlib.crc32(f"{genre}:{text}".encode()) % 100) / 100

    return np.array(
        [
            [0.9 if any(w in t.lower() for w in words[g]) else background(g, t) for g in GENRES]
            for t in texts
        ]
    )


def _name_sensitive_predict(texts):
    """A toy model that keys on a character's name: invariance must catch it."""
    return np.array([[0.9 if "Felix" in t else 0.1, 0.1, 0.1] for t in texts])


def test_the_checks_pass_a_model_with_the_behaviours() -> None:
    thresholds = np.full(len(GENRES), 0.5)
    results = run_all(_keyword_predict, GENRES, thresholds)
    assert results and all(r.passed for r in results), [r for r in results if not r.passed]


def test_the_checks_catch_models_without_them() -> None:
    thresholds = np.full(len(GENRES), 0.5)
    invariance = check_invariance(_name_sensitive_predict, GENRES, thresholds)
    assert [r.case for r in invariance if not r.passed] == ["'Tom' -> 'Felix'"]
    flat = lambda texts: np.full((len(texts), len(GENRES)), 0.2)  # noqa: E731
    assert not any(r.passed for r in check_direction(flat, GENRES))
    # A model that ranks the obvious genre last fails minimum functionality.
    inverted = lambda texts: 1 - _keyword_predict(texts)  # noqa: E731
    results = check_minimum_functionality(inverted, GENRES, thresholds, top_k=1)
    assert results and not any(r.passed for r in results)
    # A genre whose threshold sits under its score on any text fires on every varied plot.
    universal = check_no_universal_genre(_keyword_predict, GENRES, np.array([0.5, 0.05, 0.5]))
    assert [r.case for r in universal if not r.passed] == ["horror not on every varied plot"]


def test_genres_the_model_does_not_know_are_skipped() -> None:
    results = check_direction(_keyword_predict, ["comedy"])
    assert results == []
    assert all(isinstance(r, BehaviourResult) for r in run_all(_keyword_predict, GENRES, [0.5] * 3))


@pytest.fixture(scope="module")
def demo_split():
    catalog = build_catalog(n_titles=600, seed=7)
    genres = list(genre_ids())
    titles = [t for t in catalog.titles if t.plot and t.genres]
    labels = np.array([[int(g in t.genres) for g in genres] for t in titles], dtype=np.uint8)
    examples = GenreExamples(
        ids=[t.key for t in titles], texts=[t.plot for t in titles], labels=labels,
        genres=genres,
        meta=pd.DataFrame({"title_type": [t.title_type for t in titles], "source": "demo",
                           "original_language": [t.original_language for t in titles]}),
    )  # fmt: skip
    return make_split(examples, seed=42)


@pytest.mark.parametrize("name", ["keyword", "logreg"])
def test_models_trained_on_the_demo_catalogue_behave(name: str, demo_split) -> None:
    if name == "keyword":
        from trending_assets.lib.ml.keyword import KeywordGenreModel

        model = KeywordGenreModel()
    else:
        from trending_assets.lib.ml.features import TfidfFeaturizer
        from trending_assets.lib.ml.models import LogRegGenreModel

        model = LogRegGenreModel(TfidfFeaturizer().fit(demo_split.train.texts))
    model.fit(demo_split.train, demo_split.validation)
    results = run_all(model.predict_proba, model.genres, model.thresholds)
    failures = [f"{r.kind} {r.case}: {r.detail}" for r in results if not r.passed]
    assert len(results) >= 8
    assert sum(r.kind == "universal_genre" for r in results) == len(model.genres)
    assert not failures, failures
