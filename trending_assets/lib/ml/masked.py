"""Logistic regression over several labelled sources at once, unknown labels masked.

:class:`MaskedLogRegGenreModel` is :class:`~trending_assets.lib.ml.models.LogRegGenreModel`
(TF-IDF, optionally + MiniLM embeddings, one binary logistic regression per genre,
``C`` and per-genre thresholds chosen on validation) with two options:

- ``label_masks`` (default on): a genre that a title's source cannot express (its genre
  map has no label mapping to it, see ``crosssource.label_mask``) is *unknown* for that
  title, not negative. For one-vs-rest that masked loss is simply: genre ``j``'s
  classifier is fitted on, and its threshold tuned on, only the titles whose source can
  express ``j``. Training on TMDB + streaming then no longer teaches "Disney+ titles are
  never horror" or "TMDB films are never reality".
- ``title_type_feature``: the title type is an input, one extra column (1.0 for TV,
  scaled by ``title_type_weight``) appended to the features, so TV-only genres (kids,
  reality, talk, news) and TV-leaning ones can use it. The type is then needed at
  prediction: ``predict_proba(texts, title_types=[...])`` (``"movie"`` / ``"tv"``);
  without ``title_types`` every title is taken as a movie. Given the types, a genre that
  does not apply to a title's type (``genres.applies_to``: ``reality`` on a movie) gets 0.
  (Both now live in ``models.LogRegGenreModel`` / ``models.TextFeatures``, shared with
  the unmasked model and XGBoost.)

The label masks come from ``meta`` (``source``, ``title_type``) of the training and
validation examples and the dbt seeds' genre maps (``data.load_genre_maps``), or from
``genre_maps`` passed in. They are a training-time matter: the saved model is the same
weight matrix as ``LogRegGenreModel`` plus the type-column weights, and predicts for
every genre. Saved with ``name = "masked_logreg"``; importing this module registers that
name with ``models.load_model``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from trending_assets.lib.ml.crosssource import label_mask
from trending_assets.lib.ml.data import GenreExamples, load_genre_maps
from trending_assets.lib.ml.features import TfidfFeaturizer
from trending_assets.lib.ml.metrics import evaluate
from trending_assets.lib.ml.models import (
    MODEL_CLASSES,
    LogRegGenreModel,
    _logit,
    title_types_of,
    type_column,
)
from trending_assets.lib.ml.thresholds import apply_thresholds, tune_thresholds

MODEL_CLASSES.setdefault("masked_logreg", f"{__name__}:MaskedLogRegGenreModel")
__all__ = ["MaskedLogRegGenreModel", "masked_validation_macro_f1", "type_column"]


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
    pred = apply_thresholds(proba, thresholds)
    scores = []
    for j in range(y_true.shape[1]):
        rows = mask[:, j]
        if rows.any() and y_true[rows, j].any():
            result = evaluate(y_true[rows, j : j + 1], pred[rows, j : j + 1], ["g"])
            scores.append(result["macro_f1"])
    return (float(np.mean(scores)) if scores else 0.0), thresholds


class MaskedLogRegGenreModel(LogRegGenreModel):
    """One-vs-rest logistic regression with per-source label masks (see the module docstring)."""

    name = "masked_logreg"

    def __init__(
        self,
        featurizer: TfidfFeaturizer | None = None,
        embedder: Any = None,
        *,
        label_masks: bool = True,
        title_type_feature: bool = False,
        title_type_weight: float = 1.0,
        genre_maps: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
        c_grid: Sequence[float] = (1.0, 2.0, 4.0, 8.0),
        max_iter: int = 1000,
        embedder_config: dict[str, Any] | None = None,
        embedding_weight: float = 1.0,
    ) -> None:
        super().__init__(
            featurizer,
            embedder,
            c_grid=c_grid,
            max_iter=max_iter,
            embedder_config=embedder_config,
            embedding_weight=embedding_weight,
            title_type_feature=title_type_feature,
            title_type_weight=title_type_weight,
        )
        self.label_masks = bool(label_masks)
        self.genre_maps = genre_maps

    @property
    def config(self) -> dict[str, Any]:
        return {**super().config, "label_masks": self.label_masks}

    def _mask(self, examples: GenreExamples) -> np.ndarray:
        if not self.label_masks:
            return np.ones(examples.labels.shape, dtype=bool)
        if self.genre_maps is None:
            self.genre_maps = load_genre_maps()
        mask = label_mask(examples.meta, self.genre_maps, examples.genres)
        # A positive is always known (a label the map produced), whatever the meta says.
        return mask | examples.labels.astype(bool)

    def _fit_masked(
        self, x: sp.csr_matrix, y: np.ndarray, mask: np.ndarray, c: float
    ) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.linear_model import LogisticRegression

        coef = np.zeros((y.shape[1], x.shape[1]), dtype=np.float32)
        intercept = np.zeros(y.shape[1], dtype=np.float32)
        for j in range(y.shape[1]):
            rows = np.flatnonzero(mask[:, j])
            column = y[rows, j]
            if len(rows) == 0:  # no source expresses it: never predicted
                intercept[j] = _logit(0.0)
                continue
            if column.min() == column.max():  # one class only: a constant prior
                intercept[j] = _logit(float(column.mean()))
                continue
            estimator = LogisticRegression(
                C=c, class_weight="balanced", solver="liblinear", max_iter=self.max_iter
            )
            estimator.fit(x[rows], column)
            coef[j] = estimator.coef_[0]
            intercept[j] = estimator.intercept_[0]
        return coef, intercept

    def fit(self, train: GenreExamples, validation: GenreExamples) -> dict[str, Any]:
        started = time.perf_counter()
        self.genres = list(train.genres)
        validation = validation.with_genres(self.genres)
        train_mask, val_mask = self._mask(train), self._mask(validation)
        self.features.fit(train.texts)
        x_train = self.features.transform(train.texts, title_types_of(train))
        x_val = self.features.transform(validation.texts, title_types_of(validation))
        search: list[dict[str, float]] = []
        best: tuple[float, float, np.ndarray, np.ndarray, np.ndarray] | None = None
        for c in self.c_grid:
            coef, intercept = self._fit_masked(x_train, train.labels, train_mask, c)
            score, thresholds = masked_validation_macro_f1(
                validation.labels, self._proba(x_val, coef, intercept), val_mask
            )
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
            "masked_cells": int((~train_mask).sum()),
            "train_seconds": round(time.perf_counter() - started, 2),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MaskedLogRegGenreModel:
        return cls(
            c_grid=config["c_grid"],
            max_iter=config["max_iter"],
            label_masks=config.get("label_masks", True),
            title_type_feature=config.get("title_type_feature", False),
            title_type_weight=config.get("title_type_weight", 1.0),
        )
