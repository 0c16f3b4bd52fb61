"""Reading raw values: every value that is nulled, truncated, adjusted or refused says why."""

import json
import math
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from trending_assets.lib.coercion import (
    TEXT_CHARS_CEILING,
    TITLE_CHARS_CEILING,
    Decision,
    JsonConstant,
    TextLimits,
    bound_text,
    clip_value,
    read_date,
    read_labels,
    read_rating,
    read_text,
    read_year,
    round_rating,
    truncate_at_word,
)
from trending_assets.lib.records import coerce_rows
from trending_assets.settings import TrendingSettings


def null(reason: str) -> list[Decision]:
    return [Decision("null", reason)]


def quarantine(reason: str) -> list[Decision]:
    return [Decision("quarantine", reason)]


@pytest.mark.parametrize(
    ("raw", "value", "decisions"),
    [
        (7, 7, []),
        ("7", 7, []),
        (np.int64(3), 3, []),
        (8.0, 8, []),
        (7.5, 8, [Decision("adjusted", "rating: fraction rounded half up")]),
        ("8.49", 8, [Decision("adjusted", "rating: fraction rounded half up")]),
        (1.4, 1, [Decision("adjusted", "rating: fraction rounded half up")]),
        (None, None, []),
        (float("nan"), None, []),  # pandas' marker for "absent"
        ("", None, []),
        (JsonConstant("NaN"), None, null("rating: not a finite number")),
        ("NaN", None, null("rating: not a finite number")),
        (float("inf"), None, null("rating: not a finite number")),
        ("Infinity", None, null("rating: not a finite number")),
        ("-inf", None, null("rating: not a finite number")),
        ("abc", None, null("rating: not a number")),
        ("7/10", None, null("rating: not a number")),
        ("1_0", None, null("rating: not a number")),
        (True, None, null("rating: not a number")),
        ([7], None, null("rating: not a number")),
        (11, None, quarantine("rating: outside 1..10")),
        (0, None, quarantine("rating: outside 1..10")),
        (10.4, None, quarantine("rating: outside 1..10")),  # range checked before rounding
        (0.6, None, quarantine("rating: outside 1..10")),
    ],
)
def test_ratings(raw, value, decisions) -> None:
    assert read_rating(raw) == (value, decisions)


def test_rounding_is_the_crawlers_rule() -> None:
    from scrapers.pipelines import round_rating as crawler_round_rating

    for tenth in range(10, 101):
        number = tenth / 10
        assert round_rating(number) == crawler_round_rating(number), number
    assert [round_rating(x) for x in (7.5, 8.49, 8.5, 9.5, 1.0)] == [8, 8, 9, 10, 1]


@pytest.mark.parametrize(
    ("raw", "value", "decisions"),
    [
        (1999, 1999, []),
        ("1999", 1999, []),
        (" 1999 ", 1999, []),
        (1999.0, 1999, []),
        ("1999.0", 1999, []),
        (np.int32(2001), 2001, []),
        (None, None, []),
        ("1999abc", None, null("year: not a number")),
        ("n/a", None, null("year: not a number")),
        (1850.5, None, null("year: not a whole year")),
        ("1850.5", None, null("year: not a whole year")),
        (float("inf"), None, null("year: not a finite number")),
        ("Infinity", None, null("year: not a finite number")),
        (JsonConstant("-Infinity"), None, null("year: not a finite number")),
        (False, None, null("year: not a number")),
        (1850, None, quarantine("year: outside 1870..2100")),
        (3001, None, quarantine("year: outside 1870..2100")),
        (10**30, None, quarantine("year: outside 1870..2100")),
    ],
)
def test_years(raw, value, decisions) -> None:
    assert read_year(raw) == (value, decisions)


@pytest.mark.parametrize(
    ("raw", "value", "reason"),
    [
        ("2026-11-20", date(2026, 11, 20), None),
        (" 2026-11-20 ", date(2026, 11, 20), None),
        ("2026-11-20T08:30:00Z", date(2026, 11, 20), None),
        ("2026-11-20 08:30", date(2026, 11, 20), None),
        (date(2020, 2, 29), date(2020, 2, 29), None),
        (datetime(2020, 2, 29, 23, 59), date(2020, 2, 29), None),
        (pd.Timestamp("2021-05-01"), date(2021, 5, 1), None),
        (None, None, None),
        (pd.NaT, None, None),
        ("2026-13-45", None, "release_date: impossible date"),  # never rolled over
        ("2021-02-29", None, "release_date: impossible date"),
        ("2026", None, "release_date: year or month only"),
        ("2026-05", None, "release_date: year or month only"),
        ("someday", None, "release_date: not a date"),
        ("2026-11-20garbage", None, "release_date: not a date"),
        ("20/11/2026", None, "release_date: not a date"),
        (20261120, None, "release_date: not a date"),
        (JsonConstant("NaN"), None, "release_date: not a date"),
        ("1066-10-14", None, "release_date: outside 1870..2100"),
        (date(9999, 12, 31), None, "release_date: outside 1870..2100"),
    ],
)
def test_dates(raw, value, reason) -> None:
    assert read_date(raw, "release_date") == (value, null(reason) if reason else [])


def test_text_is_text_or_null_with_a_reason() -> None:
    assert read_text("Alien", "title") == ("Alien", [])
    assert read_text("   ", "title") == (None, [])
    assert read_text(1917, "title") == ("1917", [])
    assert read_text(["a"], "title") == (None, null("title: not text"))
    assert read_text({"a": 1}, "plot") == (None, null("plot: not text"))
    assert read_text(True, "author") == (None, null("author: not text"))
    assert read_text(JsonConstant("NaN"), "author") == (None, null("author: not text"))
    assert read_text(float("inf"), "author") == (None, null("author: not text"))


def test_truncation_cuts_at_a_word_and_stays_within_the_limit() -> None:
    text = "word " * 10_000
    cut = truncate_at_word(text, 1_000)
    assert len(cut) <= 1_000 and cut.endswith("word…")
    assert not cut[:-1].endswith(" ")
    one_token = "x" * 5_000
    assert truncate_at_word(one_token, 100) == "x" * 99 + "…"
    assert truncate_at_word("short", 100) == "short"
    assert bound_text("a b c d e f", "plot", 5, "truncated") == (
        "a b…",
        [Decision("truncated", "plot: truncated to 5 chars")],
    )
    assert bound_text("x" * 600, "title", 500, "quarantine") == (
        None,
        quarantine("title: longer than 500 chars"),
    )


def test_labels_are_bounded_in_length_and_number() -> None:
    limits = TextLimits(tag_chars=10, genre_labels=3)
    assert read_labels(["Drama", " War ", ""], "genres", limits) == (["Drama", "War"], [])
    assert read_labels('["Drama", "War"]', "genres", limits) == (["Drama", "War"], [])
    assert read_labels("Drama, War", "genres", limits) == (["Drama", "War"], [])
    labels, decisions = read_labels(
        ["Drama", "Science Fiction Thriller", "a", "b", "c"], "genres", limits
    )
    assert labels == ["Drama", "Science F…", "a"]  # no space in the last fifth: a hard cut
    assert decisions == [
        Decision("truncated", "genres: label truncated to 10 chars"),
        Decision("truncated", "genres: more than 3 labels, the first kept"),
    ]
    assert read_labels(5, "genres", limits) == (None, quarantine("genres: not a list of labels"))
    assert read_labels([{"name": "x"}], "genres", limits)[1] == quarantine(
        "genres: not a list of labels"
    )


def test_settings_limits_have_documented_defaults_and_ceilings(monkeypatch) -> None:
    settings = TrendingSettings()
    defaults = TextLimits()
    assert (
        (
            settings.max_plot_chars,
            settings.max_review_chars,
            settings.max_title_chars,
            settings.max_tag_chars,
            settings.max_genre_labels,
        )
        == (
            defaults.plot_chars,
            defaults.review_chars,
            defaults.title_chars,
            defaults.tag_chars,
            defaults.genre_labels,
        )
        == (20_000, 20_000, 500, 100, 50)
    )
    fields = TrendingSettings.model_fields
    ceiling = lambda name: next(m.le for m in fields[name].metadata if hasattr(m, "le"))  # noqa: E731
    assert ceiling("max_plot_chars") == ceiling("max_review_chars") == TEXT_CHARS_CEILING
    assert ceiling("max_title_chars") == TITLE_CHARS_CEILING
    monkeypatch.setenv("TRENDING_MAX_PLOT_CHARS", "1000")
    assert TrendingSettings().max_plot_chars == 1000
    monkeypatch.setenv("TRENDING_MAX_PLOT_CHARS", str(TEXT_CHARS_CEILING + 1))
    with pytest.raises(ValueError, match="max_plot_chars"):
        TrendingSettings()


def test_coerce_rows_records_each_decision_with_the_original() -> None:
    limits = TextLimits(plot_chars=200, title_chars=50)
    rows = [
        {"source": "acme", "source_title_id": "a-1", "title": "Fine", "title_type": "movie",
         "year": "1999abc", "plot": "long " * 100, "genres": ["Drama"],
         "release_date": "2026-13-45"},
        {"source": "acme", "source_title_id": "a-2", "title": "T" * 51, "title_type": "movie",
         "genres": []},
        {"source": "acme", "source_title_id": "a-3", "title": ["not", "text"], "title_type": "tv",
         "genres": []},
    ]  # fmt: skip
    coerced = coerce_rows(rows, "listings", limits)
    frame = coerced.frame
    assert len(frame) == 3 and pd.isna(frame["year"][0]) and frame["release_date"][0] is None
    assert len(frame["plot"][0]) <= 200 and frame["plot"][0].endswith("long…")
    assert frame["title"][1] is None
    table = coerced.decisions.set_index(["row", "column"])
    assert table.loc[(0, "year"), "reason"] == "year: not a number"
    assert table.loc[(0, "year"), "original"] == "1999abc"
    assert table.loc[(0, "release_date"), "reason"] == "release_date: impossible date"
    assert table.loc[(0, "plot"), "action"] == "truncated"
    assert coerced.quarantine() == {
        1: [("title", "title: longer than 50 chars")],
        2: [("title", "title: not text")],  # a required value that is unreadable: not a null
    }
    assert coerced.originals()[1]["title"] == "T" * 51
    assert coerced.originals()[2]["title"] == ["not", "text"]


def test_clip_value_names_the_full_length() -> None:
    assert clip_value("abc", 10) == "abc"
    assert clip_value("x" * 30, 10) == "x" * 10 + "… [clipped: 30 chars]"
    assert clip_value(5, 1) == 5
    assert json.loads(json.dumps(clip_value("y" * 100, 5)))
    assert not math.isnan(read_rating("9")[0])
