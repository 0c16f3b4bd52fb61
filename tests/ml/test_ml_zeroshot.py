"""Genres from their descriptions (lib/ml/zeroshot.py), and the ensemble that gains them.

The real MiniLM encoder throughout. The training titles carry movie genres only; the
model must still call the TV genres it never saw a label of, for plots that are clearly
of them, and only for series.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trending_assets.lib.ml.data import CANONICAL_GENRES, GenreExamples
from trending_assets.lib.ml.features import TfidfFeaturizer
from trending_assets.lib.ml.models import (
    AveragedEnsembleGenreModel,
    LogRegGenreModel,
    load_model,
    predict_proba_typed,
)
from trending_assets.lib.ml.thresholds import apply_thresholds
from trending_assets.lib.ml.zeroshot import GENRE_DESCRIPTIONS, ZeroShotGenreModel

SEEN = ["action", "comedy", "horror", "romance", "crime", "science_fiction"]
# Short plots in the style of listing blurbs, several ways of saying each genre.
PHRASES = {
    "action": [
        "an ex-commando fights his way through armed mercenaries",
        "a bomb squad races to stop explosions across the city",
        "a martial arts expert takes on a gang in brutal shootouts",
    ],
    "comedy": [
        "two clumsy roommates stumble through one hilarious prank after another",
        "a goofy wedding planner's antics leave the guests in stitches",
        "an awkward slacker bluffs his way into a job with funny results",
    ],
    "horror": [
        "a family moves into a haunted house where a demon stalks them",
        "campers are hunted one by one by a masked killer in the woods",
        "a possessed doll terrifies a young couple at night",
    ],
    "romance": [
        "two strangers fall in love during a summer in Paris",
        "a florist and a widower find romance after years of heartbreak",
        "childhood sweethearts meet again and rekindle their passion",
    ],
    "crime": [
        "a detective hunts the mob boss behind a string of murders",
        "a crew of thieves plans a bank robbery while cops close in",
        "a drug cartel's accountant turns informant for the police",
    ],
    "science_fiction": [
        "astronauts on a distant planet discover an alien signal",
        "a scientist builds a robot that learns to dream",
        "a time traveller from the future warns of a galactic war",
    ],
}
SETTINGS = ["In a small town,", "Years later,", "In New York,", "One winter,", "After the war,"]


def _examples(n: int, seed: int) -> GenreExamples:
    rng = np.random.default_rng(seed)
    texts, labels = [], np.zeros((n, len(SEEN)), dtype=np.uint8)
    for i in range(n):
        chosen = rng.choice(len(SEEN), size=int(rng.integers(1, 3)), replace=False)
        parts = [str(rng.choice(SETTINGS))]
        for j in chosen:
            labels[i, j] = 1
            parts.append(str(rng.choice(PHRASES[SEEN[j]])) + ".")
        texts.append(" ".join(parts))
    meta = pd.DataFrame({"title_type": "movie", "source": "fixture", "original_language": "en"},
                        index=range(n))  # fmt: skip
    return GenreExamples([f"z{seed}_{i}" for i in range(n)], texts, labels, list(SEEN), meta)


REALITY = "Twelve contestants compete in weekly challenges on a reality competition series."
TALK = "A late-night talk show host interviews celebrity guests and chats with the audience."
KIDS = "A preschool cartoon series where little animal friends learn to share and count."


@pytest.fixture(scope="module")
def embedder():
    from trending_assets.lib.ml.embeddings import SentenceEmbedder

    return SentenceEmbedder()


@pytest.fixture(scope="module")
def fitted(embedder) -> tuple[ZeroShotGenreModel, dict, GenreExamples, GenreExamples]:
    train, validation = _examples(160, 0), _examples(60, 1)
    model = ZeroShotGenreModel(embedder)
    report = model.fit(train, validation)
    return model, report, train, validation


def test_every_canonical_genre_has_a_description() -> None:
    assert set(GENRE_DESCRIPTIONS) == set(CANONICAL_GENRES)
    assert all(len(d) >= 1 and all(len(s.split()) >= 4 for s in d)
               for d in GENRE_DESCRIPTIONS.values())  # fmt: skip
    with pytest.raises(ValueError, match="no description for the genres"):
        ZeroShotGenreModel(object(), embedder_config={"class": "x:y", "kwargs": {}},
                           genres=["comedy", "cozy_mystery"])  # fmt: skip


def test_it_calls_tv_genres_no_training_title_had(fitted) -> None:
    model, report, _, _ = fitted
    assert model.genres == list(CANONICAL_GENRES)
    assert set(report["learned_genres"]) == set(SEEN)
    assert {"reality", "talk", "kids"} <= set(report["description_only_genres"])
    # The calibration learned from the seen genres: more similar, more likely.
    assert report["calibration"]["cosine"] > 0 or report["calibration"]["z_across_genres"] > 0
    texts = [REALITY, TALK, KIDS]
    called = apply_thresholds(model.predict_proba(texts, ["tv"] * 3), model.thresholds)
    for row, genre in enumerate(["reality", "talk", "kids"]):
        assert called[row, model.genres.index(genre)], (genre, model.predict_proba([texts[row]]))
    # A seen genre still comes out for its own kind of plot.
    horror = "A demon haunts the house where a family is stalked by a ghost."
    proba = model.predict_proba([horror], ["movie"])[0]
    assert model.genres[int(np.argmax(proba))] == "horror"


def test_tv_only_genres_are_never_called_for_a_movie(fitted) -> None:
    model, *_ = fitted
    proba = model.predict_proba([REALITY, TALK], ["movie", "movie"])
    for genre in ("reality", "talk", "kids", "news", "soap"):
        assert (proba[:, model.genres.index(genre)] == 0).all()


def test_description_only_genres_share_one_threshold(fitted) -> None:
    model, report, _, _ = fitted
    shared = report["best_params"]["shared_threshold"]
    for genre in report["description_only_genres"]:
        assert model.thresholds[model.genres.index(genre)] == shared


def test_save_and_load_give_the_same_scores(fitted, tmp_path: Path) -> None:
    model, *_ = fitted
    model.save(tmp_path / "zs")
    loaded = load_model(tmp_path / "zs")
    assert isinstance(loaded, ZeroShotGenreModel)
    texts = [REALITY, TALK, "Two detectives chase a killer through the city."]
    types = ["tv", "tv", "movie"]
    np.testing.assert_allclose(
        loaded.predict_proba(texts, types), model.predict_proba(texts, types), atol=1e-6
    )
    assert loaded.config == model.config
    np.testing.assert_array_equal(loaded.thresholds, model.thresholds)


def test_a_new_description_is_a_new_configuration(embedder) -> None:
    changed = {**GENRE_DESCRIPTIONS, "talk": ["A chat show with a host and guests."]}
    assert (
        ZeroShotGenreModel(embedder, descriptions=changed).config
        != ZeroShotGenreModel(embedder).config
    )


def test_nothing_to_calibrate_on_is_a_clear_error(embedder) -> None:
    train = _examples(40, 3)
    train.labels[:] = 0
    with pytest.raises(ValueError, match="labelled training titles"):
        ZeroShotGenreModel(embedder).fit(train, _examples(20, 4))


def test_the_ensemble_keeps_its_genres_and_gains_the_rest(fitted, tmp_path: Path) -> None:
    zeroshot, _, train, validation = fitted
    logreg = LogRegGenreModel(TfidfFeaturizer(), c_grid=(1.0,))
    logreg.fit(train, validation)
    alone = AveragedEnsembleGenreModel([logreg], refit_members=False)
    alone.tune(validation)
    assert alone.genres == SEEN  # no member scores reality: it is never called

    ensemble = AveragedEnsembleGenreModel(
        [logreg, zeroshot], refit_members=False, member_versions=["logreg@1", "zeroshot@1"]
    )
    report = ensemble.tune(validation)
    assert ensemble.genres[: len(SEEN)] == SEEN
    assert set(ensemble.genres) == set(CANONICAL_GENRES)
    assert 0 < report["validation_macro_f1"] <= 1
    # A genre only the zero-shot member scores: its probability and its threshold.
    texts, types = [REALITY, TALK], ["tv", "tv"]
    proba = ensemble.predict_proba(texts, types)
    j = ensemble.genres.index("reality")
    np.testing.assert_allclose(
        proba[:, j], zeroshot.predict_proba(texts, types)[:, zeroshot.genres.index("reality")]
    )
    assert ensemble.thresholds[j] == zeroshot.thresholds[zeroshot.genres.index("reality")]
    # A shared genre is the mean of both members.
    k = ensemble.genres.index("comedy")
    expected = (
        predict_proba_typed(logreg, texts, types)[:, SEEN.index("comedy")]
        + zeroshot.predict_proba(texts, types)[:, zeroshot.genres.index("comedy")]
    ) / 2
    np.testing.assert_allclose(proba[:, k], expected)
    assert ensemble.predict(texts, types)[0, j] == 1

    ensemble.save(tmp_path / "ens")
    loaded = load_model(tmp_path / "ens")
    np.testing.assert_allclose(loaded.predict_proba(texts, types), proba, atol=1e-6)
    assert loaded.genres == ensemble.genres


def test_the_ensemble_fits_only_the_members_it_is_told_to(fitted) -> None:
    zeroshot, _, train, validation = fitted
    logreg = LogRegGenreModel(TfidfFeaturizer(), c_grid=(1.0,))
    logreg.fit(train, validation)
    coef = logreg.coef.copy()
    fresh = ZeroShotGenreModel(zeroshot.embedder)
    ensemble = AveragedEnsembleGenreModel([logreg, fresh], refit_members=[False, True])
    report = ensemble.fit(train, validation)
    assert len(report["members"]) == 1 and report["members"][0]["model"] == "zeroshot"
    np.testing.assert_array_equal(logreg.coef, coef)  # the registered member is untouched
    with pytest.raises(ValueError, match="one refit flag per member"):
        AveragedEnsembleGenreModel([logreg, fresh], refit_members=[True])


def test_plot_vectors_come_from_the_embedding_cache(embedder) -> None:
    from trending_assets.lib.ml.embeddings import CacheBackedEmbedder, embed_incremental

    seen = [REALITY, TALK, KIDS]
    cache = embed_incremental([0, 1, 2], seen, embedder).cache

    class Counting:  # the real encoder, counting the texts it is asked to embed
        def __init__(self, inner) -> None:
            self.inner, self.texts = inner, []
            self.dim, self.model_id = inner.dim, inner.model_id
            self.max_length, self.normalize, self.config = (
                inner.max_length, inner.normalize, inner.config)  # fmt: skip

        def encode(self, texts):
            self.texts.extend(texts)
            return self.inner.encode(texts)

    counting = Counting(embedder)
    backed = CacheBackedEmbedder(counting, cache)
    new = "Two detectives chase a killer through the city."
    vectors = backed.encode([*seen, new])
    assert counting.texts == [new]
    assert backed.stats == {"reused": 3, "new": 1}
    direct = embedder.encode([*seen, new])  # bf16 batches differ in the 4th decimal
    cosine = (vectors * direct).sum(axis=1) / np.linalg.norm(direct, axis=1)
    assert (cosine > 0.999).all(), cosine
    assert backed.config == embedder.config
    backed.encode([new])  # now cached in this process too
    assert counting.texts == [new]


def test_a_loaded_ensemble_reads_plot_vectors_through_the_cache(fitted, tmp_path: Path) -> None:
    """What title_predictions does with the champion: its zero-shot member, re-created on
    load with a plain encoder, is pointed at the plots' cache and embeds only the misses."""
    from trending_assets.lib.ml.embeddings import (
        CacheBackedEmbedder,
        SentenceEmbedder,
        embed_incremental,
        read_vectors_through,
    )

    zeroshot, _, train, validation = fitted
    logreg = LogRegGenreModel(TfidfFeaturizer(), c_grid=(1.0,))
    logreg.fit(train, validation)
    ensemble = AveragedEnsembleGenreModel([logreg, zeroshot], refit_members=False)
    ensemble.tune(validation)
    ensemble.save(tmp_path / "ens")
    loaded = load_model(tmp_path / "ens")
    texts, types = [REALITY, TALK, KIDS], ["tv", "tv", "tv"]
    expected = loaded.predict_proba(texts, types)

    plain = SentenceEmbedder()
    cached = CacheBackedEmbedder(plain, embed_incremental([0, 1, 2], texts, plain).cache)
    assert read_vectors_through(loaded, cached) == 1  # the zero-shot member; logreg has none
    assert loaded.members[1].embedder is cached
    assert read_vectors_through(loaded, cached) == 0  # already switched
    np.testing.assert_allclose(loaded.predict_proba(texts, types), expected, atol=1e-5)
    assert cached.stats["reused"] == 3
    # An encoder with other settings is not switched: its vectors would differ.
    other = CacheBackedEmbedder(SentenceEmbedder(max_length=32), None)
    assert read_vectors_through(load_model(tmp_path / "ens"), other) == 0
