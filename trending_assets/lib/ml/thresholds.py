"""Per-genre decision thresholds, tuned on the validation split.

A single 0.5 cut-off suits no multi-label model: rare genres get low probabilities and
class-weighted models run high. Each genre gets the threshold from a grid that
maximises its own F1 on validation.

**Rare genres keep the default** (``MIN_POSITIVES``): a tuned threshold is trusted only
when the genre has at least ``min_positives`` (default 5) positives in the validation
split; below that it gets ``fallback`` (0.5). With one or two positives the F1 curve is
noise, and its maximum is the largest grid value under the positives' scores: when a
positive is scored low (a plot unlike the training ones), that is the bottom of the grid,
and the genre then fires on nearly every text. That is the "Soap on every plot" bug of
``/predict``: a rare genre (``soap``, ~10 titles, one or two in validation) whose
validation positive was scored low got a threshold of 0.05, was called for almost any
plot and, through ``apply_thresholds``' at-least-one rule, was also the pick whenever
nothing else passed (its score / threshold ratio being the largest).
(``tests/ml/test_ml_rare_genre_thresholds.py`` reproduces it with a real model.)
The default is the cut-off of a model's own probabilities; for the class-weighted
models here it calls a rare genre only where the model is confident.
"""

from __future__ import annotations

import numpy as np

DEFAULT_GRID = np.round(np.linspace(0.05, 0.95, 19), 4)
# Validation positives a genre needs before its tuned threshold replaces the fallback.
MIN_POSITIVES = 5


def _f1(y: np.ndarray, pred: np.ndarray) -> float:
    tp = float(np.sum(y & pred))
    denominator = float(np.sum(y)) + float(np.sum(pred))
    return 2 * tp / denominator if denominator else 0.0


def tune_thresholds(
    y_true: np.ndarray,
    proba: np.ndarray,
    *,
    grid: np.ndarray | None = None,
    fallback: float = 0.5,
    min_positives: int = MIN_POSITIVES,
) -> np.ndarray:
    """For every genre (column), the grid threshold with the best F1 (``proba >= t``).

    A genre with fewer than ``min_positives`` positives in ``y_true`` (none included) gets
    ``fallback``: too few positives to trust a tuned threshold (module docstring). Ties between thresholds go to the one closest to ``fallback``, then the
    lower one, so a flat F1 curve does not push the cut-off to an extreme.
    """
    y = np.asarray(y_true).astype(bool)
    p = np.asarray(proba, dtype=float)
    if y.shape != p.shape or y.ndim != 2:
        raise ValueError(f"y_true and proba must be (n, G) of one shape: {y.shape} vs {p.shape}")
    grid = DEFAULT_GRID if grid is None else np.asarray(grid, dtype=float)
    # Candidate order encodes the tie-break: closest to the fallback, then the lower one.
    candidates = sorted(grid.tolist(), key=lambda t: (abs(t - fallback), t))
    thresholds = np.full(y.shape[1], fallback, dtype=float)
    if min_positives < 1:
        raise ValueError(f"min_positives must be at least 1, got {min_positives}")
    for j in range(y.shape[1]):
        if int(y[:, j].sum()) < min_positives:
            continue
        scores = [_f1(y[:, j], p[:, j] >= t) for t in candidates]
        thresholds[j] = candidates[int(np.argmax(scores))]  # first maximum wins
    return thresholds


def apply_thresholds(
    proba: np.ndarray, thresholds: np.ndarray, *, at_least_one: bool = True
) -> np.ndarray:
    """Multi-hot uint8 predictions: ``proba >= threshold`` per genre.

    With ``at_least_one`` (default) a title whose scores pass no threshold still gets
    one genre: the one whose score is closest to its own threshold (the largest
    ``proba / threshold`` ratio), because every title has some genre and thresholds
    differ between genres, so the raw top probability is not the best single guess.
    """
    p = np.asarray(proba, dtype=float)
    t = np.asarray(thresholds, dtype=float)
    if p.ndim != 2 or t.shape != (p.shape[1],):
        raise ValueError(f"thresholds must have one value per column: {t.shape} vs {p.shape}")
    pred = (p >= t).astype(np.uint8)
    if at_least_one and p.shape[0] and p.shape[1]:
        empty = ~pred.any(axis=1)
        if empty.any():
            ratio = p[empty] / np.maximum(t, 1e-9)
            pred[np.flatnonzero(empty), np.argmax(ratio, axis=1)] = 1
    return pred
