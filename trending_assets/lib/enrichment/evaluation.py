"""How good are the enrichments, and which prompt is better.

On the titles that have them:
- genres against the source labels (``title_genres``): micro F1 (pooled over all title x
  genre decisions) and macro F1 (mean over the genres that occur in the labels or the
  predictions: a genre the model never gets right counts as 0);
- agreement with the champion genre model: mean Jaccard and micro F1 taking the champion as
  reference;
- vibe score against the mean user rating: Spearman correlation (ranks, so the 1-10 scale
  need not match the ratings' own spread).

``compare_prompts`` runs the same on two result sets restricted to the titles both have
(the "A/B test of LLM prompts"), plus how much A and B agree with each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trending_assets.lib.enrichment.results import EnrichmentRun, TitleResult
from trending_assets.lib.enrichment.schema import Enrichment

Results = EnrichmentRun | Iterable[TitleResult] | pd.DataFrame | Mapping[str, Enrichment]


def as_table(results: Results) -> pd.DataFrame:
    """``title_id, genres, vibe_score`` of the ok enrichments, whatever form they come in."""
    if isinstance(results, pd.DataFrame):
        frame = results[["title_id", "genres", "vibe_score"]].copy()
    elif isinstance(results, Mapping):
        frame = pd.DataFrame(
            [{"title_id": k, "genres": list(v.genres), "vibe_score": v.vibe_score}
             for k, v in results.items()],
            columns=["title_id", "genres", "vibe_score"],
        )  # fmt: skip
    else:
        items = results.results if isinstance(results, EnrichmentRun) else list(results)
        frame = pd.DataFrame(
            [{"title_id": r.title_id, "genres": list(r.enrichment.genres),
              "vibe_score": r.enrichment.vibe_score}
             for r in items if r.status == "ok" and r.enrichment is not None],
            columns=["title_id", "genres", "vibe_score"],
        )  # fmt: skip
    frame["genres"] = frame["genres"].map(lambda g: list(g) if g is not None else [])
    return frame.drop_duplicates("title_id", keep="last").reset_index(drop=True)


def genre_sets(frame: pd.DataFrame, id_column: str = "title_id", genre_column: str = "genre_id"):
    """``{title_id: {genre ids}}`` from a long table such as the ``title_genres`` mart."""
    out: dict[str, set[str]] = {}
    for title_id, genre in zip(frame[id_column], frame[genre_column], strict=True):
        out.setdefault(str(title_id), set()).add(str(genre))
    return out


def genre_f1(
    predicted: Mapping[str, Iterable[str]], truth: Mapping[str, Iterable[str]]
) -> dict[str, Any]:
    """Micro/macro F1 of ``predicted`` against ``truth`` on the titles both have."""
    titles = sorted(set(predicted) & set(truth))
    tp: dict[str, int] = {}
    fp: dict[str, int] = {}
    fn: dict[str, int] = {}
    for title in titles:
        pred, true = set(predicted[title]), set(truth[title])
        for g in pred & true:
            tp[g] = tp.get(g, 0) + 1
        for g in pred - true:
            fp[g] = fp.get(g, 0) + 1
        for g in true - pred:
            fn[g] = fn.get(g, 0) + 1
    genres = sorted(set(tp) | set(fp) | set(fn))
    per_genre = {g: _f1(tp.get(g, 0), fp.get(g, 0), fn.get(g, 0)) for g in genres}
    total = (sum(tp.values()), sum(fp.values()), sum(fn.values()))
    return {
        "titles": len(titles),
        "micro_f1": _f1(*total) if titles else float("nan"),
        "macro_f1": float(np.mean(list(per_genre.values()))) if per_genre else float("nan"),
        "per_genre_f1": per_genre,
    }


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) else 0.0


def mean_jaccard(a: Mapping[str, Iterable[str]], b: Mapping[str, Iterable[str]]) -> float:
    titles = set(a) & set(b)
    if not titles:
        return float("nan")
    values = []
    for t in titles:
        x, y = set(a[t]), set(b[t])
        values.append(len(x & y) / len(x | y) if x | y else 1.0)
    return float(np.mean(values))


def spearman(x: Iterable[float], y: Iterable[float]) -> float:
    x, y = list(x), list(y)
    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return float("nan")
    from scipy.stats import spearmanr  # here: seconds to import, at every code location load

    return float(spearmanr(x, y).statistic)


def evaluate_enrichments(
    results: Results,
    *,
    source_genres: Mapping[str, Iterable[str]] | None = None,
    champion_genres: Mapping[str, Iterable[str]] | None = None,
    mean_ratings: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The metrics above as a flat dict (NaN where there is nothing to measure)."""
    table = as_table(results)
    predicted = dict(zip(table["title_id"], table["genres"], strict=True))
    scores = dict(zip(table["title_id"], table["vibe_score"], strict=True))
    out: dict[str, Any] = {"titles": len(table)}
    labelled = {t: g for t, g in (source_genres or {}).items() if set(g)}
    f1 = genre_f1(predicted, labelled)
    out.update(
        genre_titles=f1["titles"], genre_micro_f1=f1["micro_f1"], genre_macro_f1=f1["macro_f1"]
    )
    champion = {t: g for t, g in (champion_genres or {}).items() if t in predicted}
    agreement = genre_f1(predicted, champion)
    out.update(
        champion_titles=agreement["titles"],
        champion_jaccard=mean_jaccard(predicted, champion),
        champion_micro_f1=agreement["micro_f1"],
    )
    rated = [
        t
        for t in scores
        if mean_ratings and t in mean_ratings and mean_ratings[t] == mean_ratings[t]
    ]
    out.update(
        rating_titles=len(rated),
        vibe_spearman=spearman([scores[t] for t in rated], [mean_ratings[t] for t in rated]),
    )
    return out


@dataclass
class PromptComparison:
    labels: tuple[str, str]
    titles: int
    table: pd.DataFrame  # metric, <label a>, <label b>, delta (b - a)
    agreement: dict[str, float] = field(default_factory=dict)

    def as_frame(self) -> pd.DataFrame:
        """The table with the A-vs-B agreement appended (value in the ``delta`` column)."""
        extra = pd.DataFrame(
            [{"metric": f"agreement: {k}", self.labels[0]: np.nan, self.labels[1]: np.nan,
              "delta": v} for k, v in self.agreement.items()]
        )  # fmt: skip
        return pd.concat([self.table, extra], ignore_index=True)


def compare_prompts(
    results_a: Results,
    results_b: Results,
    *,
    labels: tuple[str, str] = ("A", "B"),
    source_genres: Mapping[str, Iterable[str]] | None = None,
    champion_genres: Mapping[str, Iterable[str]] | None = None,
    mean_ratings: Mapping[str, float] | None = None,
) -> PromptComparison:
    """Both result sets evaluated on the titles they share, side by side."""
    a, b = as_table(results_a), as_table(results_b)
    common = sorted(set(a["title_id"]) & set(b["title_id"]))
    a = a[a["title_id"].isin(common)]
    b = b[b["title_id"].isin(common)]
    kwargs = dict(
        source_genres=source_genres, champion_genres=champion_genres, mean_ratings=mean_ratings
    )
    ma, mb = evaluate_enrichments(a, **kwargs), evaluate_enrichments(b, **kwargs)
    rows = []
    for metric in ma:
        va, vb = ma[metric], mb[metric]
        rows.append({"metric": metric, labels[0]: va, labels[1]: vb, "delta": vb - va})
    ga = dict(zip(a["title_id"], a["genres"], strict=True))
    gb = dict(zip(b["title_id"], b["genres"], strict=True))
    sa = dict(zip(a["title_id"], a["vibe_score"], strict=True))
    sb = dict(zip(b["title_id"], b["vibe_score"], strict=True))
    agreement = {
        "genre_jaccard": mean_jaccard(ga, gb),
        "vibe_score_mean_abs_diff": (
            float(np.mean([abs(sa[t] - sb[t]) for t in common])) if common else float("nan")
        ),
        "vibe_score_spearman": spearman([sa[t] for t in common], [sb[t] for t in common]),
    }
    return PromptComparison(labels, len(common), pd.DataFrame(rows), agreement)
