"""The review-rating model behind the local provider's vibe score.

Features: TF-IDF over word 1-2 grams (sublinear tf, accents stripped, ``<br />`` removed).

Two methods (``method``):

* ``"gated"`` (the default): review ratings are bimodal (aclImdb has 1-4 and 7-10 only), and
  a single ridge regression spends its capacity on the jump between the two halves. The
  gated model splits the problem: a *polarity gate* (ridge on +/-1 targets over NB-weighted
  features: each TF-IDF column scaled by its log-count ratio between positive and negative
  reviews, as in NB-SVM) gives ``p = sigmoid(gate_sharpness * score)``, and two ridges fitted
  on the positive (rating > ``polarity_split``) and negative reviews only give the rating
  inside each half. The prediction is ``p * positive + (1 - p) * negative``. When one half
  has fewer than two training reviews, the model falls back to the single ridge.
* ``"ridge"``: one ridge regression on the 1-10 ratings (the model before issue 12; the
  benchmark's baseline).

Stated ratings: many real reviews say their score ("7/10", "3 out of 5 stars", "85/100",
"★★★★☆"). ``stated_rating`` reads the last such statement of a review onto the 1-10 scale
(dates such as "10/10/2005" and fractions of other scales are not read). ``fit_titles`` fits
a linear blend of the stated rating and the text model's out-of-fold prediction on the
training reviews that state one (``use_stated``; at least ``MIN_STATED_REVIEWS`` of them),
and ``predict`` applies it to the reviews that state one. It does not trust a statement
blindly: "better than the 2/10 critics gave it" is a statement too, and the blend's weights
say how far statements agree with the ratings on the training data.

``predict`` gives a rating per review (clipped to 1-10); ``title_vibe_score`` aggregates a
title's predictions into its integer score.

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
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import numpy as np
import scipy.sparse as sp

from trending_assets.lib.enrichment.schema import normalise_text

if TYPE_CHECKING:  # scikit-learn and scipy.stats are imported where they are used: seconds
    # to import, and every load of the code location imports this module
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import Ridge

MODEL_FORMAT = 3
# format 1: the single-ridge model saved before issue 12; format 2: no stated-rating blend
READABLE_FORMATS = (1, 2, 3)
METHODS = ("gated", "ridge")
MIN_STATED_REVIEWS = 20  # training reviews stating a rating needed to fit the blend

# "7/10", "7.5 / 10", "8 out of 10", "85/100", "3 out of 5", "4/5 stars", "3/4 stars": a
# number, "/" or "out of", a scale. Not inside a date or a longer fraction ("10/10/2005",
# "1/10th"); scales 4 and 5 only with "out of" or "star" after them ("2/4" may be a date).
_STATED = re.compile(
    r"(?<![\w./-])(\d{1,3}(?:[.,]\d{1,2})?)\s*(/|out\s+of)\s*(100|10|5|4)"
    r"(?![\d./-]?\d|\w)(\s*(?:stars?|\*))?",
    re.IGNORECASE,
)
# Star glyphs, as review sites and their users write them: "★★★★☆", "★★★½", "⭐⭐⭐⭐".
_FULL_STARS, _EMPTY_STARS = "★⭐", "☆"
_STAR_GLYPHS = re.compile(f"([{_FULL_STARS}]{{1,10}})(½)?([{_EMPTY_STARS}]*)")


def stated_rating(text: str) -> float | None:
    """The last rating a review states, on the 1-10 scale (None when it states none).

    Numbers: "7/10", "8 out of 10", "85/100", "3 out of 5 (stars)", "3/4 stars". Star glyphs:
    full stars, an optional half, then empty stars; the scale is the stars shown, or 5 when
    no empty star is shown (more than 5 full stars: out of 10); a lone star is not read."""
    found: tuple[int, float] | None = None
    text = text or ""
    for match in _STATED.finditer(text):
        value = float(match.group(1).replace(",", "."))
        scale = int(match.group(3))
        if scale in (4, 5) and not (match.group(2) != "/" or match.group(4)):
            continue
        if value <= scale:
            found = (match.start(), value / scale)
    for match in _STAR_GLYPHS.finditer(text):
        full, half, empty = len(match.group(1)), bool(match.group(2)), len(match.group(3))
        shown = full + half + empty
        if shown < 2:  # one star alone is as often decoration ("★ Staff pick ★") as a score
            continue
        scale = shown if empty else (5 if shown <= 5 else 10)
        if found is None or match.start() > found[0]:
            found = (match.start(), (full + 0.5 * half) / scale)
    if found is None:
        return None
    return min(max(10.0 * found[1], 1.0), 10.0)


@dataclass(frozen=True)
class RatingRetrainDecision:
    """Whether to retrain the review-rating model, and why (shown in its metadata)."""

    retrain: bool
    reason: str


def rating_retrain_decision(
    trained_on: int | None, current: int, min_change: float
) -> RatingRetrainDecision:
    """Retrain when the rated reviews changed by at least ``min_change`` (a share, added or
    removed, counted by rows) since ``trained_on``, the rows of the last training (None:
    no usable earlier model). Otherwise the last model is kept: a new one changes every
    title's vibe score, and so every title's enrichment."""
    if not trained_on:
        return RatingRetrainDecision(True, "trained: no earlier model of this code and settings")
    change = abs(current - trained_on) / trained_on
    counted = (
        f"{current - trained_on:+d} rated reviews ({change:.1%}) since the last training "
        f"on {trained_on}"
    )
    if change >= min_change:
        return RatingRetrainDecision(True, f"trained: {counted}, at least {min_change:.0%}")
    return RatingRetrainDecision(False, f"kept: {counted}, under {min_change:.0%}")


class ReviewRatingModel:
    def __init__(
        self,
        *,
        alpha: float = 1.5,
        ngram_range: tuple[int, int] = (1, 2),
        min_df: int = 2,
        max_features: int | None = 400_000,
        method: str = "gated",
        within_alpha: float = 1.0,
        gate_alpha: float = 1.5,
        gate_sharpness: float = 10.0,
        nb_smoothing: float = 1.0,
        polarity_split: float = 5.5,
        use_stated: bool = True,
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown rating-model method {method!r}; one of {METHODS}")
        self.alpha = alpha  # the single ridge ("ridge", and the fallback of "gated")
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.method = method
        self.within_alpha = within_alpha  # the two ridges inside each polarity
        self.gate_alpha = gate_alpha  # the polarity gate's ridge
        self.gate_sharpness = gate_sharpness  # slope of the sigmoid over the gate's score
        self.nb_smoothing = nb_smoothing  # add-k smoothing of the log-count ratios
        self.polarity_split = polarity_split  # rating > split is positive
        self.use_stated = use_stated  # blend in ratings the reviews state (fit_titles)
        self.vectorizer: TfidfVectorizer | None = None
        self.regressor: Ridge | None = None  # the single ridge (None when the gate is used)
        self.gate: dict[str, Any] | None = None  # {"weights", "gate", "positive", "negative"}
        self.calibration: tuple[float, float] = (1.0, 0.0)  # slope, intercept on title means
        # rating = stated * w_stated + text prediction * w_text + intercept, for reviews that
        # state a rating (None: not fitted, too few such reviews, or use_stated off)
        self.stated_blend: tuple[float, float, float] | None = None
        self.version: str | None = None  # fingerprint of params + training data
        self.training_reviews = 0

    def __repr__(self) -> str:
        return (
            f"ReviewRatingModel(method={self.method!r}, version={self.version!r}, "
            f"reviews={self.training_reviews})"
        )

    def params(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "ngram_range": list(self.ngram_range),
            "min_df": self.min_df,
            "max_features": self.max_features,
            "method": self.method,
            "within_alpha": self.within_alpha,
            "gate_alpha": self.gate_alpha,
            "gate_sharpness": self.gate_sharpness,
            "nb_smoothing": self.nb_smoothing,
            "polarity_split": self.polarity_split,
            "use_stated": self.use_stated,
        }

    @property
    def fitted(self) -> bool:
        return self.vectorizer is not None and (self.regressor is not None or self.gate is not None)

    # -- fitting ---------------------------------------------------------------------------

    def fit(self, texts: Sequence[str], ratings: Sequence[float]) -> ReviewRatingModel:
        texts, y = _checked(texts, ratings)
        matrix = self._fit_vectorizer(texts)
        self._fit_matrix(matrix, y)
        self._set_version(texts, y)
        return self

    def _fit_vectorizer(self, texts: list[str]) -> sp.csr_matrix:
        from sklearn.feature_extraction.text import TfidfVectorizer

        min_df = self.min_df if len(texts) >= 50 else 1
        self.vectorizer = TfidfVectorizer(
            ngram_range=self.ngram_range,
            min_df=min_df,
            max_features=self.max_features,
            sublinear_tf=True,
            strip_accents="unicode",
            dtype=np.float32,
        )
        return self.vectorizer.fit_transform(texts).tocsr()

    def _fit_matrix(self, matrix: sp.csr_matrix, y: np.ndarray) -> None:
        """Fit the regressors on an already vectorised matrix (``fit`` and its folds)."""
        self.regressor, self.gate = None, None
        positive = y > self.polarity_split
        if self.method == "ridge" or min(positive.sum(), (~positive).sum()) < 2:
            from sklearn.linear_model import Ridge

            self.regressor = Ridge(alpha=self.alpha).fit(matrix, y)
        else:
            self.gate = _fit_gate(
                matrix, y, positive, self.nb_smoothing, self.gate_alpha, self.within_alpha
            )
        self.training_reviews = len(y)

    def _set_version(self, texts: list[str], y: np.ndarray) -> None:
        # The version names the training data, not the order it was read in: the same
        # reviews in another order (a query without ORDER BY) are the same model version.
        digest = hashlib.sha256(repr(self.params()).encode())
        for line in sorted(
            f"{rating:g}\x1f{text}\x1e" for text, rating in zip(texts, y, strict=True)
        ):
            digest.update(line.encode())
        self.version = digest.hexdigest()[:12]

    # -- prediction ------------------------------------------------------------------------

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        if not self.fitted:
            raise RuntimeError("ReviewRatingModel is not fitted")
        if not len(texts):
            return np.zeros(0)
        texts = [normalise_text(t) for t in texts]
        predicted = self._predict_matrix(self.vectorizer.transform(texts))
        return self._with_stated(texts, predicted)

    def _with_stated(
        self, texts: Sequence[str], predicted: np.ndarray, stated: Sequence | None = None
    ) -> np.ndarray:
        """``predicted`` with the blend applied where a review states a rating (``stated``:
        the texts' stated ratings when already read)."""
        if self.stated_blend is None:
            return predicted
        if stated is None:
            stated = [stated_rating(t) for t in texts]
        w_stated, w_text, intercept = self.stated_blend
        out = predicted.copy()
        for i, value in enumerate(stated):
            if value is not None:
                out[i] = w_stated * value + w_text * predicted[i] + intercept
        return np.clip(out, 1.0, 10.0)

    def fit_stated_blend(
        self,
        texts: Sequence[str],
        predicted: np.ndarray,
        ratings: np.ndarray,
        stated: Sequence | None = None,
    ) -> ReviewRatingModel:
        """Least squares of the ratings on (stated rating, text prediction) over the reviews
        that state one; ``predicted`` must be out-of-sample. Kept only when the stated
        rating's weight is positive: otherwise the statements say nothing here."""
        self.stated_blend = None
        if not self.use_stated:
            return self
        if stated is None:
            stated = [stated_rating(t) for t in texts]
        stated = np.array(stated, dtype=object)
        rows = np.flatnonzero([s is not None for s in stated])
        if len(rows) < MIN_STATED_REVIEWS:
            return self
        design = np.column_stack([stated[rows].astype(float), predicted[rows], np.ones(len(rows))])
        coef, *_ = np.linalg.lstsq(design, np.asarray(ratings, dtype=float)[rows], rcond=None)
        if coef[0] > 0:
            self.stated_blend = (float(coef[0]), float(coef[1]), float(coef[2]))
        return self

    def _predict_matrix(self, matrix: sp.csr_matrix) -> np.ndarray:
        if self.gate is None:
            return np.clip(self.regressor.predict(matrix), 1.0, 10.0)
        gate = self.gate
        score = gate["gate"].predict(matrix.multiply(gate["weights"]).tocsr())
        p = _sigmoid(self.gate_sharpness * score)
        positive = gate["positive"].predict(matrix)
        negative = gate["negative"].predict(matrix)
        return np.clip(p * positive + (1 - p) * negative, 1.0, 10.0)

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
        """``fit`` on the reviews, then, on out-of-fold predictions, the stated-rating blend
        (``fit_stated_blend``) and the title-level ``calibrate``.

        Calibrating on in-sample predictions would learn the training fit's over-confidence,
        so the title means come from a 3-fold split by title (folds by title-id hash). The
        TF-IDF vocabulary and idf are fitted once on all the texts (no ratings are used
        there) and shared by the folds; every fold's regressors (and the gate's log-count
        ratios, which do use ratings) see only that fold's training rows.
        """
        texts, y = _checked(texts, ratings)
        ids = np.asarray([str(t) for t in title_ids])
        if len(ids) != len(y):
            raise ValueError("fit_titles needs one title id per text")
        matrix = self._fit_vectorizer(texts)
        fold = np.array([int(hashlib.md5(t.encode()).hexdigest(), 16) % 3 for t in ids])
        oof = np.zeros(len(y))
        for k in range(3):
            train = fold != k
            if train.sum() == 0 or (~train).sum() == 0:
                continue
            part = ReviewRatingModel(**_init_args(self.params()))
            part._fit_matrix(matrix[np.flatnonzero(train)], y[train])
            oof[~train] = part._predict_matrix(matrix[np.flatnonzero(~train)])
        self._fit_matrix(matrix, y)
        self._set_version(texts, y)
        stated = [stated_rating(t) for t in texts] if self.use_stated else None
        self.fit_stated_blend(texts, oof, y, stated)
        oof = self._with_stated(texts, oof, stated)  # statements read once for both
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
        from scipy.stats import spearmanr

        y = np.asarray(ratings, dtype=float)
        pred = self.predict(texts)
        return {
            "reviews": int(len(y)),
            "mae": float(np.abs(pred - y).mean()),
            "rmse": float(np.sqrt(((pred - y) ** 2).mean())),
            "spearman": float(spearmanr(pred, y).statistic) if len(y) > 2 else float("nan"),
        }

    # -- persistence -----------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        state = {
            "format": MODEL_FORMAT,
            "params": self.params(),
            "vectorizer": self.vectorizer,
            "regressor": self.regressor,
            "gate": self.gate,
            "calibration": self.calibration,
            "stated_blend": self.stated_blend,
            "version": self.version,
            "training_reviews": self.training_reviews,
        }
        joblib.dump(state, tmp, compress=3)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ReviewRatingModel:
        try:
            state = joblib.load(path)
        except (OSError, EOFError, ValueError) as exc:
            raise ValueError(f"{path}: not a readable rating-model file ({exc})") from exc
        except Exception as exc:  # unpickling garbage raises many kinds of error
            raise ValueError(f"{path}: corrupt rating-model file ({exc!r})") from exc
        if not isinstance(state, dict) or state.get("format") not in READABLE_FORMATS:
            found = state.get("format") if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"{path}: unknown rating-model format {found!r}")
        try:
            model = cls(**_init_args(state["params"]))
            model.vectorizer = state["vectorizer"]
            model.regressor = state["regressor"]
            model.gate = state.get("gate")  # absent in format 1 (single ridge)
            model.calibration = tuple(state["calibration"])
            blend = state.get("stated_blend")  # absent before format 3
            model.stated_blend = None if blend is None else tuple(blend)
            model.version = state["version"]
            model.training_reviews = state["training_reviews"]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{path}: incomplete rating-model file ({exc!r})") from exc
        if not model.fitted:
            raise ValueError(f"{path}: the saved rating model holds no fitted regressor")
        return model


def _checked(texts: Sequence[str], ratings: Sequence[float]) -> tuple[list[str], np.ndarray]:
    texts = [normalise_text(t) for t in texts]
    y = np.asarray(ratings, dtype=float)
    if len(texts) != len(y) or not len(y):
        raise ValueError("fit needs as many ratings as texts, and at least one")
    if np.isnan(y).any() or (y < 1).any() or (y > 10).any():
        raise ValueError("ratings must be 1..10 with no missing values (drop unrated reviews)")
    return texts, y


def nb_log_count_ratio(
    matrix: sp.spmatrix, positive: np.ndarray, smoothing: float = 1.0
) -> np.ndarray:
    """NB-SVM's log-count ratio per column: log of (share of positive documents holding the
    term) over (share of negative ones), add-``smoothing`` on the binarised counts."""
    present = (matrix > 0).astype(np.float32).tocsr()
    positive = np.asarray(positive, dtype=bool)
    p = np.asarray(present[np.flatnonzero(positive)].sum(axis=0)).ravel() + smoothing
    q = np.asarray(present[np.flatnonzero(~positive)].sum(axis=0)).ravel() + smoothing
    return np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)


def _fit_gate(
    matrix: sp.csr_matrix,
    y: np.ndarray,
    positive: np.ndarray,
    smoothing: float,
    gate_alpha: float,
    within_alpha: float,
) -> dict[str, Any]:
    from sklearn.linear_model import Ridge

    weights = nb_log_count_ratio(matrix, positive, smoothing)
    signs = np.where(positive, 1.0, -1.0)
    gate = Ridge(alpha=gate_alpha).fit(matrix.multiply(weights).tocsr(), signs)
    pos, neg = np.flatnonzero(positive), np.flatnonzero(~positive)
    return {
        "weights": weights,
        "gate": gate,
        "positive": Ridge(alpha=within_alpha).fit(matrix[pos], y[pos]),
        "negative": Ridge(alpha=within_alpha).fit(matrix[neg], y[neg]),
    }


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def _init_args(params: dict[str, Any]) -> dict[str, Any]:
    # Format-1 files (before issue 12) name no method: they hold the single ridge. Files
    # before format 3 have no stated-rating blend.
    return {
        "method": "ridge",
        "use_stated": False,
        **params,
        "ngram_range": tuple(params["ngram_range"]),
    }


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
