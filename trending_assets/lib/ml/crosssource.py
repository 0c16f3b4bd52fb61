"""Cross-source evaluation of genre models: no leaks, no false negatives, honest scores.

Training on one catalogue and testing on another (TMDB 5000 -> Netflix/Hulu/Disney+,
leave one source out) needs four things the same-split benchmark does not:

- **de-duplication across sources** (:func:`title_key`, :func:`cross_source_duplicates`):
  a film listed on TMDB *and* on Netflix must not teach the model on one side and test
  it on the other. Titles are matched by normalised title (lower case, accents and
  punctuation stripped, ``&`` read as ``and``) and release year (within
  ``year_tolerance`` years; a missing year matches any year). The training-side copy
  is the one dropped, so the test set stays whole and comparable between protocols.
- **per-source label masks** (:func:`expressible_genres`, :func:`label_mask`): a
  source's genre vocabulary cannot express every canonical genre (Disney+ has no
  ``horror`` label, Netflix no ``western``). For that source's titles such a genre is
  *unknown*, not negative. ``mask[i, j]`` is True where title ``i``'s source(s) can express genre
  ``j`` for its title type, or where ``j`` does not apply to that type (a movie is
  never ``reality``: a known negative); a title merged from several sources
  (``meta.source`` like ``hulu+netflix``) can express the union.
- **masked metrics** (:func:`masked_evaluate`): tp / fp / fn are counted only on the
  known cells (mask True); macro F1 averages the genres that are expressible for at
  least one evaluated title *and* have at least one positive among them (a genre never
  seen positive says nothing about the model, as in ``metrics.slice_metrics``); samples
  F1 is each title's F1 over its known genres. The definitions of precision, recall and
  F1 are those of :mod:`trending_assets.lib.ml.metrics`.
- **calibration** (:func:`calibration_table`, :func:`expected_calibration_error`):
  equal-width probability bins over the known cells, mean predicted probability vs
  observed positive rate per bin, and ECE = sum over bins of (cells in bin / all cells)
  * |mean predicted - observed rate|.

Pure functions over numpy / pandas; no Dagster.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from trending_assets.lib.ml.data import expressible_genres, known_genres

__all__ = [
    "calibration_table",
    "cross_source_duplicates",
    "expected_calibration_error",
    "expressible_genres",
    "label_mask",
    "masked_evaluate",
    "normalise_title",
    "source_members",
    "title_key",
]

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise_title(title: object) -> str:
    """Lower case, accents stripped, ``&`` as ``and``, punctuation and spaces collapsed."""
    if title is None or (isinstance(title, float) and np.isnan(title)):
        return ""
    text = unicodedata.normalize("NFKD", str(title))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("&", " and ")
    return " ".join(_NON_ALNUM.sub(" ", text).split())


def title_key(title: object, year: object) -> tuple[str, int | None]:
    """(normalised title, year or None) for matching one title across sources."""
    if year is None or (isinstance(year, float) and np.isnan(year)) or pd.isna(year):
        return normalise_title(title), None
    return normalise_title(title), int(year)


def cross_source_duplicates(
    train_keys: Sequence[tuple[str, int | None]],
    test_keys: Iterable[tuple[str, int | None]],
    *,
    year_tolerance: int = 0,
) -> np.ndarray:
    """Boolean array over ``train_keys``: True where the training title is also a test title.

    Keys are :func:`title_key` pairs. Two keys match when the normalised titles are equal
    (and non-empty) and the years differ by at most ``year_tolerance``; a missing year on
    either side matches any year (when in doubt, the training copy goes).
    """
    years_by_title: dict[str, list[int | None]] = {}
    for title, year in test_keys:
        if title:
            years_by_title.setdefault(title, []).append(year)
    out = np.zeros(len(train_keys), dtype=bool)
    for i, (title, year) in enumerate(train_keys):
        years = years_by_title.get(title) if title else None
        if not years:
            continue
        out[i] = any(
            year is None or other is None or abs(year - other) <= year_tolerance for other in years
        )
    return out


def source_members(source: object) -> list[str]:
    """The sources of a (possibly merged, ``a+b``) ``meta.source`` value."""
    if source is None or (isinstance(source, float) and np.isnan(source)):
        return []
    return [part for part in str(source).split("+") if part]


def label_mask(
    meta: pd.DataFrame,
    genre_maps: Mapping[str, Mapping[str, Sequence[str]]],
    genres: Sequence[str],
) -> np.ndarray:
    """(n, G) bool: True where genre ``genres[j]``'s label is known for title ``i``.

    ``data.known_genres`` of the title's source(s) and type: what a source's genre map
    can express, plus the genres that do not apply to the type (known negatives).
    ``meta`` needs ``source`` and ``title_type``. A source without a genre map expresses
    nothing; a merged source expresses the union of its members.
    """
    genre_index = {g: j for j, g in enumerate(genres)}
    cache: dict[tuple[str, object], np.ndarray] = {}
    mask = np.zeros((len(meta), len(genres)), dtype=bool)
    sources = meta["source"].tolist()
    types = meta["title_type"].tolist()
    for i, (source, title_type) in enumerate(zip(sources, types, strict=True)):
        key = (str(source), title_type)
        if key not in cache:
            row = np.zeros(len(genres), dtype=bool)
            mappings = [genre_maps.get(member, {}) for member in source_members(source)]
            for genre in known_genres(mappings, title_type):
                if genre in genre_index:
                    row[genre_index[genre]] = True
            cache[key] = row
        mask[i] = cache[key]
    return mask


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    out = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def masked_evaluate(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    mask: np.ndarray,
    genres: Sequence[str],
) -> dict[str, object]:
    """macro / micro / samples F1 and per-genre F1 counted on the known cells only.

    ``evaluated_genres``: the genres in the macro average (known for some title and
    positive for at least one); ``per_genre`` lists those with precision, recall, F1,
    support (known positives) and ``known`` (titles for which the genre is known).
    """
    y = np.asarray(y_true).astype(bool)
    p = np.asarray(y_pred).astype(bool)
    m = np.asarray(mask).astype(bool)
    if not (y.shape == p.shape == m.shape) or y.ndim != 2 or y.shape[1] != len(genres):
        raise ValueError(f"y_true, y_pred and mask must be (n, {len(genres)}): "
                         f"{y.shape}, {p.shape}, {m.shape}")  # fmt: skip
    if (y & ~m).any():
        raise ValueError("a positive label on a cell the mask calls unknown")
    tp = (y & p & m).sum(axis=0)
    fp = (~y & p & m).sum(axis=0)
    fn = (y & ~p & m).sum(axis=0)
    known = m.sum(axis=0)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    evaluated = [j for j in range(len(genres)) if known[j] > 0 and (tp[j] + fn[j]) > 0]
    pooled = 2 * tp[evaluated].sum() + fp[evaluated].sum() + fn[evaluated].sum()
    row_tp = (y & p & m).sum(axis=1)
    row_f1 = _ratio(2 * row_tp, (y & m).sum(axis=1) + (p & m).sum(axis=1))
    return {
        "macro_f1": float(f1[evaluated].mean()) if evaluated else 0.0,
        "micro_f1": float(2 * tp[evaluated].sum() / pooled) if pooled else 0.0,
        "samples_f1": float(row_f1.mean()) if len(y) else 0.0,
        "n_examples": int(len(y)),
        "evaluated_genres": [genres[j] for j in evaluated],
        "unknown_genres": [genres[j] for j in range(len(genres)) if known[j] == 0],
        "per_genre": [
            {
                "genre": genres[j],
                "precision": float(precision[j]),
                "recall": float(recall[j]),
                "f1": float(f1[j]),
                "support": int(tp[j] + fn[j]),
                "known": int(known[j]),
            }
            for j in evaluated
        ],
    }


def calibration_table(
    y_true: np.ndarray,
    proba: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    bins: int = 10,
) -> pd.DataFrame:
    """Equal-width probability bins over the known cells.

    Columns: lower, upper, n (cells), mean_predicted, observed_rate. Empty bins are
    kept with n 0 (and NaN means), so tables line up between models.
    """
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(proba, dtype=float)
    m = np.ones_like(y, dtype=bool) if mask is None else np.asarray(mask).astype(bool)
    if not (y.shape == p.shape == m.shape):
        raise ValueError(f"shapes differ: {y.shape}, {p.shape}, {m.shape}")
    y, p = y[m], np.clip(p[m], 0.0, 1.0)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    rows = []
    for b in range(bins):
        in_bin = index == b
        n = int(in_bin.sum())
        rows.append(
            {
                "lower": float(edges[b]),
                "upper": float(edges[b + 1]),
                "n": n,
                "mean_predicted": float(p[in_bin].mean()) if n else float("nan"),
                "observed_rate": float(y[in_bin].mean()) if n else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=["lower", "upper", "n", "mean_predicted", "observed_rate"])


def expected_calibration_error(table: pd.DataFrame) -> float:
    """ECE of a :func:`calibration_table`: bin-weighted mean |predicted - observed|."""
    total = int(table["n"].sum())
    if total == 0:
        return 0.0
    filled = table[table["n"] > 0]
    gaps = (filled["mean_predicted"] - filled["observed_rate"]).abs()
    return float((filled["n"] * gaps).sum() / total)
