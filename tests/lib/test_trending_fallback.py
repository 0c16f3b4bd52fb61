"""The best-rated fallback of a short trending answer (trending_assets/lib/trending.py,
"Coverage and the best-rated fallback"): how many to add, in which order, and the reason."""

from datetime import date

import duckdb
import pytest

from trending_assets.lib.trending import (
    BEST_RATED_PRIOR_MEAN,
    TrendingParams,
    best_rated_score,
    best_rated_sql,
    fallback_count,
    fallback_reason,
)


@pytest.mark.parametrize(
    ("ranked", "limit", "fallback_min", "expected"),
    [
        (0, 20, 10, 10),  # nothing trending: ten best-rated titles
        (1, 20, 10, 9),  # topped up to ten
        (10, 20, 10, 0),  # enough trending: no fallback
        (35, 100, 10, 0),
        (0, 3, 10, 3),  # never more than limit
        (2, 3, 10, 1),
        (0, 20, 0, 0),  # fallback_min=0: trending titles only
    ],
)
def test_fallback_tops_a_short_answer_up_to_fallback_min(ranked, limit, fallback_min, expected):
    assert fallback_count(ranked, limit=limit, fallback_min=fallback_min) == expected


def test_fallback_count_rejects_negative_inputs():
    with pytest.raises(ValueError):
        fallback_count(-1, limit=10, fallback_min=10)


def test_one_glowing_review_does_not_top_the_best_rated_list():
    one_ten = best_rated_score(10, 1)
    well_liked = best_rated_score(8, 20)
    assert well_liked > one_ten > best_rated_score(6, 20)
    # No reviews, or no rating at all: the prior, or nothing (sorted last).
    assert best_rated_score(9, 0) == BEST_RATED_PRIOR_MEAN
    assert best_rated_score(None, 5) is None and best_rated_score(float("nan"), 5) is None


def test_sql_expression_orders_like_the_python_function():
    rows = [("a", 9, None, 1), ("b", None, 7.5, 12), ("c", 8, 3.0, 20), ("d", None, None, 4)]
    con = duckdb.connect()
    con.execute(
        "create table titles (title_id varchar, vibe_score integer, mean_rating double, "
        "review_count bigint)"
    )
    con.executemany("insert into titles values (?, ?, ?, ?)", rows)
    got = con.execute(
        f"select title_id, {best_rated_sql()} from titles order by 2 desc nulls last, title_id"
    ).fetchall()
    expected = {
        tid: best_rated_score(vibe if vibe is not None else mean, n) for tid, vibe, mean, n in rows
    }
    assert [t for t, _ in got] == ["c", "b", "a", "d"]
    for tid, value in got:
        assert value == pytest.approx(expected[tid]) if expected[tid] is not None else value is None


def test_reason_names_the_rule_the_count_and_the_scope():
    params = TrendingParams(window_days=7, min_recent_reviews=3)
    as_of = date(2026, 11, 29)
    one = fallback_reason(1, params, as_of=as_of, scope="horror")
    assert one.startswith("not enough recent reviews")
    assert ">= 3 in the 7 days to 2026-11-29" in one
    assert "only 1 horror title is trending" in one and "the rest are the best rated" in one
    none = fallback_reason(0, params, as_of=as_of, scope="talk")
    assert "no talk titles are trending" in none and "best rated instead" in none
    assert "no best-rated titles added" in fallback_reason(0, params, as_of=as_of, filled=False)
    assert "no trending scores yet" in fallback_reason(0, params, as_of=None)
