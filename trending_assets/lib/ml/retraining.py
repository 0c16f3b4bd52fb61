"""When to retrain the genre models: enough new labelled titles since the last training.

Pure logic, no Dagster imports; the retraining automation condition
(``trending_assets/defs/automation/declarative.py``) feeds it the numbers.

What counts: **trainable labelled titles**, the examples the ``training_set`` asset would
learn from, i.e. titles in the ``titles`` mart with at least one source genre in
``title_genres``, a plot of at least five words that looks English
(:func:`trending_assets.lib.ml.data.examples_from_marts`). Labelled titles that training
would exclude anyway (no plot, a short or non-English plot) are not counted: otherwise
they would count as "new" forever and retrain the models for nothing.

The baseline is the last training run: ``training_set``'s last materialisation records the
examples it kept (``dagster/row_count``) and those it dropped only because all their genres
were too rare (``excluded.no_label_after_genre_drop``); together they are the trainable
labelled titles it saw, the same measure as above. The last training, not the champion's:
when a retrained challenger does not beat the champion, counting from the champion's older
training set would find the same new titles on every evaluation and retrain in a loop.
The difference is a net count (titles merged away by entity resolution offset new ones).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from trending_assets.lib.ml.data import examples_from_marts

RARE_GENRE_EXCLUSION = "no_label_after_genre_drop"


@dataclass(frozen=True)
class TrainingBaseline:
    """The trainable labelled titles the last training saw, and its training-set fingerprint."""

    titles: int
    fingerprint: str | None = None


@dataclass(frozen=True)
class RetrainDecision:
    retrain: bool
    new_titles: int
    current_titles: int
    baseline_titles: int | None
    min_new_titles: int
    reason: str


def baseline_from_metadata(metadata: Mapping[str, Any] | None) -> TrainingBaseline | None:
    """The baseline from ``training_set`` materialisation metadata (plain values), or None.

    None when there is no materialisation or it lacks ``dagster/row_count``.
    """
    if not metadata or metadata.get("dagster/row_count") is None:
        return None
    kept = int(metadata["dagster/row_count"])
    excluded = metadata.get("excluded") or {}
    rare = int(excluded.get(RARE_GENRE_EXCLUSION, 0)) if isinstance(excluded, Mapping) else 0
    fingerprint = metadata.get("fingerprint")
    return TrainingBaseline(
        titles=kept + rare, fingerprint=str(fingerprint) if fingerprint else None
    )


def count_trainable_titles(titles: pd.DataFrame, title_genres: pd.DataFrame) -> int:
    """Trainable labelled titles in the marts (``titles``: title_id, title, plot, title_type,
    original_language, sources; ``title_genres``: title_id, genre_id)."""
    examples, _ = examples_from_marts(titles, title_genres)
    return len(examples)


def decide_retraining(
    current_titles: int, baseline: TrainingBaseline | None, min_new_titles: int
) -> RetrainDecision:
    """Retrain when ``current - baseline >= min_new_titles``, or when never trained (with data).

    ``min_new_titles`` below 1 is taken as 1: "retrain on every run" is not a policy here.
    """
    threshold = max(1, int(min_new_titles))
    if baseline is None:
        if current_titles > 0:
            return RetrainDecision(
                True, current_titles, current_titles, None, threshold,
                f"never trained: {current_titles} trainable labelled titles are waiting",
            )  # fmt: skip
        return RetrainDecision(
            False, 0, 0, None, threshold, "never trained, and no trainable labelled title yet"
        )
    new = current_titles - baseline.titles
    if new >= threshold:
        reason = (
            f"{new} new labelled titles since the last training "
            f"({baseline.titles} -> {current_titles}), threshold {threshold}: retrain"
        )
    else:
        reason = (
            f"{max(new, 0)} new labelled titles since the last training "
            f"({baseline.titles} -> {current_titles}), fewer than the threshold {threshold}"
        )
    return RetrainDecision(
        new >= threshold, new, current_titles, baseline.titles, threshold, reason
    )
