"""Drift between the latest crawl partition and a reference window: statistics, no Dagster.

Why our own PSI / KS and not Evidently: Evidently is not installed and would pull in a
heavy dependency tree (its own pandas/plotly/nltk pins, a report server) for a handful of
formulas that fit on a page. Here every statistic is a few lines of numpy/scipy, the
thresholds are ours and documented, the result is a plain table that goes into Dagster
metadata, and the unit tests pin each one on synthetic shifted and unshifted samples.

Metrics (one `DriftRow` each; `docs/operations.md`, "Drift report", explains them):

- numeric features (plot / review length in words, vibe score): **PSI** over bins fixed
  from the reference (deciles, plus below-min / above-max bins) and the two-sample
  **Kolmogorov-Smirnov** test;
- categorical distributions (source mix, predicted genres): **PSI** over the union of
  categories (a category new in the current sample counts, through epsilon smoothing);
  the total-variation distance is reported alongside;
- vocabulary (plot and review text): **Jensen-Shannon distance** between the token
  frequencies of the reference's top-k tokens (every other token in one `<other>` bucket,
  so new words move mass there); the out-of-reference-vocabulary share is reported;
- rates (the LLM quarantine rate): the **increase** of the current rate over the
  reference rate, with a one-sided Fisher exact test.

Every WARN needs two things: an effect at least as large as the named threshold, and a
p-value under `NOISE_ALPHA`, so that neither sampling noise on small samples nor trivial
differences on large ones raise a warning. Too little data gives SKIP with the reason.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import duckdb
import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

from trending_assets.lib.profiling import figure_png

Status = Literal["PASS", "WARN", "SKIP"]
Kind = Literal["input", "output"]

# --- thresholds -------------------------------------------------------------------------
# PSI conventions (credit scoring, and the usual model-monitoring reading): below 0.1 the
# population is stable, 0.1-0.25 a moderate shift worth watching, above 0.25 a significant
# shift. We warn on "significant" only; "moderate" is written in the row's note.
PSI_MODERATE = 0.1
PSI_WARN = 0.25
PSI_BINS = 10  # deciles of the reference
# Empty bins get this share instead of 0, so log(p/q) stays finite; small enough that a
# genuinely new category or out-of-range value still weighs in.
PSI_EPSILON = 1e-4
# Significance for every test: a WARN must also be unlikely under sampling noise (1%).
NOISE_ALPHA = 0.01
# KS: with thousands of rows any difference is "significant"; a CDF gap below 10
# percentage points is not worth anybody's attention, so D must reach this as well.
KS_MIN_STATISTIC = 0.1
# Jensen-Shannon distance (base 2, in [0, 1]) between token distributions. Same-source
# samples of a few thousand tokens sit around 0.05-0.11 (noise grows like
# sqrt(tokens kept / sample size)); ~15% new tokens (a changed template or language) or
# the top words' frequencies reshuffled move it past 0.15.
JS_WARN = 0.15
VOCAB_TOP_K = 100
# Tokens the smaller sample should see fewer times than this go to <other> (the usual
# "expected count >= 5" condition of the chi-square test).
VOCAB_MIN_EXPECTED = 5
# The LLM quarantine rate may rise by less than 2 points before we call it drift (the
# blocking check on llm_enrichments bounds its absolute level separately).
RATE_MIN_INCREASE = 0.02
# Below these sizes a comparison says SKIP (and why) rather than guess.
MIN_SAMPLES = 30  # values per side for numeric and categorical features
MIN_TOKENS = 300  # tokens per side for vocabulary
MIN_RATE_DENOMINATOR = 30  # titles per side for a rate
# Text sample cap per side for the vocabulary (lengths use every row); fixed seed.
MAX_TEXTS = 20_000

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


def _skip(
    feature: str, kind: Kind, statistic: str, threshold: float, n_ref: int, n_cur: int, why: str
) -> DriftRow:
    return DriftRow(feature, kind, statistic, None, threshold, "SKIP", n_ref, n_cur, None, why)


def _too_few(n_ref: int, n_cur: int, minimum: int, unit: str) -> str | None:
    if n_ref < minimum or n_cur < minimum:
        return f"too little data: {n_ref} reference / {n_cur} current {unit} (need {minimum} each)"
    return None


# --- statistics -------------------------------------------------------------------------


def _clean(values: Iterable[float] | None) -> np.ndarray:
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
    ref, cur = _clean(reference), _clean(current)
    why = _too_few(len(ref), len(cur), MIN_SAMPLES, "values")
    if why:
        return [
            _skip(feature, kind, "psi", PSI_WARN, len(ref), len(cur), why),
            _skip(feature, kind, "ks", KS_MIN_STATISTIC, len(ref), len(cur), why),
        ]
    cuts = reference_cuts(ref)
    ref_bins, cur_bins = _bin_counts(ref, cuts), _bin_counts(cur, cuts)
    psi = psi_from_shares(ref_bins / len(ref), cur_bins / len(cur))
    psi_p = homogeneity_p_value(ref_bins, cur_bins)
    psi_status, psi_note = _psi_status(psi, psi_p)
    means = f"mean {ref.mean():.2f} -> {cur.mean():.2f}"
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
        return _skip(feature, kind, "psi", PSI_WARN, n_ref, n_cur, why)
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
        return _skip(feature, kind, "js_distance", JS_WARN, n_ref, n_cur, why)
    smaller = min(n_ref, n_cur)
    vocabulary = [
        t for t, c in ref_counts.most_common(top_k) if c / n_ref * smaller >= VOCAB_MIN_EXPECTED
    ]
    ref = np.array([ref_counts[t] for t in vocabulary] + [0], float)
    cur = np.array([cur_counts[t] for t in vocabulary] + [0], float)
    ref[-1], cur[-1] = n_ref - ref.sum(), n_cur - cur.sum()  # the <other> bucket
    # scipy's jensenshannon is the distance (sqrt of the divergence); base 2 bounds it by 1.
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
        return _skip(feature, kind, "rate_increase", RATE_MIN_INCREASE, ref_total, cur_total, why)
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


# --- the report -------------------------------------------------------------------------


@dataclass
class Pair:
    """One feature's reference and current samples; `missing` says why there are none."""

    reference: list = field(default_factory=list)
    current: list = field(default_factory=list)
    missing: str | None = None


@dataclass
class RateCounts:
    ref_bad: int = 0
    ref_total: int = 0
    cur_bad: int = 0
    cur_total: int = 0
    missing: str | None = None


@dataclass
class DriftInputs:
    """Everything the report compares, already split into reference and current."""

    latest_partition: date | None = None
    reference_start: date | None = None
    reference_end: date | None = None
    reference_partitions: list[date] = field(default_factory=list)
    output_reference: str = "window"  # window | all_earlier
    plot_words: Pair = field(default_factory=Pair)
    review_words: Pair = field(default_factory=Pair)
    plot_texts: Pair = field(default_factory=Pair)
    review_texts: Pair = field(default_factory=Pair)
    listing_sources: Pair = field(default_factory=Pair)
    review_sources: Pair = field(default_factory=Pair)
    predicted_genres: Pair = field(default_factory=Pair)
    vibe_scores: Pair = field(default_factory=Pair)
    quarantine: RateCounts = field(default_factory=RateCounts)
    cohort_sizes: dict[str, int] = field(default_factory=dict)
    reason: str | None = None  # set when nothing at all can be compared


# Feature name -> (attribute of DriftInputs, kind, comparison).
FEATURES: list[tuple[str, str, Kind, str]] = [
    ("plot_length_words", "plot_words", "input", "numeric"),
    ("review_length_words", "review_words", "input", "numeric"),
    ("plot_vocabulary", "plot_texts", "input", "vocabulary"),
    ("review_vocabulary", "review_texts", "input", "vocabulary"),
    ("listing_source_mix", "listing_sources", "input", "categorical"),
    ("review_source_mix", "review_sources", "input", "categorical"),
    ("predicted_genre_distribution", "predicted_genres", "output", "categorical"),
    ("vibe_score", "vibe_scores", "output", "numeric"),
]
_STATISTIC_OF = {"numeric": ("psi", "ks"), "vocabulary": ("js_distance",), "categorical": ("psi",)}
_THRESHOLD_OF = {"psi": PSI_WARN, "ks": KS_MIN_STATISTIC, "js_distance": JS_WARN}


@dataclass
class DriftReport:
    rows: list[DriftRow]
    inputs: DriftInputs

    @property
    def status(self) -> Status:
        statuses = {r.status for r in self.rows}
        if "WARN" in statuses:
            return "WARN"
        return "PASS" if "PASS" in statuses else "SKIP"

    @property
    def warnings(self) -> list[str]:
        return [f"{r.feature} ({r.statistic})" for r in self.rows if r.status == "WARN"]

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame([r.__dict__ for r in self.rows])
        return frame[["feature", "kind", "statistic", "value", "threshold", "status", "p_value",
                      "n_reference", "n_current", "note"]]  # fmt: skip

    def markdown(self) -> str:
        frame = self.frame()
        frame["value"] = frame["value"].map(lambda v: "" if v is None or pd.isna(v) else f"{v:.4f}")
        frame["p_value"] = frame["p_value"].map(
            lambda v: "" if v is None or pd.isna(v) else f"{v:.3g}"
        )
        frame["status"] = frame["status"].map({"WARN": "**WARN**", "PASS": "PASS", "SKIP": "SKIP"})
        return frame.to_markdown(index=False)

    def summary(self) -> str:
        if self.status == "WARN":
            features = dict.fromkeys(r.feature for r in self.rows if r.status == "WARN")
            return f"WARN: drift in {', '.join(features)}"
        if self.status == "SKIP":
            reason = self.inputs.reason or "every comparison had too little data"
            return f"SKIP: {reason}"
        skipped = sum(r.status == "SKIP" for r in self.rows)
        return "PASS: no drift" + (
            f" ({skipped} comparisons skipped for too little data)" if skipped else ""
        )


def build_report(inputs: DriftInputs) -> DriftReport:
    """Every metric of `FEATURES` plus the quarantine rate, as rows."""
    rows: list[DriftRow] = []
    for feature, attribute, kind, comparison in FEATURES:
        pair: Pair = getattr(inputs, attribute)
        missing = inputs.reason or pair.missing
        if missing:
            n_ref, n_cur = len(pair.reference), len(pair.current)
            rows.extend(
                _skip(feature, kind, s, _THRESHOLD_OF[s], n_ref, n_cur, missing)
                for s in _STATISTIC_OF[comparison]
            )
        elif comparison == "numeric":
            rows.extend(numeric_drift(feature, kind, pair.reference, pair.current))
        elif comparison == "vocabulary":
            rows.append(vocabulary_drift(feature, kind, pair.reference, pair.current))
        else:
            rows.append(categorical_drift(feature, kind, pair.reference, pair.current))
    q = inputs.quarantine
    missing = inputs.reason or q.missing
    if missing:
        rows.append(_skip("llm_quarantine_rate", "output", "rate_increase", RATE_MIN_INCREASE,
                          q.ref_total, q.cur_total, missing))  # fmt: skip
    else:
        rows.append(
            rate_drift(
                "llm_quarantine_rate", "output", q.ref_bad, q.ref_total, q.cur_bad, q.cur_total
            )
        )
    return DriftReport(rows=rows, inputs=inputs)


# --- loading from the warehouse ---------------------------------------------------------


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    query = (
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
    )
    return bool(con.execute(query, [schema, table]).fetchone()[0])


def _words(texts: pd.Series) -> list[int]:
    return [len(str(t).split()) for t in texts.dropna()]


def _sample(texts: pd.Series, cap: int = MAX_TEXTS) -> list[str]:
    texts = texts.dropna()
    return (texts.sample(cap, random_state=0) if len(texts) > cap else texts).tolist()


def _crawl_rows(
    con, table: str, key: str, text: str, start: date, latest: date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The latest partition's rows, and the reference window's (one row per record: its last crawl)."""
    current = con.execute(
        f"select source, {text} as text from raw.{table} where crawl_date = ?", [latest]
    ).df()
    reference = con.execute(
        f"""select source, {text} as text from raw.{table}
            where crawl_date >= ? and crawl_date < ?
            qualify row_number() over (partition by source, {key} order by crawl_date desc, ingested_at desc) = 1""",
        [start, latest],
    ).df()
    return reference, current


def load_inputs(con: duckdb.DuckDBPyConnection, reference_days: int) -> DriftInputs:
    """Split the warehouse into the latest crawl partition and the `reference_days` before it.

    Input features come from the raw crawl tables by `crawl_date`; output features from
    the titles first crawled on the latest day vs those first crawled in the reference
    window (all earlier titles, crawled or from datasets, when that cohort is too thin).
    """
    inputs = DriftInputs()
    crawl_tables = [t for t in ("listings", "reviews") if _has_table(con, "raw", t)]
    dates = [
        con.execute(f"select max(crawl_date) from raw.{t}").fetchone()[0] for t in crawl_tables
    ]
    dates = [d for d in dates if d is not None]
    if not dates:
        inputs.reason = "no crawl partition in raw.listings / raw.reviews yet"
        return inputs
    latest = max(dates)
    start = latest - timedelta(days=reference_days)
    inputs.latest_partition = latest
    inputs.reference_start, inputs.reference_end = start, latest - timedelta(days=1)
    partitions: set[date] = set()
    for table in crawl_tables:
        partitions |= {
            r[0]
            for r in con.execute(
                f"select distinct crawl_date from raw.{table} where crawl_date >= ? and crawl_date < ?",
                [start, latest],
            ).fetchall()
        }
    inputs.reference_partitions = sorted(partitions)
    earlier = any(
        con.execute(f"select count(*) from raw.{t} where crawl_date < ?", [latest]).fetchone()[0]
        for t in crawl_tables
    )
    if not earlier:  # the first crawl day: nothing at all to compare with
        inputs.reason = f"no reference: {latest} is the first crawl partition"
        return inputs
    # Earlier crawls, but none in the window: inputs skip, outputs fall back (see _load_outputs).
    no_window = (
        None
        if partitions
        else f"no reference: no crawl partition in the {reference_days} days before {latest}"
    )

    for table, key, text, names in (
        ("listings", "source_title_id", "plot", ("plot_words", "plot_texts", "listing_sources")),
        ("reviews", "source_review_id", "text", ("review_words", "review_texts", "review_sources")),
    ):
        if table not in crawl_tables or no_window:
            for name in names:
                setattr(inputs, name, Pair(missing=no_window or f"raw.{table} missing"))
            continue
        ref, cur = _crawl_rows(con, table, key, text, start, latest)
        setattr(inputs, names[0], Pair(_words(ref["text"]), _words(cur["text"])))
        setattr(inputs, names[1], Pair(_sample(ref["text"]), _sample(cur["text"])))
        setattr(inputs, names[2], Pair(ref["source"].tolist(), cur["source"].tolist()))

    _load_outputs(con, inputs, start, latest)
    return inputs


def _load_outputs(
    con: duckdb.DuckDBPyConnection, inputs: DriftInputs, start: date, latest: date
) -> None:
    if not _has_table(con, "main", "titles"):
        missing = "titles mart missing (dbt not built yet)"
        inputs.predicted_genres = inputs.vibe_scores = Pair(missing=missing)
        inputs.quarantine = RateCounts(missing=missing)
        return
    titles = con.execute("select title_id, first_crawled_on from titles").df()
    first = pd.to_datetime(titles["first_crawled_on"]).dt.date
    current = set(titles.loc[first == latest, "title_id"])
    window = set(titles.loc[first.notna() & (first >= start) & (first < latest), "title_id"])
    reference = window
    if len(window) < MIN_SAMPLES:
        inputs.output_reference = "all_earlier"
        reference = set(titles["title_id"]) - current
    inputs.cohort_sizes = {"current_titles": len(current), "reference_window_titles": len(window),
                           "reference_titles": len(reference)}  # fmt: skip

    if _has_table(con, "main", "title_predictions"):
        predicted = con.execute(
            "select title_id, genre_id from title_predictions where predicted"
        ).df()
        inputs.predicted_genres = Pair(
            predicted.loc[predicted["title_id"].isin(reference), "genre_id"].tolist(),
            predicted.loc[predicted["title_id"].isin(current), "genre_id"].tolist(),
        )
    else:
        inputs.predicted_genres = Pair(missing="title_predictions missing")

    if not _has_table(con, "main", "llm_enrichments"):
        inputs.vibe_scores = Pair(missing="llm_enrichments missing")
        inputs.quarantine = RateCounts(missing="llm_enrichments missing")
        return
    enriched = con.execute("select title_id, vibe_score from llm_enrichments").df()
    inputs.vibe_scores = Pair(
        enriched.loc[enriched["title_id"].isin(reference), "vibe_score"].astype(float).tolist(),
        enriched.loc[enriched["title_id"].isin(current), "vibe_score"].astype(float).tolist(),
    )
    bad: set[str] = set()
    if _has_table(con, "main", "llm_enrichment_quarantine"):
        bad = {
            r[0] for r in con.execute("select title_id from llm_enrichment_quarantine").fetchall()
        }
    ok = set(enriched["title_id"])
    inputs.quarantine = RateCounts(
        ref_bad=len(bad & reference), ref_total=len((ok | bad) & reference),
        cur_bad=len(bad & current), cur_total=len((ok | bad) & current),
    )  # fmt: skip


# --- charts -----------------------------------------------------------------------------


def render_figures(report: DriftReport) -> dict[str, bytes]:
    """PNG charts, reference vs current: input distributions and output distributions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    inputs = report.inputs
    status_of: dict[str, str] = {}
    for r in report.rows:  # a feature's status: WARN if any of its rows warns, else its first row's
        if r.status == "WARN" or r.feature not in status_of:
            status_of[r.feature] = r.status

    def title(ax, feature: str, label: str) -> None:
        status = status_of.get(feature, "SKIP")
        ax.set_title(f"{label} [{status}]", color={"WARN": "#b03030", "SKIP": "#777777"}.get(status, "#207020"),
                     fontsize="medium")  # fmt: skip

    def histogram(ax, pair: Pair, feature: str, label: str) -> None:
        ref, cur = _clean(pair.reference), _clean(pair.current)
        if len(ref) and len(cur):
            both = np.concatenate([ref, cur])
            if (
                np.all(both == np.round(both)) and np.ptp(both) <= 40
            ):  # small integers: one bar each
                edges = np.arange(both.min() - 0.5, both.max() + 1.5)
            else:
                edges = np.histogram_bin_edges(both, bins=30)
            ax.hist(ref, bins=edges, density=True, alpha=0.5, label="reference", color="#3b6ea8")
            ax.hist(cur, bins=edges, density=True, alpha=0.5, label="current", color="#d08a2c")
            ax.legend(fontsize="small")
        else:
            ax.text(0.5, 0.5, "not enough data", ha="center", va="center", transform=ax.transAxes)
        title(ax, feature, label)

    def shares(ax, pair: Pair, feature: str, label: str, top: int = 12) -> None:
        ref, cur = category_shares(pair.reference), category_shares(pair.current)
        if len(ref) and len(cur):
            table = pd.DataFrame({"reference": ref, "current": cur}).fillna(0.0)
            table = table.loc[table.max(axis=1).sort_values(ascending=False).index[:top]]
            x = np.arange(len(table))
            ax.bar(x - 0.2, table["reference"], 0.4, label="reference", color="#3b6ea8")
            ax.bar(x + 0.2, table["current"], 0.4, label="current", color="#d08a2c")
            ax.set_xticks(
                x, [str(i) for i in table.index], rotation=45, ha="right", fontsize="small"
            )
            ax.set_ylabel("share")
            ax.legend(fontsize="small")
        else:
            ax.text(0.5, 0.5, "not enough data", ha="center", va="center", transform=ax.transAxes)
        title(ax, feature, label)

    figures: dict[str, bytes] = {}

    def save(fig, name: str) -> None:
        figures[name] = figure_png(fig)

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
    histogram(axes[0], inputs.plot_words, "plot_length_words", "plot length (words)")
    histogram(axes[1], inputs.review_words, "review_length_words", "review length (words)")
    shares(axes[2], inputs.listing_sources, "listing_source_mix", "listing source mix")
    save(fig, "input_drift")

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5), gridspec_kw={"width_ratios": [2, 1]})
    shares(
        axes[0], inputs.predicted_genres, "predicted_genre_distribution", "predicted genres", top=20
    )
    histogram(axes[1], inputs.vibe_scores, "vibe_score", "vibe score")
    save(fig, "output_drift")
    return figures


def sequence_summary(values: Sequence[float]) -> dict[str, float]:
    """Count, mean and quartiles, for metadata."""
    array = _clean(values)
    if not len(array):
        return {"count": 0}
    q = np.quantile(array, [0.25, 0.5, 0.75])
    return {"count": int(len(array)), "mean": round(float(array.mean()), 2), "p25": float(q[0]),
            "median": float(q[1]), "p75": float(q[2])}  # fmt: skip
