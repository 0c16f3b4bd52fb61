"""The drift report: the inputs it compares, the rows it computes, and its overall verdict.

`DriftInputs` holds every feature's reference and current samples (`Pair`) and the
quarantine counts (`RateCounts`), already split by whoever loaded them; `build_report` runs
each feature of `FEATURES` through its comparison in `statistics` (or a SKIP row with the
reason when the data is missing), and `DriftReport` turns the rows into a verdict (WARN if
any row warns, PASS if any passed, else SKIP), a one-line summary, a table and markdown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from trending_assets.lib.drift.statistics import (
    DriftRow,
    categorical_drift,
    numeric_drift,
    rate_drift,
    skip_row,
    vocabulary_drift,
)
from trending_assets.lib.drift.thresholds import (
    JS_WARN,
    KS_MIN_STATISTIC,
    PSI_WARN,
    RATE_MIN_INCREASE,
    Kind,
    Status,
)


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
                skip_row(feature, kind, s, _THRESHOLD_OF[s], n_ref, n_cur, missing)
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
        rows.append(skip_row("llm_quarantine_rate", "output", "rate_increase", RATE_MIN_INCREASE,
                          q.ref_total, q.cur_total, missing))  # fmt: skip
    else:
        rows.append(
            rate_drift(
                "llm_quarantine_rate", "output", q.ref_bad, q.ref_total, q.cur_bad, q.cur_total
            )
        )
    return DriftReport(rows=rows, inputs=inputs)
