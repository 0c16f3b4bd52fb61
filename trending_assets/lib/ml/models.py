"""Genre models behind one interface, and ``load_model`` to read any of them back.

Every model is multi-label over the genres of its training split, tunes one decision
threshold per genre on the validation split inside ``fit``, and saves to a directory
holding ``model.json`` (name, class, genres, thresholds, config) plus its own files.
:func:`load_model` reads ``model.json`` and hands the directory to the right class.

The learned models (``logreg``, ``masked_logreg``, ``xgboost``) can take the title type
(movie / TV) as an input (``title_type_feature=True``): one extra feature column, 1.0 x
``title_type_weight`` for TV titles, read from ``meta["title_type"]`` in ``fit`` and
passed to ``predict_proba(texts, title_types=[...])`` at prediction (without it every
title is taken as a movie). Given the types, a genre that does not apply to a title's
type (``reality`` on a movie, ``tv_movie`` on a series; ``data.GENRE_APPLIES_TO``)
gets probability 0, with or without the feature.

``model.json`` ``format_version``: 1 = no title-type column; 2 = the config may hold
``title_type_feature`` / ``title_type_weight`` (absent = off, so version-1 files load
unchanged). :func:`load_model` refuses a version newer than it knows.

- ``keyword``  :class:`trending_assets.lib.ml.keyword.KeywordGenreModel` (rules baseline)
- ``logreg``   :class:`LogRegGenreModel` (TF-IDF + one-vs-rest logistic regression)
- ``xgboost``  :class:`XGBoostGenreModel` (TF-IDF [+ sentence embeddings] + XGBoost)
- ``bert``     ``trending_assets.lib.ml.finetune.EncoderGenreModel`` (fine-tuned MiniLM)
- ``ensemble`` :class:`AveragedEnsembleGenreModel` (mean of members' probabilities)
"""

from __future__ import annotations

import importlib
import inspect
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from trending_assets.lib.ml.data import GENRE_APPLIES_TO, GenreExamples
from trending_assets.lib.ml.features import TfidfFeaturizer
from trending_assets.lib.ml.metrics import evaluate
from trending_assets.lib.ml.thresholds import apply_thresholds, tune_thresholds
from trending_assets.lib.progress import Progress

MODEL_JSON = "model.json"
FORMAT_VERSION = 2  # 2: optional title-type feature column (module docstring)

# name -> "module:Class"; imported only when a model of that name is loaded.
MODEL_CLASSES: dict[str, str] = {
    "keyword": "trending_assets.lib.ml.keyword:KeywordGenreModel",
    "logreg": "trending_assets.lib.ml.models:LogRegGenreModel",
    "xgboost": "trending_assets.lib.ml.models:XGBoostGenreModel",
    "bert": "trending_assets.lib.ml.finetune:EncoderGenreModel",
    "zeroshot": "trending_assets.lib.ml.zeroshot:ZeroShotGenreModel",
}


class GenreModel(ABC):
    """A multi-label genre classifier over plot text.

    Attributes: ``name`` (registry name, e.g. ``logreg``), ``genres`` (column order of
    every label and probability matrix), ``thresholds`` (one per genre, tuned on
    validation in ``fit``), ``config`` (JSON-able settings, written to ``model.json``).
    """

    name: ClassVar[str]
    genres: list[str]
    thresholds: np.ndarray
    config: dict[str, Any]

    @abstractmethod
    def fit(self, train: GenreExamples, validation: GenreExamples) -> dict[str, Any]:
        """Train on ``train``, choose settings and tune thresholds on ``validation``.

        Returns a JSON-able training report (best params, validation macro F1, timings).
        """

    @abstractmethod
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, G) float scores in [0, 1], columns in the order of ``genres``."""

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """(n, G) uint8 genre decisions from the tuned thresholds (at least one genre each)."""
        return apply_thresholds(self.predict_proba(texts), self.thresholds)

    @abstractmethod
    def save(self, directory: Path) -> None:
        """Write the model (``model.json`` included, see :func:`write_model_json`)."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path) -> GenreModel:
        """Read a model written by :meth:`save`."""


def _class_path(model: object) -> str:
    return f"{type(model).__module__}:{type(model).__qualname__}"


def write_model_json(model: GenreModel, directory: Path, **extra: Any) -> Path:
    """Write ``directory/model.json``: name, class, genres, thresholds, config (+ extra)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    payload = {
        "format_version": FORMAT_VERSION,
        "name": model.name,
        "class": _class_path(model),
        "genres": list(model.genres),
        "thresholds": [float(t) for t in model.thresholds],
        "config": model.config,
        **extra,
    }
    path = directory / MODEL_JSON
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=_json_default))
    return path


def read_model_json(directory: Path) -> dict[str, Any]:
    """The ``model.json`` of a saved model directory."""
    path = Path(directory) / MODEL_JSON
    if not path.is_file():
        raise FileNotFoundError(f"no {MODEL_JSON} in {directory}: not a saved genre model")
    return json.loads(path.read_text())


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple | set):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def load_model(directory: Path | str) -> GenreModel:
    """Load any saved genre model, dispatching on the ``name`` in its ``model.json``."""
    meta = read_model_json(Path(directory))
    if int(meta.get("format_version", 1)) > FORMAT_VERSION:
        raise ValueError(
            f"{directory}: model.json format_version {meta['format_version']} is newer than "
            f"this code reads ({FORMAT_VERSION}); update the code to load it"
        )
    target = MODEL_CLASSES.get(meta.get("name", ""))
    if target is None:
        raise ValueError(
            f"unknown model name {meta.get('name')!r} in {directory}; "
            f"known: {', '.join(sorted(MODEL_CLASSES))}"
        )
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls.load(Path(directory))


def validation_macro_f1(
    y_true: np.ndarray, proba: np.ndarray, known: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Tune thresholds on (y_true, proba) and return (macro F1 with them, thresholds).

    ``known`` (the validation examples' label mask, None: all known): each genre's
    threshold is tuned on the titles for which it is known, and the macro F1 averages
    the known cells (:func:`masked_validation_macro_f1`).
    """
    if known is not None:
        return masked_validation_macro_f1(y_true, proba, known)
    thresholds = tune_thresholds(y_true, proba)
    pred = apply_thresholds(proba, thresholds)
    genres = [str(j) for j in range(y_true.shape[1])]
    return float(evaluate(y_true, pred, genres)["macro_f1"]), thresholds


def masked_validation_macro_f1(
    y_true: np.ndarray, proba: np.ndarray, mask: np.ndarray
) -> tuple[float, np.ndarray]:
    """Per-genre thresholds tuned on the known rows only; macro F1 over the known cells.

    A genre with fewer than ``thresholds.MIN_POSITIVES`` known positives keeps the 0.5
    fallback; one with no known positive is also left out of the mean.
    """
    thresholds = np.full(y_true.shape[1], 0.5)
    for j in range(y_true.shape[1]):
        rows = mask[:, j]
        if rows.any():
            thresholds[j] = tune_thresholds(y_true[rows, j : j + 1], proba[rows, j : j + 1])[0]
    return known_macro_f1(y_true, apply_thresholds(proba, thresholds), mask), thresholds


def known_macro_f1(y_true: np.ndarray, pred: np.ndarray, mask: np.ndarray | None) -> float:
    """Macro F1 of ``pred`` over the known cells (``mask``, None: all), genres with a
    known positive only."""
    if mask is None:
        genres = [str(j) for j in range(y_true.shape[1])]
        return float(evaluate(y_true, pred, genres)["macro_f1"])
    scores = []
    for j in range(y_true.shape[1]):
        rows = mask[:, j]
        if rows.any() and y_true[rows, j].any():
            result = evaluate(y_true[rows, j : j + 1], pred[rows, j : j + 1], ["g"])
            scores.append(result["macro_f1"])
    return float(np.mean(scores)) if scores else 0.0


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return float(np.log(p / (1 - p)))


# --- features shared by the learned models ------------------------------------------


def type_column(title_types: Sequence[str | None] | None, n: int, weight: float) -> sp.csr_matrix:
    """(n, 1) column: ``weight`` for TV titles, 0 otherwise (and for no types at all)."""
    values = np.zeros((n, 1), dtype=np.float32)
    if title_types is not None:
        if len(title_types) != n:
            raise ValueError(f"{len(title_types)} title types for {n} texts")
        values[:, 0] = [weight if t == "tv" else 0.0 for t in title_types]
    return sp.csr_matrix(values)


def title_types_of(examples: GenreExamples) -> list[str | None] | None:
    """``meta["title_type"]`` of ``examples`` as a list (None when the column is absent)."""
    if "title_type" not in examples.meta.columns:
        return None
    return [t if isinstance(t, str) else None for t in examples.meta["title_type"].tolist()]


def zero_inapplicable(
    proba: np.ndarray, genres: Sequence[str], title_types: Sequence[str | None] | None
) -> np.ndarray:
    """``proba`` with 0 where a genre does not apply to the title's type (in place)."""
    if title_types is None:
        return proba
    for j, genre in enumerate(genres):
        applies_to = GENRE_APPLIES_TO.get(genre, "both")
        if applies_to != "both":
            wrong = np.array([t is not None and t != applies_to for t in title_types], dtype=bool)
            proba[wrong, j] = 0.0
    return proba


def _make_embedder(config: dict[str, Any]) -> Any:
    """Re-create an embedder from its config ({"class": "module:Class", "kwargs": {...}})."""
    target = config.get("class", "trending_assets.lib.ml.embeddings:SentenceEmbedder")
    module_name, _, class_name = target.partition(":")
    if not module_name.startswith("trending_assets."):
        raise ValueError(f"refusing to import embedder class outside the project: {target}")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(**config.get("kwargs", {}))


def _embedder_config(embedder: Any, explicit: dict[str, Any] | None) -> dict[str, Any] | None:
    if embedder is None:
        return None
    if explicit is not None:
        return explicit
    kwargs = getattr(embedder, "config", None)
    if callable(kwargs):
        kwargs = kwargs()
    if not isinstance(kwargs, dict):
        raise ValueError(
            "pass embedder_config={'class': ..., 'kwargs': {...}} for an embedder without "
            "a .config dict, so that the model can re-create it on load"
        )
    return {"class": _class_path(embedder), "kwargs": kwargs}


class TextFeatures:
    """The model input: TF-IDF of the text, optionally side by side with sentence embeddings
    and a title-type column.

    The embedder is any object with ``encode(texts) -> (n, d) array`` (the project's
    ``trending_assets.lib.ml.embeddings.SentenceEmbedder``); only its config is saved
    and it is re-created on load. Embeddings (L2-normalised) are scaled by
    ``embedding_weight`` against the TF-IDF blocks (each L2-normalised). With
    ``title_type_feature`` the last column is ``title_type_weight`` for TV titles, 0 for
    movies (and for every title when ``transform`` gets no ``title_types``).
    """

    def __init__(
        self,
        featurizer: TfidfFeaturizer,
        embedder: Any = None,
        *,
        embedder_config: dict[str, Any] | None = None,
        embedding_weight: float = 1.0,
        title_type_feature: bool = False,
        title_type_weight: float = 1.0,
    ) -> None:
        self.featurizer = featurizer
        self.embedder = embedder
        self.embedder_config = _embedder_config(embedder, embedder_config)
        self.embedding_weight = float(embedding_weight)
        self.title_type_feature = bool(title_type_feature)
        self.title_type_weight = float(title_type_weight)

    @property
    def config(self) -> dict[str, Any]:
        return {
            "featurizer": self.featurizer.config,
            "embedder": self.embedder_config,
            "embedding_weight": self.embedding_weight,
            "title_type_feature": self.title_type_feature,
            "title_type_weight": self.title_type_weight,
        }

    def fit(self, texts: Sequence[str]) -> TextFeatures:
        self.featurizer.fit(texts)
        return self

    def transform(
        self, texts: Sequence[str], title_types: Sequence[str | None] | None = None
    ) -> sp.csr_matrix:
        texts = list(texts)
        blocks = [self.featurizer.transform(texts)]
        if self.embedder is not None:
            embeddings = np.asarray(self.embedder.encode(texts), dtype=np.float32)
            blocks.append(sp.csr_matrix(embeddings * np.float32(self.embedding_weight)))
        if self.title_type_feature:
            blocks.append(type_column(title_types, len(texts), self.title_type_weight))
        if len(blocks) == 1:
            return blocks[0]
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def save(self, directory: Path) -> None:
        self.featurizer.save(Path(directory) / "featurizer.joblib")

    @classmethod
    def load(cls, directory: Path, config: dict[str, Any]) -> TextFeatures:
        embedder_config = config.get("embedder")
        return cls(
            TfidfFeaturizer.load(Path(directory) / "featurizer.joblib"),
            _make_embedder(embedder_config) if embedder_config else None,
            embedder_config=embedder_config,
            embedding_weight=config.get("embedding_weight", 1.0),
            # Absent in format-1 model.json files: no type column.
            title_type_feature=config.get("title_type_feature", False),
            title_type_weight=config.get("title_type_weight", 1.0),
        )


# --- TF-IDF (+ embeddings) + logistic regression --------------------------------------


class LogRegGenreModel(GenreModel):
    """TF-IDF (optionally + sentence embeddings) + one-vs-rest logistic regression.

    One binary ``LogisticRegression`` per genre with ``class_weight="balanced"``; ``C``
    is chosen from ``c_grid`` by validation macro F1 (thresholds tuned per C). The
    fitted weights are kept as a float32 matrix (saved as ``.npz``, no pickle), so a
    prediction is one sparse matrix product. ``title_type_feature``: the module docstring.
    """

    name = "logreg"

    def __init__(
        self,
        featurizer: TfidfFeaturizer | None = None,
        embedder: Any = None,
        *,
        c_grid: Sequence[float] = (1.0, 2.0, 4.0, 8.0),
        max_iter: int = 1000,
        embedder_config: dict[str, Any] | None = None,
        embedding_weight: float = 1.0,
        title_type_feature: bool = False,
        title_type_weight: float = 1.0,
    ) -> None:
        self.features = TextFeatures(
            featurizer or TfidfFeaturizer(),
            embedder,
            embedder_config=embedder_config,
            embedding_weight=embedding_weight,
            title_type_feature=title_type_feature,
            title_type_weight=title_type_weight,
        )
        self.c_grid = [float(c) for c in c_grid]
        self.max_iter = max_iter
        self.genres: list[str] = []
        self.thresholds = np.zeros(0)
        self.coef: np.ndarray | None = None  # (G, V) float32
        self.intercept: np.ndarray | None = None  # (G,) float32
        self.best_c: float | None = None

    @property
    def featurizer(self) -> TfidfFeaturizer:
        return self.features.featurizer

    @property
    def title_type_feature(self) -> bool:
        return self.features.title_type_feature

    @property
    def title_type_weight(self) -> float:
        return self.features.title_type_weight

    @property
    def config(self) -> dict[str, Any]:
        return {
            **self.features.config,
            "c_grid": self.c_grid,
            "max_iter": self.max_iter,
            "C": self.best_c,
        }

    def _label_mask(self, examples: GenreExamples) -> np.ndarray | None:
        """Which label cells are known (None: all): the examples' own ``known``."""
        return examples.known

    def _fit_weights(
        self, x: sp.csr_matrix, y: np.ndarray, c: float, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """One classifier per genre, fitted on the titles for which the genre is known."""
        from sklearn.linear_model import LogisticRegression

        coef = np.zeros((y.shape[1], x.shape[1]), dtype=np.float32)
        intercept = np.zeros(y.shape[1], dtype=np.float32)
        for j in range(y.shape[1]):
            rows = None if mask is None else np.flatnonzero(mask[:, j])
            x_j, column = (x, y[:, j]) if rows is None else (x[rows], y[rows, j])
            if len(column) == 0:  # no title can express it: never predicted
                intercept[j] = _logit(0.0)
                continue
            if column.min() == column.max():  # one class only: a constant prior
                intercept[j] = _logit(float(column.mean()))
                continue
            estimator = LogisticRegression(
                C=c, class_weight="balanced", solver="liblinear", max_iter=self.max_iter
            )
            estimator.fit(x_j, column)
            coef[j] = estimator.coef_[0]
            intercept[j] = estimator.intercept_[0]
        return coef, intercept

    @staticmethod
    def _proba(x: sp.csr_matrix, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
        scores = np.asarray(x @ coef.T, dtype=np.float64) + intercept.astype(np.float64)
        return _sigmoid(scores)

    def fit(self, train: GenreExamples, validation: GenreExamples) -> dict[str, Any]:
        started = time.perf_counter()
        self.genres = list(train.genres)
        validation = validation.with_genres(self.genres)
        train_mask, val_mask = self._label_mask(train), self._label_mask(validation)
        self.features.fit(train.texts)
        x_train = self.features.transform(train.texts, title_types_of(train))
        val_types = title_types_of(validation)
        x_val = self.features.transform(validation.texts, val_types)
        search: list[dict[str, float]] = []
        best: tuple[float, float, np.ndarray, np.ndarray, np.ndarray] | None = None
        for c in self.c_grid:
            coef, intercept = self._fit_weights(x_train, train.labels, c, train_mask)
            # Scored as predictions are made: a genre never applies to a title of the wrong type.
            proba = zero_inapplicable(self._proba(x_val, coef, intercept), self.genres, val_types)
            score, thresholds = validation_macro_f1(validation.labels, proba, val_mask)
            search.append({"C": c, "validation_macro_f1": score})
            if best is None or score > best[0]:
                best = (score, c, coef, intercept, thresholds)
        if best is None:
            raise ValueError("c_grid must not be empty")
        score, self.best_c, self.coef, self.intercept, self.thresholds = best
        return {
            "model": self.name,
            "best_params": {"C": self.best_c},
            "validation_macro_f1": score,
            "search": search,
            "n_features": int(x_train.shape[1]),
            "masked_cells": 0 if train_mask is None else int((~train_mask).sum()),
            "train_seconds": round(time.perf_counter() - started, 2),
        }

    def predict_proba(
        self, texts: Sequence[str], title_types: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """(n, G) probabilities; ``title_types`` ("movie" / "tv") as in the module docstring."""
        if self.coef is None or self.intercept is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        x = self.features.transform(list(texts), title_types)
        return zero_inapplicable(
            self._proba(x, self.coef, self.intercept), self.genres, title_types
        )

    def predict(
        self, texts: Sequence[str], title_types: Sequence[str | None] | None = None
    ) -> np.ndarray:
        return apply_thresholds(self.predict_proba(texts, title_types), self.thresholds)

    def save(self, directory: Path) -> None:
        if self.coef is None or self.intercept is None:
            raise RuntimeError("LogRegGenreModel is not fitted")
        directory = Path(directory)
        write_model_json(self, directory)
        self.features.save(directory)
        np.savez_compressed(directory / "weights.npz", coef=self.coef, intercept=self.intercept)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LogRegGenreModel:
        """An unfitted model with the saved configuration (subclasses add their own)."""
        # The type column's settings come back with the features (TextFeatures.load).
        return cls(c_grid=config["c_grid"], max_iter=config["max_iter"])

    @classmethod
    def load(cls, directory: Path) -> LogRegGenreModel:
        directory = Path(directory)
        meta = read_model_json(directory)
        config = meta["config"]
        model = cls.from_config(config)
        model.features = TextFeatures.load(directory, config)
        model.genres = list(meta["genres"])
        model.thresholds = np.asarray(meta["thresholds"], dtype=float)
        model.best_c = config.get("C")
        with np.load(directory / "weights.npz") as weights:
            model.coef, model.intercept = weights["coef"], weights["intercept"]
        return model


# --- TF-IDF (+ embeddings) + XGBoost -----------------------------------------------------

DEFAULT_XGB_SEARCH: list[dict[str, Any]] = [
    {"max_depth": 4, "learning_rate": 0.2, "min_child_weight": 1.0, "colsample_bytree": 0.5},
    {"max_depth": 6, "learning_rate": 0.2, "min_child_weight": 1.0, "colsample_bytree": 0.3},
    {"max_depth": 2, "learning_rate": 0.3, "min_child_weight": 1.0, "colsample_bytree": 0.5},
]
_XGB_FIXED = {"objective": "binary:logistic", "eval_metric": "logloss", "tree_method": "hist"}


class XGBoostGenreModel(GenreModel):
    """TF-IDF (optionally + sentence embeddings) + gradient-boosted trees, one per genre.

    One binary booster per genre (``hist``, ``n_jobs`` threads), each stopping early on
    its own validation log-loss and weighting positives by sqrt(negatives / positives):
    rare genres need more help than common ones, and per-genre boosters let each stop
    at its own round count. A small search over ``search`` (list of XGBoost parameter
    dicts) picks the configuration with the best validation macro F1 after threshold
    tuning. The embedder is not pickled: its config is saved and it is re-created on load.
    ``title_type_feature``: the module docstring.
    """

    name = "xgboost"

    def __init__(
        self,
        featurizer: TfidfFeaturizer | None = None,
        embedder: Any = None,
        search: list[dict[str, Any]] | None = None,
        *,
        embedder_config: dict[str, Any] | None = None,
        embedding_weight: float = 1.0,
        num_boost_round: int = 300,
        early_stopping_rounds: int = 25,
        n_jobs: int = 2,
        seed: int = 42,
        title_type_feature: bool = False,
        title_type_weight: float = 1.0,
        progress: Progress | None = None,
    ) -> None:
        # Where fit reports boosters and configurations (not config: it changes nothing).
        self.progress = progress
        self.features = TextFeatures(
            featurizer or TfidfFeaturizer(max_word_features=20_000, char_ngrams=None),
            embedder,
            embedder_config=embedder_config,
            embedding_weight=embedding_weight,
            title_type_feature=title_type_feature,
            title_type_weight=title_type_weight,
        )
        self.search = [dict(s) for s in (search or DEFAULT_XGB_SEARCH)]
        self.num_boost_round = num_boost_round
        self.early_stopping_rounds = early_stopping_rounds
        self.n_jobs = n_jobs
        self.seed = seed
        self.genres: list[str] = []
        self.thresholds = np.zeros(0)
        self.best_params: dict[str, Any] | None = None
        self.boosters: list[Any] = []  # xgboost.Booster, or a float prior for a constant genre

    @property
    def featurizer(self) -> TfidfFeaturizer:
        return self.features.featurizer

    @property
    def config(self) -> dict[str, Any]:
        return {
            **self.features.config,
            "search": self.search,
            "num_boost_round": self.num_boost_round,
            "early_stopping_rounds": self.early_stopping_rounds,
            "n_jobs": self.n_jobs,
            "seed": self.seed,
            "best_params": self.best_params,
        }

    def _params(self, overrides: dict[str, Any]) -> dict[str, Any]:
        return {
            **_XGB_FIXED,
            "nthread": self.n_jobs,
            "seed": self.seed,
            "verbosity": 0,
            **overrides,
        }

    def _train_genres(
        self,
        d_train: Any,
        d_val: Any,
        y_train: np.ndarray,
        y_val: np.ndarray,
        params: dict[str, Any],
        on_genre: Any = None,
        train_mask: np.ndarray | None = None,
        val_mask: np.ndarray | None = None,
    ) -> tuple[list[Any], np.ndarray, list[int]]:
        """One booster per genre; a title whose genre is unknown (mask) weighs 0 for it."""
        import xgboost as xgb

        boosters: list[Any] = []
        proba = np.zeros(y_val.shape, dtype=np.float64)
        rounds: list[int] = []
        for j in range(y_train.shape[1]):
            if on_genre is not None and j:
                on_genre(j)
            column = y_train[:, j].astype(np.float32)
            known = np.ones(len(column), bool) if train_mask is None else train_mask[:, j]
            positives, n_known = float(column[known].sum()), float(known.sum())
            if positives in (0.0, n_known):  # one class only: a constant prior
                prior = positives / n_known if n_known else 0.0
                boosters.append(prior)
                proba[:, j] = prior
                rounds.append(0)
                continue
            d_train.set_label(column)
            d_val.set_label(y_val[:, j].astype(np.float32))
            if train_mask is not None:
                d_train.set_weight(known.astype(np.float32))
            if val_mask is not None:
                d_val.set_weight(val_mask[:, j].astype(np.float32))
            weight = float(np.sqrt((n_known - positives) / positives))
            booster = xgb.train(
                {**params, "scale_pos_weight": weight},
                d_train,
                num_boost_round=self.num_boost_round,
                evals=[(d_val, "validation")],
                early_stopping_rounds=self.early_stopping_rounds,
                verbose_eval=False,
            )
            best_iteration = int(booster.best_iteration)
            booster = booster[: best_iteration + 1]  # keep the rounds up to the best one
            boosters.append(booster)
            proba[:, j] = booster.predict(d_val)
            rounds.append(best_iteration + 1)
        return boosters, proba, rounds

    def fit(self, train: GenreExamples, validation: GenreExamples) -> dict[str, Any]:
        import xgboost as xgb

        started = time.perf_counter()
        self.genres = list(train.genres)
        validation = validation.with_genres(self.genres)
        train_mask, val_mask = train.known, validation.known
        self.features.fit(train.texts)
        x_train = self.features.transform(train.texts, title_types_of(train))
        val_types = title_types_of(validation)
        x_val = self.features.transform(validation.texts, val_types)
        d_train = xgb.DMatrix(x_train, nthread=self.n_jobs)
        d_val = xgb.DMatrix(x_val, nthread=self.n_jobs)
        search_report: list[dict[str, Any]] = []
        best: tuple[float, dict[str, Any], list[Any], np.ndarray] | None = None
        progress, n_genres, n_configs = self.progress, len(self.genres), len(self.search)
        if progress is not None:
            progress.total, progress.unit = n_configs * n_genres, "boosters"
            progress.milestone(
                f"{n_configs} configuration(s) x {n_genres} genres on "
                f"{d_train.num_row()} plots, {d_train.num_col()} features"
            )
        for i, overrides in enumerate(self.search, 1):
            tried = time.perf_counter()

            def on_genre(j: int, i: int = i) -> None:
                if progress is not None:
                    progress.update((i - 1) * n_genres + j, prefix=f"configuration {i}/{n_configs}")

            boosters, proba, rounds = self._train_genres(
                d_train, d_val, train.labels, validation.labels, self._params(overrides),
                on_genre, train_mask, val_mask,
            )  # fmt: skip
            # Scored as predictions are made: a genre never applies to a title of the wrong type.
            proba = zero_inapplicable(proba, self.genres, val_types)
            score, thresholds = validation_macro_f1(validation.labels, proba, val_mask)
            search_report.append(
                {
                    "params": overrides,
                    "validation_macro_f1": score,
                    "mean_rounds": float(np.mean(rounds)),
                    "seconds": round(time.perf_counter() - tried, 2),
                }
            )
            if progress is not None:
                progress.milestone(
                    f"configuration {i}/{n_configs} done",
                    validation_macro_f1=score,
                    mean_rounds=float(np.mean(rounds)),
                )
            if best is None or score > best[0]:
                best = (score, overrides, boosters, thresholds)
        if best is None:
            raise ValueError("search must not be empty")
        score, self.best_params, self.boosters, self.thresholds = best
        return {
            "model": self.name,
            "best_params": self.best_params,
            "validation_macro_f1": score,
            "search": search_report,
            # One point per configuration tried: W&B draws them as a curve.
            "history": [
                {
                    "configuration": i,
                    "validation_macro_f1": r["validation_macro_f1"],
                    "mean_rounds": r["mean_rounds"],
                    "seconds": r["seconds"],
                }
                for i, r in enumerate(search_report, 1)
            ],  # fmt: skip
            "n_features": int(d_train.num_col()),
            "train_seconds": round(time.perf_counter() - started, 2),
        }

    def predict_proba(
        self, texts: Sequence[str], title_types: Sequence[str | None] | None = None
    ) -> np.ndarray:
        import xgboost as xgb

        if not self.boosters:
            raise RuntimeError("XGBoostGenreModel is not fitted")
        texts = list(texts)
        matrix = xgb.DMatrix(self.features.transform(texts, title_types), nthread=self.n_jobs)
        proba = np.zeros((len(texts), len(self.boosters)), dtype=np.float64)
        for j, booster in enumerate(self.boosters):
            proba[:, j] = booster if isinstance(booster, float) else booster.predict(matrix)
        return zero_inapplicable(proba, self.genres, title_types)

    def predict(
        self, texts: Sequence[str], title_types: Sequence[str | None] | None = None
    ) -> np.ndarray:
        return apply_thresholds(self.predict_proba(texts, title_types), self.thresholds)

    def save(self, directory: Path) -> None:
        if not self.boosters:
            raise RuntimeError("XGBoostGenreModel is not fitted")
        directory = Path(directory)
        boosters_dir = directory / "boosters"
        boosters_dir.mkdir(parents=True, exist_ok=True)
        entries: list[dict[str, Any]] = []
        for genre, booster in zip(self.genres, self.boosters, strict=True):
            if isinstance(booster, float):
                entries.append({"genre": genre, "prior": booster})
            else:
                file_name = f"{genre}.ubj"
                booster.save_model(boosters_dir / file_name)
                entries.append({"genre": genre, "file": f"boosters/{file_name}"})
        write_model_json(self, directory, boosters=entries)
        self.features.save(directory)

    @classmethod
    def load(cls, directory: Path) -> XGBoostGenreModel:
        import xgboost as xgb

        directory = Path(directory)
        meta = read_model_json(directory)
        config = meta["config"]
        model = cls(
            search=config["search"],
            num_boost_round=config["num_boost_round"],
            early_stopping_rounds=config["early_stopping_rounds"],
            n_jobs=config["n_jobs"],
            seed=config["seed"],
        )
        model.features = TextFeatures.load(directory, config)
        model.genres = list(meta["genres"])
        model.thresholds = np.asarray(meta["thresholds"], dtype=float)
        model.best_params = config.get("best_params")
        boosters: list[Any] = []
        for entry in meta["boosters"]:
            if "prior" in entry:
                boosters.append(float(entry["prior"]))
            else:
                booster = xgb.Booster()
                booster.load_model(directory / entry["file"])
                booster.set_param({"nthread": model.n_jobs})
                boosters.append(booster)
        model.boosters = boosters
        return model


# --- probability average of several models ------------------------------------------

MODEL_CLASSES.setdefault("ensemble", f"{__name__}:AveragedEnsembleGenreModel")


def predict_proba_typed(
    model: GenreModel, texts: Sequence[str], title_types: Sequence[str | None] | None
) -> np.ndarray:
    """``model.predict_proba`` for titles of known types ("movie" / "tv", None: unknown).

    Models that take the type as an input (``title_types``) get it; for every model a
    genre that does not apply to a title's type (``kids`` on a movie, ``tv_movie`` on a
    series) scores 0 for that title. Without types this is plain ``predict_proba``.
    """
    if title_types is None:
        return model.predict_proba(texts)
    texts = list(texts)
    if len(title_types) != len(texts):
        raise ValueError(f"{len(title_types)} title types for {len(texts)} texts")
    if "title_types" in inspect.signature(model.predict_proba).parameters:
        proba = model.predict_proba(texts, title_types=title_types)  # type: ignore[call-arg]
    else:
        proba = np.array(model.predict_proba(texts), dtype=np.float64, copy=True)
    return zero_inapplicable(proba, model.genres, title_types)


class AveragedEnsembleGenreModel(GenreModel):
    """The (weighted) mean of several genre models' probabilities, thresholds re-tuned.

    Members are any :class:`GenreModel`; their genre lists may differ. The ensemble's
    genres are their union (the first member's order, then the others' new genres), and
    each genre's probability is the weighted mean over the members that have it: averaged
    with :class:`~trending_assets.lib.ml.zeroshot.ZeroShotGenreModel`, a classifier keeps
    its genres and gains the ones its training data never carried. ``fit`` trains every
    member on the same split, then tunes one threshold per genre on the validation
    split's averaged probabilities (the members' own thresholds are not used);
    :meth:`tune` does only the second step for members that are already fitted, and so
    does ``fit`` with ``refit_members=False`` (the pipeline's ensemble of registered
    models; ``member_versions`` names them, so their retraining is a new configuration).
    Saved as ``model.json`` (member list, weights) plus one sub-directory per member, each
    a complete saved model, so :func:`load_model` reads it back member by member.
    """

    name = "ensemble"

    def __init__(
        self,
        members: Sequence[GenreModel],
        weights: Sequence[float] | None = None,
        *,
        refit_members: bool | Sequence[bool] = True,
        member_versions: Sequence[str] | None = None,
    ):
        if not members:
            raise ValueError("an ensemble needs at least one member")
        if member_versions is not None and len(member_versions) != len(members):
            raise ValueError("one version per member")
        # True / False for every member, or one flag per member (fit the unfitted ones).
        flags = (
            [bool(refit_members)] * len(members)
            if isinstance(refit_members, bool)
            else [bool(f) for f in refit_members]
        )
        if len(flags) != len(members):
            raise ValueError("one refit flag per member")
        self.refit_flags = flags
        self.refit_members = all(flags)
        self.member_versions = None if member_versions is None else list(member_versions)
        self.members = list(members)
        weights = [1.0] * len(self.members) if weights is None else [float(w) for w in weights]
        if len(weights) != len(self.members) or min(weights) < 0 or sum(weights) <= 0:
            raise ValueError("one non-negative weight per member, not all zero")
        self.weights = np.asarray(weights, dtype=float) / sum(weights)
        self.genres: list[str] = []
        self.thresholds = np.zeros(0)

    @property
    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "members": [m.name for m in self.members],
            "weights": [float(w) for w in self.weights],
        }
        if self.member_versions is not None:
            config["member_versions"] = self.member_versions
        return config

    def union_genres(self) -> list[str]:
        """The members' genres: the first member's order, then each later member's new ones."""
        genres: list[str] = []
        for member in self.members:
            genres.extend(g for g in member.genres if g not in genres)
        return genres

    def _columns(self, member: GenreModel) -> list[int]:
        return [self.genres.index(g) for g in member.genres]

    def predict_proba(
        self, texts: Sequence[str], title_types: Sequence[str | None] | None = None
    ) -> np.ndarray:
        texts = list(texts)
        total = np.zeros((len(texts), len(self.genres)), dtype=np.float64)
        weight_sum = np.zeros(len(self.genres), dtype=np.float64)
        for weight, member in zip(self.weights, self.members, strict=True):
            if not set(member.genres) <= set(self.genres):
                raise ValueError(f"member {member.name} has genres the ensemble lacks")
            columns = self._columns(member)
            total[:, columns] += weight * predict_proba_typed(member, texts, title_types)
            weight_sum[columns] += weight
        return total / np.maximum(weight_sum, 1e-12)

    def _member_thresholds(self) -> np.ndarray:
        """Per genre, the weighted mean of the thresholds of the members that have it."""
        total = np.zeros(len(self.genres))
        weight_sum = np.zeros(len(self.genres))
        for weight, member in zip(self.weights, self.members, strict=True):
            columns = self._columns(member)
            total[columns] += weight * np.asarray(member.thresholds, dtype=float)
            weight_sum[columns] += weight
        return total / np.maximum(weight_sum, 1e-12)

    def predict(
        self, texts: Sequence[str], title_types: Sequence[str | None] | None = None
    ) -> np.ndarray:
        return apply_thresholds(self.predict_proba(texts, title_types), self.thresholds)

    def tune(self, validation: GenreExamples) -> dict[str, Any]:
        """Thresholds on the validation split's averaged probabilities (members fitted).

        A genre with too few validation positives to tune (``MIN_POSITIVES``), or one the
        validation split does not carry at all, keeps the (weighted mean) threshold of the
        members that have it: for a genre only a zero-shot member scores, that member's.
        """
        from trending_assets.lib.ml.thresholds import MIN_POSITIVES

        self.genres = self.union_genres()
        carried = [g for g in self.genres if g in validation.genres]
        subset = validation.with_genres(carried)
        proba = self.predict_proba(subset.texts, title_types_of(subset))
        columns = [self.genres.index(g) for g in carried]
        _, tuned = validation_macro_f1(subset.labels, proba[:, columns], subset.known)
        self.thresholds = self._member_thresholds()
        positives = (subset.labels.astype(bool) & subset.known_mask()).sum(axis=0)
        for k, column in enumerate(columns):
            if positives[k] >= MIN_POSITIVES:
                self.thresholds[column] = tuned[k]
        pred = apply_thresholds(proba, self.thresholds)[:, columns]
        score = known_macro_f1(subset.labels, pred, subset.known)
        return {"model": self.name, "validation_macro_f1": score, "best_params": self.config}

    def fit(self, train: GenreExamples, validation: GenreExamples) -> dict[str, Any]:
        started = time.perf_counter()
        reports = [
            member.fit(train, validation)
            for member, refit in zip(self.members, self.refit_flags, strict=True)
            if refit
        ]
        report = self.tune(validation)
        return {
            **report,
            "members": reports,
            "train_seconds": round(time.perf_counter() - started, 2),
        }

    def save(self, directory: Path) -> None:
        if not len(self.thresholds):
            raise RuntimeError("AveragedEnsembleGenreModel is not fitted")
        directory = Path(directory)
        names = [f"members/{i}_{m.name}" for i, m in enumerate(self.members)]
        for name, member in zip(names, self.members, strict=True):
            member.save(directory / name)
        write_model_json(self, directory, member_dirs=names)

    @classmethod
    def load(cls, directory: Path) -> AveragedEnsembleGenreModel:
        directory = Path(directory)
        meta = read_model_json(directory)
        members = [load_model(directory / name) for name in meta["member_dirs"]]
        config = meta["config"]
        model = cls(
            members, config["weights"], refit_members=False,
            member_versions=config.get("member_versions"),
        )  # fmt: skip
        model.genres = list(meta["genres"])
        model.thresholds = np.asarray(meta["thresholds"], dtype=float)
        return model
