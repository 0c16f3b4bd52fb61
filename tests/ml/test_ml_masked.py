"""The masked multi-source logistic regression and its title-type feature."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trending_assets.lib.ml.data import GenreExamples
from trending_assets.lib.ml.features import TfidfFeaturizer
from trending_assets.lib.ml.masked import MaskedLogRegGenreModel, masked_validation_macro_f1
from trending_assets.lib.ml.models import load_model

GENRES = ["action", "horror", "music", "reality"]
# src_a can say action and horror; src_b only action (horror is unknown there, not "no").
MAPS = {
    "src_a": {
        "action": ["action"],
        "horror": ["horror"],
        "music": ["music"],
        "reality": ["reality"],
    },
    "src_b": {"action": ["action"]},
}
FILLER = ["the", "a", "story", "of", "town", "night", "old", "city", "years", "friend"]


def make_examples(n: int, seed: int, *, horror_share_b: float = 0.8) -> GenreExamples:
    """src_a titles: horror labelled when it has its cue; src_b titles: mostly horror
    plots (the cue word) that the vocabulary cannot label horror. music and reality: TV
    titles of src_a only, with text no different from the rest."""
    rng = np.random.default_rng(seed)
    texts, labels, meta = [], [], []
    for i in range(n):
        source = "src_a" if i % 2 == 0 else "src_b"
        title_type = "tv" if rng.random() < 0.4 else "movie"
        words = list(rng.choice(FILLER, size=8))
        row = [0, 0, 0, 0]
        if rng.random() < 0.4:
            words += ["brakkon", "fight"]
            row[0] = 1
        is_horror = rng.random() < (0.3 if source == "src_a" else horror_share_b)
        if is_horror:
            words += ["grimwold", "ossuar"]
            if source == "src_a":
                row[1] = 1
        if source == "src_a" and title_type == "tv":
            row[2] = row[3] = 1  # music (applies to both types) and reality (TV only)
        if not any(row):
            row[0] = 1
            words += ["brakkon"]
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(row)
        meta.append({"title_type": title_type, "source": source, "original_language": "en"})
    return GenreExamples(
        [f"t{seed}_{i}" for i in range(n)], texts, np.array(labels), GENRES, pd.DataFrame(meta)
    )


def small_featurizer() -> TfidfFeaturizer:
    return TfidfFeaturizer(char_ngrams=None, min_df=1)


def test_masking_keeps_an_unknown_genre_from_being_learned_as_negative() -> None:
    train, validation = make_examples(300, 0), make_examples(120, 1)
    horror_texts = ["the old town grimwold ossuar night"] * 3
    masked = MaskedLogRegGenreModel(small_featurizer(), genre_maps=MAPS, c_grid=(4.0,))
    plain = MaskedLogRegGenreModel(
        small_featurizer(), genre_maps=MAPS, label_masks=False, c_grid=(4.0,)
    )
    report = masked.fit(train, validation)
    plain.fit(train, validation)
    assert report["masked_cells"] > 0
    horror = GENRES.index("horror")
    p_masked = masked.predict_proba(horror_texts)[:, horror].mean()
    p_plain = plain.predict_proba(horror_texts)[:, horror].mean()
    # unmasked, the many unlabelled src_b horror plots teach "grimwold -> not horror"
    assert p_masked > 0.75
    assert p_masked > p_plain + 0.2
    assert masked.predict(horror_texts)[:, horror].all()
    assert not plain.predict(horror_texts)[:, horror].any()
    # a TV-only genre is never given to a movie when the types are known
    reality = GENRES.index("reality")
    assert masked.predict_proba(horror_texts, title_types=["movie"] * 3)[:, reality].max() == 0.0


def test_title_type_feature_makes_a_tv_leaning_genre_learnable(tmp_path: Path) -> None:
    train, validation = make_examples(400, 2), make_examples(160, 3)
    test = make_examples(200, 4)
    music = GENRES.index("music")
    types = test.meta["title_type"].tolist()
    truth = test.labels[:, music].astype(bool)

    def music_f1(model: MaskedLogRegGenreModel, title_types: list[str] | None) -> float:
        pred = model.predict(test.texts, title_types=title_types)[:, music].astype(bool)
        tp = (pred & truth).sum()
        return 2 * tp / (pred.sum() + truth.sum())

    kwargs = {"genre_maps": MAPS, "label_masks": False, "c_grid": (4.0,)}
    with_type = MaskedLogRegGenreModel(small_featurizer(), title_type_feature=True, **kwargs)
    without = MaskedLogRegGenreModel(small_featurizer(), **kwargs)
    with_type.fit(train, validation)
    without.fit(train, validation)
    assert music_f1(with_type, types) > music_f1(without, types) + 0.15

    # saved and loaded back through the registry, it predicts the same
    with_type.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert isinstance(loaded, MaskedLogRegGenreModel)
    assert loaded.title_type_feature
    np.testing.assert_allclose(
        loaded.predict_proba(test.texts, title_types=types),
        with_type.predict_proba(test.texts, title_types=types),
        rtol=1e-5,
    )
    # without the types every title is taken as a movie (only the TV-only genre differs:
    # with the types known it is 0 for movies)
    as_movies = loaded.predict_proba(test.texts, title_types=["movie"] * len(test))
    untyped = loaded.predict_proba(test.texts)
    np.testing.assert_allclose(untyped[:, :3], as_movies[:, :3])
    assert as_movies[:, 3].max() == 0.0 < untyped[:, 3].max()


def test_masked_validation_ignores_unknown_rows() -> None:
    y = np.array([[1, 0], [0, 1], [0, 1]])
    proba = np.array([[0.9, 0.2], [0.1, 0.9], [0.95, 0.9]])
    # row 2 of genre 0 (a high score, label 0) is unknown: it must not cost F1
    mask = np.array([[True, True], [True, True], [False, True]])
    score, thresholds = masked_validation_macro_f1(y, proba, mask)
    assert score == 1.0
    assert 0.1 < thresholds[0] <= 0.9
    unmasked, _ = masked_validation_macro_f1(y, proba, np.ones_like(mask))
    assert unmasked < 1.0
