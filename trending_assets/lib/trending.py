"""What is "trending now": a score per title from the timing of its reviews and its vibe.

The score answers "which titles are people talking about *more than usual*, right now?"
For each title, as of a day ``as_of`` (the newest review date in the data, so a rerun on
the same data gives the same ranks):

``recent_weight``
    Reviews of the last ``window_days`` days, each weighted ``0.5 ** (age / half_life)``:
    a review from today counts 1, one ``half_life_days`` old counts 0.5.
``expected_recent``
    The weight the title *would* have had if it had kept the pace of its own history
    (the ``history_days`` before the window): ``history_rate_per_day * sum(day weights)``.
``momentum`` (relative to the title's own history)
    ``(recent_weight + prior) / (expected_recent + prior)``. Above 1 the title is speeding
    up. The ``prior`` pseudo-count shrinks tiny counts towards 1, so 2 reviews after 0
    is not "infinitely" trending.
``relative_volume`` (relative to the catalogue)
    ``recent_weight`` divided by the median ``recent_weight`` of titles with recent
    reviews: how loud the title is next to the rest.
``vibe_factor``
    ``1 + vibe_weight * (vibe - 5.5) / 4.5`` with the LLM vibe score (1-10), else the mean
    review rating (1-10), else 1: a well-liked title ranks above an equally busy disliked one.

``score = log1p(relative_volume) * sqrt(momentum) * vibe_factor``

The log and the square root keep any one factor from dominating. **Minimum evidence:** a
title is ranked only with at least ``min_recent_reviews`` reviews in the window; the rest
keep their score (for inspection) but get no rank, so a single review never tops the list.
Ranks are dense from 1, ties broken by more recent reviews, then title id.

**Coverage and the best-rated fallback.** Review traffic is long-tailed: on the demo
catalogue (about 950 titles, about 40 reviews a day) four titles in five have no review
in the last 7 days and only 3-4 % have the 3 needed for a rank, so small genres (talk,
news, soap, TV movie) often have no trending title at all. No threshold fixes that without
letting one or two reviews rank, so the readers (the API's ``/trending``, the web page)
top a short answer up instead: when fewer than ``fallback_min`` titles matching the
filters are ranked, the rest of the answer (up to ``fallback_min``, at most ``limit``)
are the best-rated unranked titles of the same filters, each marked ``basis:
"best_rated_fallback"`` with a ``reason`` (:func:`fallback_reason`). "Best rated" is
:func:`best_rated_score`: the vibe score (LLM), else the mean review rating, damped towards
the scale's middle by :data:`BEST_RATED_PRIOR_REVIEWS` pseudo-reviews, so one 10/10
review does not top that list either.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import numpy as np
import pandas as pd

TRENDING_COLUMNS = (
    "title_id", "as_of", "recent_reviews", "recent_weight", "history_reviews",
    "expected_recent", "momentum", "relative_volume", "vibe", "vibe_factor", "score",
    "eligible", "rank",
)  # fmt: skip


@dataclass(frozen=True)
class TrendingParams:
    """The knobs of the formula (module docstring); defaults suit daily review crawls."""

    window_days: int = 7
    history_days: int = 56
    half_life_days: float = 3.0
    min_recent_reviews: int = 3
    prior: float = 2.0
    vibe_weight: float = 0.5

    def __post_init__(self) -> None:
        if self.window_days < 1 or self.history_days < 1:
            raise ValueError("window_days and history_days must be >= 1")
        if self.half_life_days <= 0 or self.prior <= 0:
            raise ValueError("half_life_days and prior must be > 0")
        if self.min_recent_reviews < 1:
            raise ValueError("min_recent_reviews must be >= 1")
        if not 0 <= self.vibe_weight < 1:
            raise ValueError("vibe_weight must be in [0, 1)")

    def day_weight(self, age_days: np.ndarray | float) -> np.ndarray | float:
        return 0.5 ** (np.asarray(age_days, dtype=float) / self.half_life_days)

    @property
    def window_weight_sum(self) -> float:
        """The recency weight of one review on each day of the window."""
        return float(self.day_weight(np.arange(self.window_days)).sum())

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def default_as_of(reviews: pd.DataFrame) -> date | None:
    """The newest review date: scores describe the latest data, whenever they are computed."""
    if reviews.empty or reviews["review_date"].isna().all():
        return None
    return pd.to_datetime(reviews["review_date"]).max().date()


def compute_trending(
    title_ids: pd.Series | list[str],
    reviews: pd.DataFrame,
    vibe: pd.DataFrame | None = None,
    *,
    as_of: date | None = None,
    params: TrendingParams | None = None,
) -> pd.DataFrame:
    """One row per title in ``title_ids`` with every term of the formula, score and rank.

    ``reviews`` has ``title_id``, ``review_date`` and ``rating`` (1-10 or null);
    ``vibe`` has ``title_id`` and ``vibe_score`` (1-10). Reviews dated after ``as_of``,
    or of titles not in ``title_ids``, are ignored.
    """
    params = params or TrendingParams()
    titles = pd.Index(pd.unique(pd.Series(list(title_ids), dtype=object)), name="title_id")
    as_of = as_of or default_as_of(reviews)
    out = pd.DataFrame(index=titles)
    if as_of is None or titles.empty:
        return _finish(
            out.assign(recent_reviews=0, recent_weight=0.0, history_reviews=0),
            None,
            params,
            vibe,
            reviews,
        )

    dated = reviews.loc[reviews["review_date"].notna(), ["title_id", "review_date"]].copy()
    dated["age"] = (pd.Timestamp(as_of) - pd.to_datetime(dated["review_date"])).dt.days
    dated = dated[(dated["age"] >= 0) & dated["title_id"].isin(titles)]
    recent = dated[dated["age"] < params.window_days]
    history = dated[
        (dated["age"] >= params.window_days)
        & (dated["age"] < params.window_days + params.history_days)
    ]
    out["recent_reviews"] = recent.groupby("title_id").size().reindex(titles, fill_value=0)
    out["recent_weight"] = (
        recent.assign(w=params.day_weight(recent["age"].to_numpy()))
        .groupby("title_id")["w"]
        .sum()
        .reindex(titles, fill_value=0.0)
    )
    out["history_reviews"] = history.groupby("title_id").size().reindex(titles, fill_value=0)
    return _finish(out, as_of, params, vibe, reviews)


def _finish(
    out: pd.DataFrame,
    as_of: date | None,
    params: TrendingParams,
    vibe: pd.DataFrame | None,
    reviews: pd.DataFrame,
) -> pd.DataFrame:
    history_rate = out["history_reviews"] / params.history_days
    out["expected_recent"] = history_rate * params.window_weight_sum
    out["momentum"] = (out["recent_weight"] + params.prior) / (
        out["expected_recent"] + params.prior
    )
    active = out.loc[out["recent_weight"] > 0, "recent_weight"]
    median = float(active.median()) if len(active) else 1.0
    out["relative_volume"] = out["recent_weight"] / max(median, 1e-9)
    out["vibe"] = _vibe_per_title(out.index, vibe, reviews)
    out["vibe_factor"] = 1.0 + params.vibe_weight * (out["vibe"].fillna(5.5) - 5.5) / 4.5
    out["score"] = np.log1p(out["relative_volume"]) * np.sqrt(out["momentum"]) * out["vibe_factor"]
    out["eligible"] = out["recent_reviews"] >= params.min_recent_reviews
    out["as_of"] = as_of
    ranked = (
        out[out["eligible"]]
        .reset_index()
        .sort_values(["score", "recent_reviews", "title_id"], ascending=[False, False, True])
    )
    rank = pd.Series(np.arange(1, len(ranked) + 1), index=ranked["title_id"].to_numpy())
    out["rank"] = rank.reindex(out.index).astype("Int64")
    out = out.reset_index()
    for column in (
        "recent_weight",
        "expected_recent",
        "momentum",
        "relative_volume",
        "vibe_factor",
        "score",
    ):
        out[column] = out[column].astype(float).round(6)
    out["recent_reviews"] = out["recent_reviews"].astype("int64")
    out["history_reviews"] = out["history_reviews"].astype("int64")
    return (
        out.loc[:, list(TRENDING_COLUMNS)]
        .sort_values(["rank", "title_id"], na_position="last", kind="stable")
        .reset_index(drop=True)
    )


def _vibe_per_title(
    titles: pd.Index, vibe: pd.DataFrame | None, reviews: pd.DataFrame
) -> pd.Series:
    """LLM vibe score where there is one, else the mean review rating, else NaN."""
    result = pd.Series(np.nan, index=titles, dtype=float)
    if "rating" in reviews.columns and not reviews.empty:
        ratings = pd.to_numeric(reviews["rating"], errors="coerce")
        mean_rating = ratings.groupby(reviews["title_id"]).mean()
        result = mean_rating.reindex(titles).astype(float)
    if vibe is not None and not vibe.empty:
        scores = pd.to_numeric(vibe.set_index("title_id")["vibe_score"], errors="coerce")
        scores = scores[~scores.index.duplicated()].reindex(titles)
        result = scores.where(scores.notna(), result)
    return result.clip(lower=1, upper=10)


def describe(params: TrendingParams) -> str:
    """One line for asset metadata and the API docs."""
    return (
        f"score = log1p(relative_volume) * sqrt(momentum) * vibe_factor; window {params.window_days} d, "
        f"half-life {params.half_life_days:g} d, history {params.history_days} d, prior {params.prior:g}, "
        f"ranked when >= {params.min_recent_reviews} reviews in the window"
    )


# --- the best-rated fallback (readers: serving/queries.py `trending`) -----------------------

BASIS_TRENDING = "trending"
BASIS_BEST_RATED = "best_rated_fallback"
DEFAULT_FALLBACK_MIN = 10
BEST_RATED_PRIOR_MEAN = 5.5  # the middle of the 1-10 scale
BEST_RATED_PRIOR_REVIEWS = 3  # pseudo-reviews at the prior mean


def best_rated_score(rating: float | None, review_count: int) -> float | None:
    """The fallback's order: ``rating`` (vibe score, else mean rating; 1-10) damped towards
    :data:`BEST_RATED_PRIOR_MEAN` by :data:`BEST_RATED_PRIOR_REVIEWS` pseudo-reviews.
    None without a rating (sorted last). Must match :func:`best_rated_sql`."""
    if rating is None or (isinstance(rating, float) and np.isnan(rating)):
        return None
    n = max(int(review_count), 0)
    k = BEST_RATED_PRIOR_REVIEWS
    return (float(rating) * n + BEST_RATED_PRIOR_MEAN * k) / (n + k)


def best_rated_sql(
    rating: str = "coalesce(vibe_score, mean_rating)", count: str = "review_count"
) -> str:
    """:func:`best_rated_score` as a SQL expression over the served ``titles`` columns."""
    k = BEST_RATED_PRIOR_REVIEWS
    return (
        f"(({rating})::double * greatest({count}, 0) + {BEST_RATED_PRIOR_MEAN!r} * {k}) "
        f"/ (greatest({count}, 0) + {k})"
    )


def fallback_count(ranked: int, *, limit: int, fallback_min: int) -> int:
    """How many best-rated titles to append to ``ranked`` trending ones: enough to reach
    ``min(fallback_min, limit)``; none when that many are trending (or ``fallback_min`` 0)."""
    if ranked < 0 or limit < 0 or fallback_min < 0:
        raise ValueError("ranked, limit and fallback_min must be >= 0")
    return max(0, min(fallback_min, limit) - min(ranked, limit))


def fallback_reason(
    ranked: int,
    params: TrendingParams,
    *,
    as_of: date | None,
    scope: str = "",
    filled: bool = True,
) -> str:
    """Why an answer is short of trending titles: not enough recent reviews (the rule and
    how many titles met it). ``scope`` names the filters ("horror", "tv"), if any;
    ``filled``: best-rated titles were added."""
    which = f"{scope} " if scope else ""
    rest = "the best rated instead" if ranked == 0 else "the rest are the best rated"
    if not filled:
        rest = "no best-rated titles added (fallback_min=0)"
    if as_of is None:
        return f"not enough recent reviews: no trending scores yet (no dated reviews); {rest}"
    have = "no" if ranked == 0 else f"only {ranked}"
    noun = "title is" if ranked == 1 else "titles are"
    return (
        f"not enough recent reviews (a trending rank needs >= {params.min_recent_reviews} in the "
        f"{params.window_days} days to {as_of.isoformat()}): {have} {which}{noun} trending; {rest}"
    )
