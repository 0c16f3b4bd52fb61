"""The review-rating model behind the local provider's vibe score.

TF-IDF over word 1-2 grams (sublinear tf, accents stripped, ``<br />`` removed) and a ridge
regression on the reviews' own 1-10 ratings. ``predict`` gives a rating per review (clipped
to 1-10); ``title_vibe_score`` aggregates a title's predictions into its integer score.

Aggregation (the documented choice): the mean of the title's predicted review ratings,
then, when calibrated, a linear map fitted on *training* titles from the mean prediction to
the observed mean rating (ridge predictions shrink toward the middle; the map spreads them
back over the 1-10 scale so rounding to an integer keeps the ranking), rounded half up and
clipped to 1-10. The observed ratings of the title itself are *not* blended in by default
(``observed_weight=0``): the score is what the text says, so that its correlation with the
mean user rating (``evaluation``) measures the model and not an echo of its input. A caller
who wants the product score to lean on real ratings can pass ``observed_weight`` > 0
(weight of the observed mean, scaled by n / (n + 5) so one rating does not dominate).
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from scipy.stats import spearmanr
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import Ridge

from trending_assets.lib.enrichment.schema import normalise_text

MODEL_FORMAT = 1


class ReviewRatingModel:
    def __init__(
        self,
        *,
        alpha: float = 1.5,
        ngram_range: tuple[int, int] = (1, 2),
        min_df: int = 2,
        max_features: int | None = 400_000,
    ) -> None:
        self.alpha = alpha
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.vectorizer: TfidfVectorizer | None = None
        self.regressor: Ridge | None = None
        self.calibration: tuple[float, float] = (1.0, 0.0)  # slope, intercept on title means
        self.version: str | None = None  # fingerprint of params + training data
        self.training_reviews = 0

    def __repr__(self) -> str:
        return f"ReviewRatingModel(version={self.version!r}, reviews={self.training_reviews})"

    def params(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "ngram_range": list(self.ngram_range),
            "min_df": self.min_df,
            "max_features": self.max_features,
        }

    @property
    def fitted(self) -> bool:
        return self.regressor is not None

    def fit(self, texts: Sequence[str], ratings: Sequence[float]) -> ReviewRatingModel:
        texts = [normalise_text(t) for t in texts]
        y = np.asarray(ratings, dtype=float)
        if len(texts) != len(y) or not len(y):
            raise ValueError("fit needs as many ratings as texts, and at least one")
        if np.isnan(y).any() or (y < 1).any() or (y > 10).any():
            raise ValueError("ratings must be 1..10 with no missing values (drop unrated reviews)")
        min_df = self.min_df if len(texts) >= 50 else 1
        self.vectorizer = TfidfVectorizer(
            ngram_range=self.ngram_range,
            min_df=min_df,
            max_features=self.max_features,
            sublinear_tf=True,
            strip_accents="unicode",
            dtype=np.float32,
        )
        matrix = self.vectorizer.fit_transform(texts)
        self.regressor = Ridge(alpha=self.alpha).fit(matrix, y)
        self.training_reviews = len(texts)
        # The version names the training data, not the order it was read in: the same
        # reviews in another order (a query without ORDER BY) are the same model version.
        digest = hashlib.sha256(repr(self.params()).encode())
        for line in sorted(
            f"{rating:g}\x1f{text}\x1e" for text, rating in zip(texts, y, strict=True)
        ):
            digest.update(line.encode())
        self.version = digest.hexdigest()[:12]
        return self

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        if self.vectorizer is None or self.regressor is None:
            raise RuntimeError("ReviewRatingModel is not fitted")
        if not len(texts):
            return np.zeros(0)
        matrix = self.vectorizer.transform([normalise_text(t) for t in texts])
        return np.clip(self.regressor.predict(matrix), 1.0, 10.0)

    def calibrate(
        self, predicted_title_means: Sequence[float], observed_title_means: Sequence[float]
    ) -> ReviewRatingModel:
        """Fit the title-level linear map (least squares); use training titles only."""
        x = np.asarray(predicted_title_means, dtype=float)
        y = np.asarray(observed_title_means, dtype=float)
        if len(x) >= 3 and np.ptp(x) > 0:
            slope, intercept = np.polyfit(x, y, 1)
            if slope > 0:
                self.calibration = (float(slope), float(intercept))
        return self

    def fit_titles(
        self, texts: Sequence[str], ratings: Sequence[float], title_ids: Sequence[str]
    ) -> ReviewRatingModel:
        """``fit`` on the reviews, then ``calibrate`` on out-of-fold title means.

        Calibrating on in-sample predictions would learn the training fit's over-confidence,
        so the title means come from a 3-fold split by title (folds by title-id hash).
        """
        texts = list(texts)
        y = np.asarray(ratings, dtype=float)
        ids = np.asarray([str(t) for t in title_ids])
        fold = np.array([int(hashlib.md5(t.encode()).hexdigest(), 16) % 3 for t in ids])
        oof = np.zeros(len(y))
        for k in range(3):
            train = fold != k
            if train.sum() == 0 or (~train).sum() == 0:
                continue
            part = ReviewRatingModel(**_init_args(self.params()))
            part.fit([texts[i] for i in np.flatnonzero(train)], y[train])
            oof[~train] = part.predict([texts[i] for i in np.flatnonzero(~train)])
        self.fit(texts, y)
        means_pred, means_obs = _title_means(ids, oof, y)
        return self.calibrate(means_pred, means_obs)

    def title_score(self, texts: Sequence[str]) -> float | None:
        """Calibrated mean predicted rating of a title's reviews (continuous; None if none)."""
        if not len(texts):
            return None
        slope, intercept = self.calibration
        return float(slope * self.predict(texts).mean() + intercept)

    def evaluate(self, texts: Sequence[str], ratings: Sequence[float]) -> dict[str, float]:
        """Review-level MAE, RMSE and Spearman on held-out reviews."""
        y = np.asarray(ratings, dtype=float)
        pred = self.predict(texts)
        return {
            "reviews": int(len(y)),
            "mae": float(np.abs(pred - y).mean()),
            "rmse": float(np.sqrt(((pred - y) ** 2).mean())),
            "spearman": float(spearmanr(pred, y).statistic) if len(y) > 2 else float("nan"),
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        state = {
            "format": MODEL_FORMAT,
            "params": self.params(),
            "vectorizer": self.vectorizer,
            "regressor": self.regressor,
            "calibration": self.calibration,
            "version": self.version,
            "training_reviews": self.training_reviews,
        }
        joblib.dump(state, tmp, compress=3)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ReviewRatingModel:
        state = joblib.load(path)
        if state.get("format") != MODEL_FORMAT:
            raise ValueError(f"{path}: unknown rating-model format {state.get('format')!r}")
        model = cls(**_init_args(state["params"]))
        model.vectorizer = state["vectorizer"]
        model.regressor = state["regressor"]
        model.calibration = tuple(state["calibration"])
        model.version = state["version"]
        model.training_reviews = state["training_reviews"]
        return model


def _init_args(params: dict[str, Any]) -> dict[str, Any]:
    return {**params, "ngram_range": tuple(params["ngram_range"])}


def _title_means(ids: np.ndarray, pred: np.ndarray, obs: np.ndarray) -> tuple[list, list]:
    order = np.argsort(ids, kind="stable")
    ids, pred, obs = ids[order], pred[order], obs[order]
    _, starts = np.unique(ids, return_index=True)
    bounds = list(starts) + [len(ids)]
    means_pred = [pred[a:b].mean() for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    means_obs = [obs[a:b].mean() for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return means_pred, means_obs


def title_vibe_score(
    text_score: float | None,
    observed_ratings: Sequence[int] | None = None,
    observed_weight: float = 0.0,
    default: int = 5,
) -> int:
    """Integer 1-10 vibe score from the (calibrated) text score, optionally blended with the
    observed mean rating (``observed_weight`` * n / (n + 5)); ``default`` when neither."""
    ratings = [r for r in (observed_ratings or []) if r is not None]
    observed = sum(ratings) / len(ratings) if ratings else None
    if text_score is None and observed is None:
        return default
    if text_score is None:
        value = observed
    elif observed is None or observed_weight <= 0:
        value = text_score
    else:
        weight = min(max(observed_weight, 0.0), 1.0) * len(ratings) / (len(ratings) + 5)
        value = weight * observed + (1 - weight) * text_score
    return int(min(max(math.floor(value + 0.5), 1), 10))
