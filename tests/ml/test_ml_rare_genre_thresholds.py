"""Regression: a rare genre must not be predicted for every plot (the "Soap on every
/predict" bug). Cause: its threshold was tuned on one validation positive scored low, so
it fell to the bottom of the grid; ``thresholds.MIN_POSITIVES`` now keeps the default."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trending_assets.lib.ml.behaviour import VARIED_PLOTS, check_no_universal_genre
from trending_assets.lib.ml.data import GenreExamples
from trending_assets.lib.ml.features import TfidfFeaturizer
from trending_assets.lib.ml.keyword import KeywordGenreModel
from trending_assets.lib.ml.masked import MaskedLogRegGenreModel
from trending_assets.lib.ml.models import LogRegGenreModel
from trending_assets.lib.ml.thresholds import MIN_POSITIVES, apply_thresholds, tune_thresholds

BANKS = {
    "horror": "ghost haunted demon curse blood scream nightmare possessed creature killer",
    "romance": "love kiss wedding heart romance lovers passion affair date marriage",
    "science_fiction": "space alien planet robot starship future galaxy laser android mars",
    "comedy": "hilarious jokes clumsy prank funny silly wacky laugh mishap goofy",
    "western": "cowboy sheriff outlaw saloon ranch frontier desert horse gunslinger cattle",
    "documentary": "documentary interviews footage archive true history explores real nature",
    "animation": "animated cartoon talking animals magical colourful toys fairy puppy forest",
    "crime": "detective heist gangster murder police robbery mafia case criminal smuggler",
}
SOAP = "wealthy dynasty scandal secret twin amnesia betrayal mansion inheritance rivalry"
FILLER = "the a of and his her their in on with after when who young old town city family life"
GENRES = [*BANKS, "soap"]
# The validation split's only soap title, told in words no training soap uses.
ODD_SOAP_PLOT = "the family of a young woman in the city and her life"


def _examples(n: int, seed: int, n_soap: int, prefix: str) -> GenreExamples:
    rng = np.random.default_rng(seed)
    texts, labels = [], np.zeros((n, len(GENRES)), dtype=np.uint8)
    for i in range(n):
        chosen = rng.choice(len(BANKS), size=rng.choice([1, 1, 2]), replace=False)
        labels[i, chosen] = 1
        words = list(rng.choice(FILLER.split(), 8))
        for j in chosen:
            words += list(rng.choice(BANKS[GENRES[j]].split(), 3))
        if i < n_soap:  # soap: rare, always on top of another genre
            labels[i, -1] = 1
            words += list(rng.choice(SOAP.split(), 3))
        rng.shuffle(words)
        texts.append(" ".join(words))
    meta = pd.DataFrame({"title_type": "movie", "source": "fixture", "original_language": "en"},
                        index=range(n))  # fmt: skip
    return GenreExamples([f"{prefix}{i}" for i in range(n)], texts, labels, GENRES, meta)


@pytest.fixture(scope="module")
def rare_split() -> tuple[GenreExamples, GenreExamples]:
    train = _examples(300, seed=0, n_soap=8, prefix="t")
    validation = _examples(120, seed=1, n_soap=0, prefix="v")
    validation.texts[0] = ODD_SOAP_PLOT
    validation.labels[0, -1] = 1
    return train, validation


def _models():
    return {
        "logreg": lambda: LogRegGenreModel(TfidfFeaturizer(), c_grid=(1.0,)),
        "masked_logreg": lambda: MaskedLogRegGenreModel(
            TfidfFeaturizer(), label_masks=False, title_type_feature=True, c_grid=(1.0,)
        ),
        "keyword": lambda: KeywordGenreModel(),
    }


@pytest.mark.parametrize("name", list(_models()))
def test_a_rare_genre_is_not_predicted_for_every_varied_plot(name: str, rare_split) -> None:
    train, validation = rare_split
    model = _models()[name]()
    model.fit(train, validation)
    assert len(VARIED_PLOTS) >= 15
    decisions = model.predict(list(VARIED_PLOTS))
    per_genre = dict(zip(model.genres, decisions.sum(axis=0).tolist(), strict=True))
    assert max(per_genre.values()) < len(VARIED_PLOTS), per_genre
    failures = [r for r in check_no_universal_genre(model.predict_proba, model.genres,
                                                    model.thresholds) if not r.passed]  # fmt: skip
    assert not failures, failures
    soap = model.genres.index("soap")
    assert int(validation.labels[:, soap].sum()) < MIN_POSITIVES
    assert model.thresholds[soap] == 0.5  # too few validation positives: the default


def test_the_old_rule_reproduces_the_bug(rare_split) -> None:
    """Tuned on its single validation positive (the old rule), soap's threshold drops to
    the bottom of the grid and soap is called for every varied plot; the check sees it."""
    train, validation = rare_split
    model = LogRegGenreModel(TfidfFeaturizer(), c_grid=(1.0,))
    model.fit(train, validation)
    old = tune_thresholds(validation.labels, model.predict_proba(validation.texts),
                          min_positives=1)  # fmt: skip
    soap = GENRES.index("soap")
    assert old[soap] <= 0.1
    decisions = apply_thresholds(model.predict_proba(list(VARIED_PLOTS)), old)
    assert decisions[:, soap].all()
    results = check_no_universal_genre(model.predict_proba, model.genres, old)
    assert [r.case for r in results if not r.passed] == ["soap not on every varied plot"]


def test_min_positives_rule_by_hand() -> None:
    y = np.zeros((40, 3), dtype=np.uint8)
    y[:4, 0] = 1  # 4 positives: below the default 5
    y[:5, 1] = 1  # 5 positives: tuned
    y[:1, 2] = 1
    proba = np.full((40, 3), 0.1)
    proba[:5, :] = 0.3  # positives scored 0.3, negatives 0.1: 0.3 separates perfectly
    proba[5:, 2] = 0.06  # column 2: one positive at 0.3, the rest at 0.06
    grid = np.array([0.05, 0.1, 0.2, 0.3, 0.5])
    assert tune_thresholds(y, proba, grid=grid).tolist() == [0.5, 0.3, 0.5]
    # Trusting any positive (the old rule): column 0 tuned, column 2 too.
    assert tune_thresholds(y, proba, grid=grid, min_positives=1).tolist() == [0.3, 0.3, 0.3]
    assert tune_thresholds(y, proba, grid=grid, fallback=0.4)[0] == 0.4
    with pytest.raises(ValueError):
        tune_thresholds(y, proba, min_positives=0)
