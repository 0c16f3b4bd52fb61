"""Drift statistics: the two-sample comparisons behind every drift row, numpy/scipy only.

PSI over reference-fixed bins and the two-sample Kolmogorov-Smirnov test for numeric
features, PSI (with the total-variation distance alongside) over the union of categories for
categorical ones, the Jensen-Shannon distance over the reference's frequent tokens for
vocabulary, and a one-sided Fisher exact test for the increase of a rate. Each comparison
returns `DriftRow`s whose status applies the thresholds of `thresholds`; too little data
gives a SKIP row with the reason. `sequence_summary` describes one sample for metadata.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

# scipy is imported in the functions that use it: importing scipy.stats takes seconds,
# and every load of the code location imports this module.
from trending_assets.lib.drift.thresholds import (
    JS_WARN,
    KS_MIN_STATISTIC,
    MIN_RATE_DENOMINATOR,
    MIN_SAMPLES,
    MIN_TOKENS,
    NOISE_ALPHA,
    PSI_BINS,
    PSI_EPSILON,
    PSI_MODERATE,
    PSI_WARN,
    RATE_MIN_INCREASE,
    VOCAB_MIN_EXPECTED,
    VOCAB_TOP_K,
    Kind,
    Status,
)

_TOKEN = re.compile(r"[^\W\d_]{2,}", re.UNICODE)
OTHER_TOKEN = "<other>"


@dataclass(frozen=True)
class DriftRow:
    feature: str
    kind: Kind
    statistic: str
    value: float | None
    threshold: float
    status: Status
    n_reference: int
    n_current: int
    p_value: float | None = None
    note: str = ""


def skip_row(
    feature: str, kind: Kind, statistic: str, threshold: float, n_ref: int, n_cur: int, why: str
) -> DriftRow:
    return DriftRow(feature, kind, statistic, None, threshold, "SKIP", n_ref, n_cur, None, why)


def _too_few(n_ref: int, n_cur: int, minimum: int, unit: str) -> str | None:
    if n_ref < minimum or n_cur < minimum:
        return f"too little data: {n_ref} reference / {n_cur} current {unit} (need {minimum} each)"
    return None


def clean_values(values: Iterable[float] | None) -> np.ndarray:
    array = np.asarray(list(values) if values is not None else [], dtype=float)
    return array[np.isfinite(array)]


def reference_cuts(reference: np.ndarray, bins: int = PSI_BINS) -> np.ndarray:
    """Lower edges of the reference's quantile bins, plus an edge just above its maximum.

    Binning with `np.searchsorted(cuts, x, side="right")` then gives bin 0 = below the
    reference minimum, one bin per distinct quantile, and a last bin above the reference
    maximum; a constant reference still has three bins (below, equal, above).
    """
    quantiles = np.quantile(reference, np.linspace(0.0, 1.0, bins + 1)[:-1])
    return np.append(np.unique(quantiles), np.nextafter(reference.max(), np.inf))


def _bin_counts(values: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    return np.bincount(np.searchsorted(cuts, values, side="right"), minlength=len(cuts) + 1)


def psi_from_shares(
    reference: np.ndarray, current: np.ndarray, epsilon: float = PSI_EPSILON
) -> float:
    """Population stability index: sum((cur - ref) * ln(cur / ref)), empty shares -> epsilon."""
    ref = np.clip(np.asarray(reference, dtype=float), epsilon, None)
    cur = np.clip(np.asarray(current, dtype=float), epsilon, None)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def homogeneity_p_value(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """P(counts this different | one distribution): Pearson's chi-square test of homogeneity.

    Computed on the counts, not on the epsilon-smoothed shares, so an empty bin in a small
    sample (which inflates PSI) does not make the test any more confident.
    """
    table = np.vstack([np.asarray(ref_counts, float), np.asarray(cur_counts, float)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 1.0
    from scipy import stats

    return float(stats.chi2_contingency(table, correction=False).pvalue)


def _psi_status(value: float, p_value: float) -> tuple[Status, str]:
    if value >= PSI_WARN and p_value < NOISE_ALPHA:
        return "WARN", "significant shift (PSI >= 0.25)"
    if value >= PSI_WARN:
        return "PASS", f"PSI >= 0.25 but within sampling noise (p={p_value:.3g})"
    if value >= PSI_MODERATE:
        return "PASS", "moderate shift (0.1 <= PSI < 0.25): watch"
    return "PASS", "stable"


def numeric_drift(
    feature: str, kind: Kind, reference: Iterable[float], current: Iterable[float]
) -> list[DriftRow]:
    """Two rows: PSI over reference-fixed bins, and the two-sample KS test."""
    ref, cur = clean_values(reference), clean_values(current)
    why = _too_few(len(ref), len(cur), MIN_SAMPLES, "values")
    if why:
        return [
            skip_row(feature, kind, "psi", PSI_WARN, len(ref), len(cur), why),
            skip_row(feature, kind, "ks", KS_MIN_STATISTIC, len(ref), len(cur), why),
        ]
    cuts = reference_cuts(ref)
    ref_bins, cur_bins = _bin_counts(ref, cuts), _bin_counts(cur, cuts)
    psi = psi_from_shares(ref_bins / len(ref), cur_bins / len(cur))
    psi_p = homogeneity_p_value(ref_bins, cur_bins)
    psi_status, psi_note = _psi_status(psi, psi_p)
    means = f"mean {ref.mean():.2f} -> {cur.mean():.2f}"
    from scipy import stats

    ks = stats.ks_2samp(ref, cur)
    d, ks_p = float(ks.statistic), float(ks.pvalue)
    ks_warn = d >= KS_MIN_STATISTIC and ks_p < NOISE_ALPHA
    if ks_warn:
        ks_note = "distributions differ"
    elif ks_p < NOISE_ALPHA:
        ks_note = f"significant but small (D < {KS_MIN_STATISTIC})"
    else:
        ks_note = "no significant difference"
    return [
        DriftRow(feature, kind, "psi", psi, PSI_WARN, psi_status, len(ref), len(cur), psi_p, f"{psi_note}; {means}"),
        DriftRow(feature, kind, "ks", d, KS_MIN_STATISTIC, "WARN" if ks_warn else "PASS", len(ref), len(cur), ks_p,
                 f"{ks_note}; {means}"),
    ]  # fmt: skip


def category_shares(values: Iterable[str]) -> pd.Series:
    counts = pd.Series(Counter(v for v in values if v is not None), dtype=float)
    return counts / counts.sum() if counts.sum() else counts


def categorical_drift(
    feature: str, kind: Kind, reference: Iterable[str], current: Iterable[str]
) -> DriftRow:
    """PSI over the union of categories; new categories count through epsilon smoothing."""
    ref_values = [v for v in reference if v is not None]
    cur_values = [v for v in current if v is not None]
    n_ref, n_cur = len(ref_values), len(cur_values)
    why = _too_few(n_ref, n_cur, MIN_SAMPLES, "values")
    if why:
        return skip_row(feature, kind, "psi", PSI_WARN, n_ref, n_cur, why)
    ref, cur = category_shares(ref_values), category_shares(cur_values)
    categories = sorted(set(ref.index) | set(cur.index))
    ref, cur = ref.reindex(categories, fill_value=0.0), cur.reindex(categories, fill_value=0.0)
    psi = psi_from_shares(ref.to_numpy(), cur.to_numpy())
    p_value = homogeneity_p_value(ref.to_numpy() * n_ref, cur.to_numpy() * n_cur)
    status, note = _psi_status(psi, p_value)
    tvd = 0.5 * float(np.abs(ref - cur).sum())
    new = [c for c in categories if ref[c] == 0]
    gone = [c for c in categories if cur[c] == 0]
    moved = (cur - ref).abs().sort_values(ascending=False).head(3)
    note += f"; TVD {tvd:.3f}; largest moves: " + ", ".join(
        f"{c} {ref[c]:.0%}->{cur[c]:.0%}" for c in moved.index
    )
    if new:
        note += f"; new: {', '.join(map(str, new[:5]))}"
    if gone:
        note += f"; gone: {', '.join(map(str, gone[:5]))}"
    return DriftRow(feature, kind, "psi", psi, PSI_WARN, status, n_ref, n_cur, p_value, note)


def tokens(text: str | None) -> list[str]:
    return _TOKEN.findall(text.lower()) if text else []


def vocabulary_drift(
    feature: str,
    kind: Kind,
    reference: Iterable[str | None],
    current: Iterable[str | None],
    top_k: int = VOCAB_TOP_K,
) -> DriftRow:
    """Jensen-Shannon distance over the reference's frequent tokens plus an `<other>` bucket.

    A token is kept (up to `top_k`) only if the smaller sample should see it at least
    `VOCAB_MIN_EXPECTED` times; rarer ones go to `<other>`. Rare tokens only add noise to
    the distance (it grows like sqrt(tokens kept / sample size)) and break the test.
    """
    ref_counts = Counter(t for text in reference for t in tokens(text))
    cur_counts = Counter(t for text in current for t in tokens(text))
    n_ref, n_cur = sum(ref_counts.values()), sum(cur_counts.values())
    why = _too_few(n_ref, n_cur, MIN_TOKENS, "tokens")
    if why:
        return skip_row(feature, kind, "js_distance", JS_WARN, n_ref, n_cur, why)
    smaller = min(n_ref, n_cur)
    vocabulary = [
        t for t, c in ref_counts.most_common(top_k) if c / n_ref * smaller >= VOCAB_MIN_EXPECTED
    ]
    ref = np.array([ref_counts[t] for t in vocabulary] + [0], float)
    cur = np.array([cur_counts[t] for t in vocabulary] + [0], float)
    ref[-1], cur[-1] = n_ref - ref.sum(), n_cur - cur.sum()  # the <other> bucket
    # scipy's jensenshannon is the distance (sqrt of the divergence); base 2 bounds it by 1.
    from scipy.spatial.distance import jensenshannon

    distance = float(jensenshannon(ref / n_ref, cur / n_cur, base=2))
    p_value = homogeneity_p_value(ref, cur)
    oov = sum(c for t, c in cur_counts.items() if t not in ref_counts) / n_cur
    warn = distance >= JS_WARN and p_value < NOISE_ALPHA
    top_new = [t for t, _ in cur_counts.most_common(200) if t not in ref_counts][:5]
    note = (
        f"{len(vocabulary)} reference tokens + {OTHER_TOKEN} ({ref[-1] / n_ref:.0%} -> "
        f"{cur[-1] / n_cur:.0%}); out-of-reference-vocabulary share {oov:.1%}"
    )
    if top_new:
        note += f"; frequent new tokens: {', '.join(top_new)}"
    return DriftRow(
        feature, kind, "js_distance", distance, JS_WARN, "WARN" if warn else "PASS",
        n_ref, n_cur, p_value, note,
    )  # fmt: skip


def rate_drift(
    feature: str, kind: Kind, ref_bad: int, ref_total: int, cur_bad: int, cur_total: int
) -> DriftRow:
    """An increase of a bad-outcome rate: at least RATE_MIN_INCREASE and one-sided Fisher p < alpha."""
    why = _too_few(ref_total, cur_total, MIN_RATE_DENOMINATOR, "titles")
    if why:
        return skip_row(
            feature, kind, "rate_increase", RATE_MIN_INCREASE, ref_total, cur_total, why
        )
    from scipy import stats

    ref_rate, cur_rate = ref_bad / ref_total, cur_bad / cur_total
    increase = cur_rate - ref_rate
    p_value = float(
        stats.fisher_exact(
            [[cur_bad, cur_total - cur_bad], [ref_bad, ref_total - ref_bad]], alternative="greater"
        )[1]
    )
    warn = increase >= RATE_MIN_INCREASE and p_value < NOISE_ALPHA
    note = f"rate {ref_rate:.1%} ({ref_bad}/{ref_total}) -> {cur_rate:.1%} ({cur_bad}/{cur_total})"
    return DriftRow(feature, kind, "rate_increase", increase, RATE_MIN_INCREASE, "WARN" if warn else "PASS",
                    ref_total, cur_total, p_value, note)  # fmt: skip


def sequence_summary(values: Sequence[float]) -> dict[str, float]:
    """Count, mean and quartiles, for metadata."""
    array = clean_values(values)
    if not len(array):
        return {"count": 0}
    q = np.quantile(array, [0.25, 0.5, 0.75])
    return {"count": int(len(array)), "mean": round(float(array.mean()), 2), "p25": float(q[0]),
            "median": float(q[1]), "p75": float(q[2])}  # fmt: skip
