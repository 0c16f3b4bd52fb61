import json
from datetime import date

import duckdb
import pandas as pd
import pytest

from trending_assets.lib.records import coerce_frame, coerce_rows
from trending_assets.lib.validation import (
    CrawledListing,
    CrawledReview,
    ListingRecord,
    TableShapeError,
    split_valid_rows,
)
from trending_assets.lib.warehouse import ensure_raw_tables, replace_quarantine, replace_rows


def listing(**overrides):
    row = {
        "source": "reelhub", "source_title_id": "t1", "url": "http://x/t1", "title": "Alien",
        "year": 1979, "title_type": "movie", "plot": "In space…", "genres": ["Sci-Fi"],
        "original_language": "en", "release_date": "1979-05-25", "crawl_date": "2026-11-20",
    }  # fmt: skip
    row.update(overrides)
    return row


def split(rows: list[dict], table: str, model):
    """Coerce then split, as the ingest step does (coercion's quarantine decisions included)."""
    coerced = coerce_rows(rows, table)
    return split_valid_rows(
        coerced.frame, model, decided=coerced.quarantine(), originals=coerced.originals()
    )


def test_coercion_keeps_every_row_and_nulls_unreadable_values_with_reasons() -> None:
    coerced = coerce_rows(
        [listing(year="1979"), listing(source_title_id="t2", year="n/a", release_date="someday"),
         listing(source_title_id="t3", genres='["Drama", "War"]')],
        "listings",
    )  # fmt: skip
    frame = coerced.frame
    assert len(frame) == 3
    assert frame["year"].tolist()[:1] == [1979] and pd.isna(frame["year"][1])
    assert frame["release_date"][0] == date(1979, 5, 25) and frame["release_date"][1] is None
    assert frame["genres"][2] == ["Drama", "War"]
    assert frame["crawl_date"][0] == date(2026, 11, 20)
    decided = coerced.decisions[["row", "column", "action", "reason", "original"]]
    assert decided.values.tolist() == [
        [1, "year", "null", "year: not a number", "n/a"],
        [1, "release_date", "null", "release_date: not a date", "someday"],
    ]


def test_split_quarantines_each_bad_row_with_its_reasons() -> None:
    rows = [
        listing(),
        listing(source_title_id="t1", title="Alien (again)"),  # duplicate key
        listing(source_title_id="t3", title=None),
        listing(source_title_id="t4", title_type="film", year=3001),
        listing(source_title_id="t5", title="Heat", genres=[]),
    ]
    outcome = split(rows, "listings", CrawledListing)

    assert outcome.valid["source_title_id"].tolist() == ["t1", "t5"]
    assert outcome.valid["title"].tolist() == ["Alien", "Heat"]  # the first copy is kept
    reasons = dict(zip(outcome.quarantined["reason"], outcome.quarantined["record"], strict=True))
    assert len(reasons) == 3
    dup = next(r for r in reasons if r.startswith("duplicate key"))
    assert json.loads(reasons[dup])["title"] == "Alien (again)"
    bad_type = next(r for r in reasons if "title_type" in r)
    assert bad_type == "title_type: isin(('movie', 'tv')); year: outside 1870..2100"
    assert json.loads(reasons[bad_type])["source_title_id"] == "t4"
    assert json.loads(reasons[bad_type])["year"] == 3001  # the value as it came
    assert sum(outcome.reasons.values()) == 3


def test_reviews_out_of_range_and_empty_text_are_quarantined() -> None:
    base = {
        "source": "reelhub",
        "source_title_id": "t1",
        "author": "ann",
        "crawl_date": "2026-11-20",
    }
    rows = [
        {**base, "source_review_id": "r1", "rating": 7, "text": "Great"},
        {**base, "source_review_id": "r2", "rating": 11, "text": "Too great"},
        {**base, "source_review_id": "r3", "rating": 5, "text": None},
        {**base, "source_review_id": "r4", "rating": None, "text": "No score"},
    ]
    outcome = split(rows, "reviews", CrawledReview)
    assert outcome.valid["source_review_id"].tolist() == ["r1", "r4"]
    assert sorted(outcome.quarantined["reason"]) == ["rating: outside 1..10", "text: not_nullable"]
    # pandera still names the range on its own (the blocking checks on stored tables)
    plain = split_valid_rows(coerce_frame(rows[:1], "reviews").assign(rating=11), CrawledReview)
    assert plain.reasons == {"rating: less_than_or_equal_to(10)": 1}


def test_a_batch_missing_a_column_is_rejected_as_a_whole() -> None:
    frame = coerce_frame([listing()], "listings").drop(columns=["title"])
    with pytest.raises(TableShapeError, match="title"):
        split_valid_rows(frame, ListingRecord)


def test_warehouse_replace_is_per_partition_and_quarantine_is_recorded() -> None:
    con = duckdb.connect()
    ensure_raw_tables(con)
    day1 = coerce_frame([listing(), listing(source_title_id="t2")], "listings")
    day2 = coerce_frame([listing(crawl_date="2026-11-21")], "listings")
    replace_rows(con, "listings", day1, where="crawl_date = ?", params=[date(2026, 11, 20)])
    replace_rows(con, "listings", day2, where="crawl_date = ?", params=[date(2026, 11, 21)])
    # Re-running day 1 replaces it, never duplicates it.
    replace_rows(con, "listings", day1.head(1), where="crawl_date = ?", params=[date(2026, 11, 20)])
    counts = con.execute(
        "select crawl_date::varchar, count(*) from raw.listings group by 1 order by 1"
    ).fetchall()
    assert counts == [("2026-11-20", 1), ("2026-11-21", 1)]
    genres = con.execute("select genres from raw.listings limit 1").fetchone()[0]
    assert genres == ["Sci-Fi"]

    bad = pd.DataFrame({"reason": ["title: not_nullable"], "record": ['{"title": null}']})
    replace_quarantine(con, "raw/listings", "2026-11-20", bad)
    replace_quarantine(con, "raw/listings", "2026-11-20", bad)
    assert con.execute(
        "select count(*), any_value(record->>'title') from raw.quarantine"
    ).fetchone() == (1, None)


def test_the_taxonomy_has_one_source_the_seed(tmp_path):
    import csv

    from scrapers.demo_site import CANONICAL_GENRES as DEMO_GENRES
    from trending_assets.lib.taxonomy import GENRES_SEED, genre_ids
    from trending_assets.lib.validation import CANONICAL_GENRES

    with GENRES_SEED.open(encoding="utf-8", newline="") as handle:
        seeded = tuple(row["genre_id"] for row in csv.DictReader(handle))
    assert CANONICAL_GENRES == DEMO_GENRES == seeded
    other = tmp_path / "genres.csv"
    other.write_text("genre_id,genre_name,applies_to\nnoir,Noir,movie\n", encoding="utf-8")
    assert genre_ids(other) == ("noir",)
