"""The featurizer and the three non-BERT models: fit, predict, save/load, and learning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trending_assets.lib.ml.data import GenreExamples
from trending_assets.lib.ml.features import TfidfFeaturizer
from trending_assets.lib.ml.keyword import KeywordGenreModel, log_odds_terms
from trending_assets.lib.ml.metrics import evaluate
from trending_assets.lib.ml.models import (
    MODEL_CLASSES,
    LogRegGenreModel,
    XGBoostGenreModel,
    load_model,
    read_model_json,
)
from trending_assets.lib.ml.split import SplitResult, make_split
from trending_assets.lib.progress import Progress

# Invented cue words, so only a model that learns from data can use them (the keyword
# seed lexicon knows none of them); each genre also has one seed-lexicon word.
CUES = {
    "action": ["brakkon", "velmor", "tazzik", "fight"],
    "comedy": ["quibble", "snorfle", "parloo", "hilarious"],
    "horror": ["grimwold", "ossuar", "nekhra", "haunted"],
    "romance": ["amoret", "sweling", "lirabel", "love"],
    "science_fiction": ["zorblax", "quantel", "neutrix", "space"],
}
FILLER = ("the", "a", "story", "of", "who", "finds", "town", "friend", "night", "old", "new",
          "city", "years", "after", "return", "family", "secret", "life", "world", "journey")  # fmt: skip


def synthetic_examples(n: int = 240, seed: int = 0) -> GenreExamples:
    rng = np.random.default_rng(seed)
    genres = list(CUES)
    labels = np.zeros((n, len(genres)), dtype=np.uint8)
    texts, meta = [], []
    for i in range(n):
        chosen = rng.choice(len(genres), size=rng.choice([1, 1, 2]), replace=False)
        labels[i, chosen] = 1
        words = list(rng.choice(FILLER, size=10))
        for j in chosen:
            words += list(rng.choice(CUES[genres[j]][:3], size=2)) + (
                [CUES[genres[j]][3]] if rng.random() < 0.3 else []
            )
        rng.shuffle(words)
        texts.append(" ".join(words) + ".")
        meta.append({"title_type": "tv" if i % 3 == 0 else "movie", "source": "synthetic",
                     "original_language": "en"})  # fmt: skip
    ids = [f"syn{i:04d}" for i in range(n)]
    return GenreExamples(ids, texts, labels, genres, pd.DataFrame(meta))


@pytest.fixture(scope="module")
def split() -> SplitResult:
    return make_split(synthetic_examples(), seed=1, min_genre_count=5)


def small_featurizer() -> TfidfFeaturizer:
    return TfidfFeaturizer(max_word_features=2000, max_char_features=3000, min_df=1)


def test_featurizer_round_trip(tmp_path: Path, split: SplitResult) -> None:
    featurizer = small_featurizer().fit(split.train.texts)
    matrix = featurizer.transform(split.test.texts)
    assert matrix.shape == (len(split.test), featurizer.vocabulary_size)
    assert matrix.dtype == np.float32 and matrix.format == "csr"
    featurizer.save(tmp_path / "f.joblib")
    loaded = TfidfFeaturizer.load(tmp_path / "f.joblib")
    again = loaded.transform(split.test.texts)
    assert loaded.config == featurizer.config
    assert (matrix != again).nnz == 0
    word_only = TfidfFeaturizer(char_ngrams=None, min_df=1).fit(split.train.texts)
    assert word_only.vocabulary_size < featurizer.vocabulary_size
    with pytest.raises(RuntimeError):
        TfidfFeaturizer().transform(["x"])


def _round_trip(model, split: SplitResult, tmp_path: Path) -> dict:
    report = model.fit(split.train, split.validation)
    assert 0.0 <= report["validation_macro_f1"] <= 1.0
    proba = model.predict_proba(split.test.texts)
    assert proba.shape == (len(split.test), len(split.genres))
    assert ((proba >= 0) & (proba <= 1)).all()
    assert model.thresholds.shape == (len(split.genres),)
    pred = model.predict(split.test.texts)
    assert pred.dtype == np.uint8 and pred.any(axis=1).all()
    model.save(tmp_path / model.name)
    meta = read_model_json(tmp_path / model.name)
    assert meta["name"] == model.name and meta["genres"] == split.genres
    loaded = load_model(tmp_path / model.name)
    assert type(loaded) is type(model)
    assert loaded.genres == model.genres
    np.testing.assert_array_equal(loaded.thresholds, model.thresholds)
    np.testing.assert_array_equal(loaded.predict_proba(split.test.texts), proba)
    np.testing.assert_array_equal(loaded.predict(split.test.texts), pred)
    return evaluate(split.test.labels, pred, split.genres)


def test_keyword_model_round_trip(tmp_path: Path, split: SplitResult) -> None:
    result = _round_trip(KeywordGenreModel(expand_top_k=5), split, tmp_path)
    # expansion learns the invented cue words from train
    assert result["macro_f1"] > 0.8


def test_log_odds_terms_pick_the_distinctive_words() -> None:
    token_sets = [{"zorblax", "the"}] * 6 + [{"the", "town"}] * 6
    labels = np.array([[1]] * 6 + [[0]] * 6)
    terms = log_odds_terms(token_sets, labels, top_k=2)
    assert [t for t, _ in terms[0]] == ["zorblax"]  # "the" is everywhere, "town" leans away


def test_logreg_round_trip_and_learns_beyond_keywords(tmp_path: Path, split: SplitResult) -> None:
    model = LogRegGenreModel(small_featurizer(), c_grid=(1.0, 4.0))
    result = _round_trip(model, split, tmp_path)
    seeds_only = KeywordGenreModel(expand_top_k=0)
    seeds_only.fit(split.train, split.validation)
    baseline = evaluate(split.test.labels, seeds_only.predict(split.test.texts), split.genres)
    assert result["macro_f1"] > 0.9
    assert result["macro_f1"] > baseline["macro_f1"] + 0.2
    assert model.best_c in (1.0, 4.0)


def test_xgboost_round_trip(tmp_path: Path, split: SplitResult) -> None:
    lines: list[str] = []
    model = XGBoostGenreModel(
        TfidfFeaturizer(char_ngrams=None, min_df=1),
        search=[{"max_depth": 2, "learning_rate": 0.3}, {"max_depth": 3, "learning_rate": 0.3}],
        num_boost_round=30,
        early_stopping_rounds=5,
        progress=Progress(lines.append, "xgb", every_s=0.0),
    )
    result = _round_trip(model, split, tmp_path)
    assert result["macro_f1"] > 0.7
    assert len(model.boosters) == len(split.genres)
    # It said how far it was: each configuration's boosters, then its score.
    assert lines[0].startswith("xgb: 2 configuration(s) x ")
    assert any(line.startswith("xgb: configuration 1/2, 1/") for line in lines)
    done = [line for line in lines if " done, validation macro f1 " in line]
    assert [line.split(" done")[0] for line in done] == [
        "xgb: configuration 1/2",
        "xgb: configuration 2/2",
    ]
    assert "progress" not in model.config


class FakeEmbedder:
    """Deterministic stand-in for SentenceEmbedder: hashed bag of words, L2-normalised."""

    def __init__(self, dim: int = 8) -> None:
        self.dim = dim
        self.config = {"dim": dim}

    def encode(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.split():
                out[i, sum(map(ord, word)) % self.dim] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


@pytest.mark.parametrize("kind", ["logreg", "xgboost"])
def test_embedder_config_is_saved_not_the_object(
    kind: str, tmp_path: Path, split: SplitResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trending_assets.lib.ml.models as models_module

    featurizer = TfidfFeaturizer(char_ngrams=None, min_df=1)
    if kind == "logreg":
        model = LogRegGenreModel(featurizer, FakeEmbedder(), c_grid=(1.0,))
    else:
        model = XGBoostGenreModel(
            featurizer, FakeEmbedder(), [{"max_depth": 2, "learning_rate": 0.3}], num_boost_round=20
        )
    model.fit(split.train, split.validation)
    assert model.config["embedder"]["kwargs"] == {"dim": 8}
    assert model.features.transform(["a b"]).shape[1] == featurizer.vocabulary_size + 8
    proba = model.predict_proba(split.test.texts)
    model.save(tmp_path / kind)
    assert not any(p.suffix == ".pkl" for p in (tmp_path / kind).rglob("*"))
    # load re-creates the embedder from its config (stand-in class for the real one)
    monkeypatch.setattr(
        models_module, "_make_embedder", lambda config: FakeEmbedder(**config["kwargs"])
    )
    loaded = load_model(tmp_path / kind)
    assert isinstance(loaded.features.embedder, FakeEmbedder)
    np.testing.assert_array_equal(loaded.predict_proba(split.test.texts), proba)


def test_load_model_knows_bert_and_rejects_unknown(tmp_path: Path) -> None:
    assert MODEL_CLASSES["bert"] == "trending_assets.lib.ml.finetune:EncoderGenreModel"
    (tmp_path / "model.json").write_text('{"name": "mystery-model"}')
    with pytest.raises(ValueError, match="unknown model name"):
        load_model(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nothing")
