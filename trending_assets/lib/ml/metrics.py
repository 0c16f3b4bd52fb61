"""Multi-label metrics, written out so their definitions are explicit.

For a genre with tp true positives, fp false positives and fn false negatives:
precision = tp / (tp + fp), recall = tp / (tp + fn), F1 = 2 tp / (2 tp + fp + fn).
A ratio whose denominator is 0 counts as 0 ("zero_division=0", as scikit-learn's
``zero_division=0``): a genre never predicted has precision 0, a genre with no
positives and no predictions has F1 0.

- macro F1: the unweighted mean of the per-genre F1 over all genres of the label set;
- micro F1: F1 of the pooled tp, fp, fn over all genres;
- samples F1: the mean over titles of each title's F1 between its true and predicted
  genre sets (a title with neither counts 0).

``slice_metrics`` computes the same per slice (movie vs TV, by source, by language);
there macro F1 averages only the genres with at least one positive in the slice, since
a small slice misses many genres and zeros for absent genres would say nothing about it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    out = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _check(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true).astype(bool)
    p = np.asarray(y_pred).astype(bool)
    if y.shape != p.shape or y.ndim != 2:
        raise ValueError(f"y_true and y_pred must be (n, G) of one shape: {y.shape} vs {p.shape}")
    return y, p


def evaluate(y_true: np.ndarray, y_pred: np.ndarray, genres: Sequence[str]) -> dict[str, object]:
    """macro_f1, micro_f1, samples_f1, per_genre [{genre, precision, recall, f1, support}].

    Also n_examples, label_cardinality (mean true genres per title) and
    predicted_cardinality (mean predicted).
    """
    y, p = _check(y_true, y_pred)
    if y.shape[1] != len(genres):
        raise ValueError(f"{y.shape[1]} label columns but {len(genres)} genres")
    tp = (y & p).sum(axis=0)
    fp = (~y & p).sum(axis=0)
    fn = (y & ~p).sum(axis=0)
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    row_tp = (y & p).sum(axis=1)
    row_f1 = _ratio(2 * row_tp, y.sum(axis=1) + p.sum(axis=1))
    pooled = 2 * tp.sum() + fp.sum() + fn.sum()
    return {
        "macro_f1": float(f1.mean()) if len(genres) else 0.0,
        "micro_f1": float(2 * tp.sum() / pooled) if pooled else 0.0,
        "samples_f1": float(row_f1.mean()) if len(y) else 0.0,
        "n_examples": int(len(y)),
        "label_cardinality": float(y.sum(axis=1).mean()) if len(y) else 0.0,
        "predicted_cardinality": float(p.sum(axis=1).mean()) if len(y) else 0.0,
        "per_genre": [
            {
                "genre": genre,
                "precision": float(precision[j]),
                "recall": float(recall[j]),
                "f1": float(f1[j]),
                "support": int(y[:, j].sum()),
            }
            for j, genre in enumerate(genres)
        ],
    }


def slice_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    genres: Sequence[str],
    meta: pd.DataFrame,
    by: Sequence[str] = ("title_type", "source", "original_language"),
    min_size: int = 5,
) -> pd.DataFrame:
    """One row per (column, value) slice of ``meta`` with at least ``min_size`` titles.

    Columns: slice (the meta column), value, n, macro_f1 (over genres present in the
    slice), micro_f1, samples_f1, genres_present. Missing values form no slice; a
    ``by`` column absent from ``meta`` is skipped.
    """
    y, p = _check(y_true, y_pred)
    meta = meta.reset_index(drop=True)
    if len(meta) != len(y):
        raise ValueError(f"meta has {len(meta)} rows for {len(y)} examples")
    rows: list[dict[str, object]] = []
    for column in by:
        if column not in meta.columns:
            continue
        values = meta[column]
        for value in sorted(values.dropna().unique(), key=str):
            mask = (values == value).to_numpy()
            if mask.sum() < min_size:
                continue
            result = evaluate(y[mask], p[mask], genres)
            present = [g for g in result["per_genre"] if g["support"] > 0]  # type: ignore[union-attr]
            rows.append(
                {
                    "slice": column,
                    "value": str(value),
                    "n": int(mask.sum()),
                    "macro_f1": float(np.mean([g["f1"] for g in present])) if present else 0.0,
                    "micro_f1": result["micro_f1"],
                    "samples_f1": result["samples_f1"],
                    "genres_present": len(present),
                }
            )
    columns = ["slice", "value", "n", "macro_f1", "micro_f1", "samples_f1", "genres_present"]
    return pd.DataFrame(rows, columns=columns)
