"""The title-type input of the learned models (models.TextFeatures) and the averaged
ensemble (models.AveragedEnsembleGenreModel): they learn, save, load, and old files load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trending_assets.lib.ml.data import GenreExamples
from trending_assets.lib.ml.features import TfidfFeaturizer
from trending_assets.lib.ml.keyword import KeywordGenreModel
from trending_assets.lib.ml.lifecycle import predict_titles
from trending_assets.lib.ml.models import (
    FORMAT_VERSION,
    AveragedEnsembleGenreModel,
    LogRegGenreModel,
    XGBoostGenreModel,
    load_model,
    predict_proba_typed,
    read_model_json,
)

GENRES = ["comedy", "horror", "reality"]
WORDS = {"comedy": "joke prank funny laugh", "horror": "ghost demon haunted scream",
         }  # fmt: skip
FILLER = [
    "a",
    "the",
    "people",
    "who",
    "live",
    "in",
    "town",
    "and",
    "city",
    "with",
    "friends",
    "after",
    "years",
]


def _examples(n: int, seed: int) -> GenreExamples:
    """Reality (a TV-only genre) has no words of its own: the title
    type is what tells it apart; comedy and horror come with their words."""
    rng = np.random.default_rng(seed)
    texts, labels, types = [], np.zeros((n, 3), dtype=np.uint8), []
    for i in range(n):
        tv = i % 2 == 0
        genre = int(rng.integers(0, 2))
        labels[i, genre] = 1
        words = list(rng.choice(FILLER, 6)) + list(rng.choice(WORDS[GENRES[genre]].split(), 2))
        if tv and rng.random() < 0.8:
            labels[i, 2] = 1
        rng.shuffle(words)
        texts.append(" ".join(words))
        types.append("tv" if tv else "movie")
    meta = pd.DataFrame({"title_type": types, "source": "fixture", "original_language": "en"})
    return GenreExamples([f"x{seed}_{i}" for i in range(n)], texts, labels, GENRES, meta)


@pytest.fixture(scope="module")
def data() -> tuple[GenreExamples, GenreExamples, GenreExamples]:
    return _examples(200, 0), _examples(80, 1), _examples(80, 2)


def _reality_f1(pred: np.ndarray, test: GenreExamples) -> float:
    y, p = test.labels[:, 2].astype(bool), pred[:, 2].astype(bool)
    return 2 * float((y & p).sum()) / max(1.0, float(y.sum() + p.sum()))


def test_the_type_column_makes_a_tv_only_genre_learnable(data, tmp_path: Path) -> None:
    train, validation, test = data
    types = test.meta["title_type"].tolist()
    plain = LogRegGenreModel(TfidfFeaturizer(), c_grid=(1.0,))
    plain.fit(train, validation)
    typed = LogRegGenreModel(TfidfFeaturizer(), c_grid=(1.0,), title_type_feature=True)
    typed.fit(train, validation)
    assert typed.config["title_type_feature"] is True
    assert _reality_f1(typed.predict(test.texts, types), test) > 0.8
    assert _reality_f1(typed.predict(test.texts, types), test) > _reality_f1(
        plain.predict(test.texts), test
    )
    # Given the types, a TV-only genre is never given to a movie, with or without the column.
    movies = [i for i, t in enumerate(types) if t == "movie"]
    assert plain.predict_proba(test.texts, types)[movies, 2].max() == 0.0

    typed.save(tmp_path / "typed")
    assert read_model_json(tmp_path / "typed")["format_version"] == FORMAT_VERSION == 2
    loaded = load_model(tmp_path / "typed")
    assert loaded.title_type_feature
    np.testing.assert_allclose(
        loaded.predict_proba(test.texts, types), typed.predict_proba(test.texts, types),
        rtol=1e-5, atol=1e-6)  # fmt: skip
    # Without types every title is taken as a movie: the TV column stays 0.
    assert loaded.predict_proba(["a ghost"]).shape == (1, 3)


def test_format_1_files_load_and_newer_ones_are_refused(data, tmp_path: Path) -> None:
    train, validation, test = data
    model = LogRegGenreModel(TfidfFeaturizer(), c_grid=(1.0,))
    model.fit(train, validation)
    model.save(tmp_path / "old")
    path = tmp_path / "old" / "model.json"
    meta = json.loads(path.read_text())
    # What a format-1 file looked like: no type keys in the config.
    meta["format_version"] = 1
    meta["config"].pop("title_type_feature")
    meta["config"].pop("title_type_weight")
    path.write_text(json.dumps(meta))
    old = load_model(tmp_path / "old")
    assert not old.title_type_feature
    np.testing.assert_allclose(old.predict_proba(test.texts), model.predict_proba(test.texts),
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    meta["format_version"] = FORMAT_VERSION + 1
    path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="newer"):
        load_model(tmp_path / "old")


def test_xgboost_takes_the_type_column(data, tmp_path: Path) -> None:
    train, validation, test = data
    types = test.meta["title_type"].tolist()
    model = XGBoostGenreModel(
        TfidfFeaturizer(char_ngrams=None), search=[{"max_depth": 2, "learning_rate": 0.3}],
        num_boost_round=30, title_type_feature=True, n_jobs=1)  # fmt: skip
    model.fit(train, validation)
    assert _reality_f1(model.predict(test.texts, types), test) > 0.8
    model.save(tmp_path / "xgb")
    loaded = load_model(tmp_path / "xgb")
    np.testing.assert_allclose(
        loaded.predict_proba(test.texts, types), model.predict_proba(test.texts, types), atol=1e-6
    )


def test_the_ensemble_averages_tunes_saves_and_loads(data, tmp_path: Path) -> None:
    train, validation, test = data
    types = test.meta["title_type"].tolist()
    members = [
        LogRegGenreModel(TfidfFeaturizer(), c_grid=(1.0,), title_type_feature=True),
        KeywordGenreModel(),
    ]
    ensemble = AveragedEnsembleGenreModel(members, weights=[3, 1])
    report = ensemble.fit(train, validation)
    assert 0.0 < report["validation_macro_f1"] <= 1.0
    assert ensemble.genres == GENRES and ensemble.thresholds.shape == (3,)
    # The keyword member takes no type; a TV-only genre is still 0 for its movies.
    expected = 0.75 * members[0].predict_proba(test.texts, types) + 0.25 * predict_proba_typed(
        members[1], test.texts, types
    )
    np.testing.assert_allclose(ensemble.predict_proba(test.texts, types), expected)
    ensemble.save(tmp_path / "ens")
    loaded = load_model(tmp_path / "ens")
    assert isinstance(loaded, AveragedEnsembleGenreModel)
    assert [m.name for m in loaded.members] == ["logreg", "keyword"]
    np.testing.assert_allclose(
        loaded.predict_proba(test.texts, types), expected, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(loaded.thresholds, ensemble.thresholds)
    with pytest.raises(ValueError):
        AveragedEnsembleGenreModel([])
    with pytest.raises(ValueError):
        AveragedEnsembleGenreModel(members, weights=[1.0])


def test_predictions_take_the_type_for_every_model(data) -> None:
    """What the pipeline and /predict call (lifecycle.predict_titles): the type reaches a
    model that takes it, and no model, typed or not, gives a genre of the other type."""
    train, validation, test = data
    types = test.meta["title_type"].tolist()
    movies = np.array([t == "movie" for t in types])
    keyword = KeywordGenreModel()
    keyword.fit(train, validation)
    # Reality's lexicon comes from TV titles' words, which movies share: untyped, it scores them.
    plain = keyword.predict_proba(test.texts)
    assert plain[movies, 2].max() > 0
    typed = predict_proba_typed(keyword, test.texts, types)
    assert typed[movies, 2].max() == 0.0
    np.testing.assert_array_equal(typed[~movies], plain[~movies])
    np.testing.assert_array_equal(typed[:, :2], plain[:, :2])
    np.testing.assert_array_equal(predict_proba_typed(keyword, test.texts, None), plain)
    with pytest.raises(ValueError, match="title types"):
        predict_proba_typed(keyword, test.texts, types[:-1])

    logreg = LogRegGenreModel(TfidfFeaturizer(), c_grid=(1.0,), title_type_feature=True)
    logreg.fit(train, validation)
    frame = predict_titles(logreg, test.ids, test.texts, types)
    reality = frame[frame["genre_id"] == "reality"].set_index("title_id")
    called = reality["predicted"].to_numpy()
    assert not called[movies].any() and called[~movies].mean() > 0.7
    # Untyped, every title is read as a movie by the type column: reality is rarely called.
    untyped = predict_titles(logreg, test.ids, test.texts)
    assert untyped[untyped["genre_id"] == "reality"]["predicted"].mean() < called.mean()


def test_an_ensemble_of_registered_members_tunes_only(data, tmp_path: Path) -> None:
    """The pipeline's ensemble (genre_model_ensemble): fitted members are not refitted, and
    their versions are part of its settings, so a retrained member makes a new ensemble."""
    from trending_assets.lib.ml.lifecycle import settings_key

    train, validation, test = data
    logreg = LogRegGenreModel(TfidfFeaturizer(), c_grid=(1.0,), title_type_feature=True)
    logreg.fit(train, validation)
    keyword = KeywordGenreModel()
    keyword.fit(train, validation)
    coef = logreg.coef.copy()
    ensemble = AveragedEnsembleGenreModel(
        [logreg, keyword], refit_members=False, member_versions=["logreg@v1", "keyword@v1"]
    )
    report = ensemble.fit(validation, validation)  # a refit on validation would move coef
    np.testing.assert_array_equal(logreg.coef, coef)
    assert report["members"] == [] and ensemble.genres == GENRES
    assert ensemble.config["member_versions"] == ["logreg@v1", "keyword@v1"]
    newer = AveragedEnsembleGenreModel(
        [logreg, keyword], refit_members=False, member_versions=["logreg@v2", "keyword@v1"]
    )
    assert settings_key(newer, "code") != settings_key(ensemble, "code")
    ensemble.save(tmp_path / "ens")
    loaded = load_model(tmp_path / "ens")
    assert loaded.config == ensemble.config and not loaded.refit_members
    types = test.meta["title_type"].tolist()
    np.testing.assert_allclose(
        loaded.predict_proba(test.texts, types), ensemble.predict_proba(test.texts, types),
        rtol=1e-5, atol=1e-6)  # fmt: skip
    with pytest.raises(ValueError, match="one version per member"):
        AveragedEnsembleGenreModel([logreg], member_versions=["a", "b"])
