"""Drift charts: reference vs current distributions rendered to PNG with matplotlib (Agg).

One figure for the input features (plot and review lengths, listing source mix) and one
for the output features (predicted genres, vibe score), each panel titled with its
feature's status from the report. matplotlib is imported inside `render_figures` so that
computing a report does not pay for it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trending_assets.lib.drift.report import DriftReport, Pair
from trending_assets.lib.drift.statistics import category_shares, clean_values
from trending_assets.lib.profiling import figure_png


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
        ref, cur = clean_values(pair.reference), clean_values(pair.current)
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
