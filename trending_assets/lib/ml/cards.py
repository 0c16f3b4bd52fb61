"""Model cards: one markdown page per trained model (data, fingerprint, metrics, limits)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_number(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def model_card(
    name: str,
    version: str,
    metrics: Mapping[str, Any],
    split_summary: Mapping[str, Any],
    fingerprint: str,
    config: Mapping[str, Any],
    limits: Sequence[str],
) -> str:
    """A markdown model card.

    ``metrics``: the evaluation dict (``macro_f1``, ``micro_f1``, ``samples_f1``,
    ``per_genre``; optionally ``validation_macro_f1`` and ``slices`` as a DataFrame or
    a list of row dicts from :func:`~trending_assets.lib.ml.metrics.slice_metrics`).
    ``split_summary``: :meth:`SplitResult.summary`. ``limits``: known limits, one per item.
    """
    sections = [f"# Genre model `{name}` — version `{version}`", ""]

    sizes = split_summary.get("sizes", {})
    sections += ["## Data", ""]
    if sizes:
        sections.append(_table(["split", "examples"], [[k, v] for k, v in sizes.items()]) + "\n")
    genres = split_summary.get("genres", [])
    if genres:
        sections.append(f"Label set ({len(genres)} genres): {', '.join(genres)}.\n")
    dropped = {g: c for g, c in (split_summary.get("dropped_genres") or {}).items()}
    if dropped:
        listed = ", ".join(f"{g} ({c})" for g, c in sorted(dropped.items(), key=lambda kv: -kv[1]))
        sections.append(f"Genres dropped for too few examples (count): {listed}.\n")
    excluded = {k: v for k, v in (split_summary.get("excluded") or {}).items() if v}
    if excluded:
        sections.append(
            "Examples excluded from training: "
            + ", ".join(f"{k} {v}" for k, v in excluded.items())
            + ". They are still predicted at serving time.\n"
        )
    seed, fractions = split_summary.get("seed"), split_summary.get("fractions")
    if seed is not None:
        sections.append(
            f"Split: iterative multi-label stratification, seed {seed}, fractions {fractions}.\n"
        )
    sections += [f"Training-set fingerprint: `{fingerprint}`", ""]

    sections += ["## Metrics (test split)", ""]
    headline = [
        [key, metrics[key]]
        for key in ("macro_f1", "micro_f1", "samples_f1", "validation_macro_f1")
        if key in metrics
    ]
    sections.append(_table(["metric", "value"], headline) + "\n")

    per_genre = metrics.get("per_genre") or []
    if per_genre:
        sections += ["### Per genre", ""]
        rows = [[g["genre"], g["precision"], g["recall"], g["f1"], g["support"]] for g in per_genre]
        sections.append(_table(["genre", "precision", "recall", "F1", "support"], rows) + "\n")

    slices = metrics.get("slices")
    if isinstance(slices, pd.DataFrame):
        slices = slices.to_dict("records")
    if slices:
        sections += [
            "### Slices",
            "",
            "Macro F1 in a slice averages the genres present in it.",
            "",
        ]
        rows = [
            [s["slice"], s["value"], s["n"], s["macro_f1"], s["micro_f1"], s["samples_f1"]]
            for s in slices
        ]
        sections.append(
            _table(["slice", "value", "n", "macro F1", "micro F1", "samples F1"], rows) + "\n"
        )

    sections += ["## Configuration", "", "```json",
                 json.dumps(config, indent=2, sort_keys=True, default=str), "```", ""]  # fmt: skip
    sections += ["## Known limits", ""]
    sections += [f"- {limit}" for limit in limits] or ["- none recorded"]
    return "\n".join(sections).rstrip() + "\n"
