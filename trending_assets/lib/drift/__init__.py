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

The package splits along those lines: `thresholds` (the numbers), `statistics` (the
comparisons), `report` (inputs, rows and the verdict), `warehouse` (loading the inputs from
DuckDB) and `charts` (matplotlib figures).
"""

from trending_assets.lib.drift.charts import render_figures
from trending_assets.lib.drift.report import (
    DriftInputs,
    Pair,
    RateCounts,
    build_report,
)
from trending_assets.lib.drift.statistics import (
    categorical_drift,
    numeric_drift,
    psi_from_shares,
    rate_drift,
    reference_cuts,
    sequence_summary,
    vocabulary_drift,
)
from trending_assets.lib.drift.thresholds import JS_WARN, MIN_SAMPLES, PSI_WARN
from trending_assets.lib.drift.warehouse import load_inputs

__all__ = [
    "JS_WARN",
    "MIN_SAMPLES",
    "PSI_WARN",
    "DriftInputs",
    "Pair",
    "RateCounts",
    "build_report",
    "categorical_drift",
    "load_inputs",
    "numeric_drift",
    "psi_from_shares",
    "rate_drift",
    "reference_cuts",
    "render_figures",
    "sequence_summary",
    "vocabulary_drift",
]
