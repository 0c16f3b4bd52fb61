"""The trending formula: each documented property, on small hand-made review histories."""

from datetime import date, timedelta

import pandas as pd
import pytest

from trending_assets.lib.trending import TrendingParams, compute_trending, default_as_of

AS_OF = date(2026, 11, 20)


def reviews_for(title_id: str, ages: list[int], rating: int | None = 7) -> list[dict]:
    return [
        {"title_id": title_id, "review_date": AS_OF - timedelta(days=a), "rating": rating}
        for a in ages
    ]


def frame(*groups: list[dict]) -> pd.DataFrame:
    rows = [r for g in groups for r in g]
    return pd.DataFrame(rows, columns=["title_id", "review_date", "rating"])


def by_id(result: pd.DataFrame) -> dict[str, dict]:
    return result.set_index("title_id").to_dict("index")


def test_more_recent_reviews_rank_higher_and_ranks_are_dense():
    reviews = frame(
        reviews_for("busy", [0, 0, 1, 1, 2, 3]),
        reviews_for("quiet", [1, 4, 6]),
        reviews_for("steady", [2, 3, 5, 6]),
    )
    result = compute_trending(["busy", "quiet", "steady"], reviews)
    assert result["rank"].tolist() == [1, 2, 3]
    assert result["title_id"].tolist()[0] == "busy"
    assert set(result["as_of"]) == {AS_OF}


def test_one_review_never_tops_the_list():
    reviews = frame(
        reviews_for("one-hit", [0], rating=10),
        reviews_for("popular", [0, 1, 2, 3, 4, 5], rating=6),
    )
    result = by_id(compute_trending(["one-hit", "popular"], reviews))
    assert not result["one-hit"]["eligible"] and pd.isna(result["one-hit"]["rank"])
    assert result["popular"]["rank"] == 1
    # Its score is still reported, for inspection.
    assert result["one-hit"]["score"] > 0


def test_same_count_but_older_reviews_score_lower():
    reviews = frame(reviews_for("fresh", [0, 0, 1, 1]), reviews_for("fading", [5, 5, 6, 6]))
    result = by_id(compute_trending(["fresh", "fading"], reviews))
    assert result["fresh"]["recent_weight"] > result["fading"]["recent_weight"]
    assert result["fresh"]["rank"] < result["fading"]["rank"]


def test_momentum_is_relative_to_the_titles_own_history():
    # Same recent activity; "evergreen" always had that many reviews, "breakout" had none.
    recent = [0, 1, 2, 3]
    evergreen_history = [d for d in range(7, 63) for _ in range(1)]  # ~1 review a day before
    reviews = frame(
        reviews_for("evergreen", recent + evergreen_history),
        reviews_for("breakout", recent),
    )
    result = by_id(compute_trending(["evergreen", "breakout"], reviews))
    assert result["breakout"]["momentum"] > 1 > result["evergreen"]["momentum"]
    assert result["breakout"]["rank"] == 1


def test_vibe_breaks_equal_activity_and_llm_vibe_beats_mean_rating():
    reviews = frame(
        reviews_for("loved", [0, 1, 2], rating=3), reviews_for("meh", [0, 1, 2], rating=3)
    )
    vibe = pd.DataFrame({"title_id": ["loved"], "vibe_score": [9]})
    result = by_id(compute_trending(["loved", "meh"], reviews, vibe))
    assert result["loved"]["vibe"] == 9 and result["meh"]["vibe"] == 3
    assert result["loved"]["vibe_factor"] > 1 > result["meh"]["vibe_factor"]
    assert result["loved"]["rank"] == 1


def test_titles_without_reviews_future_reviews_and_unknown_titles():
    reviews = frame(
        reviews_for("a", [0, 1, 2]),
        reviews_for("ghost", [0, 0, 0]),  # not in the catalogue: ignored
        [{"title_id": "a", "review_date": AS_OF + timedelta(days=3), "rating": 5}],
    )
    result = by_id(compute_trending(["a", "silent"], reviews, as_of=AS_OF))
    assert set(result) == {"a", "silent"}
    assert result["a"]["recent_reviews"] == 3  # the future review is not counted
    assert result["silent"]["recent_reviews"] == 0 and pd.isna(result["silent"]["rank"])
    assert result["silent"]["score"] == 0


def test_moving_as_of_moves_the_ranking():
    reviews = frame(reviews_for("early", [10, 10, 11, 12]), reviews_for("late", [0, 1, 2]))
    now = by_id(compute_trending(["early", "late"], reviews))
    then = by_id(compute_trending(["early", "late"], reviews, as_of=AS_OF - timedelta(days=9)))
    assert now["late"]["rank"] == 1 and pd.isna(now["early"]["rank"])
    assert then["early"]["rank"] == 1


def test_empty_inputs_and_defaults():
    empty = frame()
    assert default_as_of(empty) is None
    result = compute_trending(["x"], empty)
    assert result["rank"].isna().all() and (result["score"] == 0).all()
    assert compute_trending([], empty).empty


@pytest.mark.parametrize(
    "bad",
    [
        dict(window_days=0),
        dict(half_life_days=0),
        dict(min_recent_reviews=0),
        dict(vibe_weight=1.0),
    ],
)
def test_params_are_validated(bad):
    with pytest.raises(ValueError):
        TrendingParams(**bad)
