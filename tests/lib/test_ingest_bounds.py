"""Hostile rows through the real ingest path: a landed file read by ``load_partition_feed``
and stored by ``store_raw_batch`` into a DuckDB file and a local lake. Every row ends up
stored (with the reason for each value changed) or quarantined (with its reason)."""

import json
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from trending_assets.lib import landing
from trending_assets.lib.coercion import TextLimits
from trending_assets.lib.datasets import load_listings
from trending_assets.lib.ingest import store_raw_batch
from trending_assets.lib.lake import LocalLake, read_parquet
from trending_assets.lib.validation import CrawledListing, CrawledReview, ListingRecord

DAY = date(2026, 11, 19)
HUGE_PLOT = "A long night falls over the valley. " * 140_000  # about 5 MB
NAN, INF = float("nan"), float("inf")


def jsonl(*records: dict) -> bytes:
    # json.dumps writes NaN and Infinity literals, as a careless crawler would
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def listing(n: int, **values) -> dict:
    return {"source": "acme", "source_title_id": f"a-{n}", "title": f"Title {n}",
            "title_type": "movie", "year": 2001, "genres": ["Drama"], **values}  # fmt: skip


def review(n: int, **values) -> dict:
    return {"source": "acme", "source_review_id": f"r-{n}", "source_title_id": "a-1",
            "text": f"Review {n}", **values}  # fmt: skip


HOSTILE_LISTINGS = [
    listing(1, plot=HUGE_PLOT),
    listing(2, year="1999abc"),
    listing(3, year=1850.5),
    listing(4, year=INF),
    listing(5, release_date="2026-13-45"),
    listing(6, title="T" * 600),
    listing(7, year=1850),
    listing(8, genres=["Drama", "x" * 300]),
    listing(9, year=NAN),
]
HOSTILE_REVIEWS = [
    review(1, rating=7.5),
    review(2, rating=NAN),
    review(3, rating=INF),
    review(4, rating="abc"),
    review(5, review_date="someday"),
    review(6, rating=11),
    review(7, text=HUGE_PLOT),
    review(8, review_date="2026-02-30"),
    review(9, rating=9, review_date="2026-11-18"),
]


def store(con, lake, table: str, model, feed: str) -> tuple:
    landed = landing.load_partition_feed(lake, DAY.isoformat(), feed)
    rows = landed.rows.assign(crawl_date=DAY)
    batch = store_raw_batch(
        con,
        lake,
        table=table,
        model=model,
        rows=rows,
        asset=f"raw/{table}",
        partition=DAY.isoformat(),
        lake_key=f"raw/{table}/crawl_date={DAY}/{table}.parquet",
        where="crawl_date = ?",
        params=[DAY],
        rejects=landed.rejects,
    )
    return batch, len(rows)


@pytest.fixture
def landed(tmp_path: Path) -> LocalLake:
    lake = LocalLake(tmp_path / "lake")
    lake.write_bytes(f"landing/acme/{DAY}/listings.jsonl", jsonl(*HOSTILE_LISTINGS))
    lake.write_bytes(f"landing/acme/{DAY}/reviews.jsonl", jsonl(*HOSTILE_REVIEWS))
    return lake


def test_hostile_listings_are_bounded_nulled_with_reasons_or_quarantined(
    tmp_path: Path, landed: LocalLake
) -> None:
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        batch, given = store(con, landed, "listings", CrawledListing, "listings")
        stored = con.execute(
            "select source_title_id, year, release_date, length(plot), genres"
            " from raw.listings order by 1"
        ).fetchall()
        quarantined = con.execute(
            "select reason, record from raw.quarantine where asset = 'raw/listings'"
        ).fetchall()

    assert batch.rows + batch.quarantined == given == len(HOSTILE_LISTINGS)  # nothing lost
    assert [row[0] for row in stored] == ["a-1", "a-2", "a-3", "a-4", "a-5", "a-8", "a-9"]
    by_id = {row[0]: row for row in stored}
    assert by_id["a-1"][3] <= 20_000  # the 5 MB plot, cut at a word
    assert all(by_id[i][1] is None for i in ("a-2", "a-3", "a-4", "a-9"))
    assert by_id["a-5"][2] is None  # never rolled over to 2026-01-01
    assert len(by_id["a-8"][4][1]) <= 100
    assert batch.coerced == {
        "null": {
            "release_date: impossible date": 1,
            "year: not a finite number": 2,  # Infinity and a NaN literal
            "year: not a number": 1,
            "year: not a whole year": 1,
        },
        "truncated": {
            "genres: label truncated to 100 chars": 1,
            "plot: truncated to 20000 chars": 1,
        },
    }
    assert batch.reasons == {"title: longer than 500 chars": 1, "year: outside 1870..2100": 1}
    records = {reason: json.loads(record) for reason, record in quarantined}
    assert records["title: longer than 500 chars"]["title"] == "T" * 600  # as it came
    assert records["year: outside 1870..2100"]["year"] == 1850

    log = read_parquet(landed, f"coercions/listings/{DAY}.parquet")
    assert len(log) == batch.coerced_values == 7
    row = log[log["reason"] == "year: not a number"].iloc[0]
    assert (row["source_id"], row["column"], row["original"]) == ("a-2", "year", "1999abc")
    assert log[log["column"] == "plot"]["original"].str.len().max() < 1_100  # clipped


def test_hostile_reviews_keep_the_text_and_say_why_a_rating_is_gone(
    tmp_path: Path, landed: LocalLake
) -> None:
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        batch, given = store(con, landed, "reviews", CrawledReview, "reviews")
        stored = dict(con.execute("select source_review_id, rating from raw.reviews").fetchall())
        longest = con.execute("select max(length(text)) from raw.reviews").fetchone()[0]
        dates = dict(
            con.execute("select source_review_id, review_date from raw.reviews").fetchall()
        )

    assert batch.rows + batch.quarantined == given == len(HOSTILE_REVIEWS)
    assert stored == {"r-1": 8, "r-2": None, "r-3": None, "r-4": None, "r-5": None, "r-7": None,
                      "r-8": None, "r-9": 9}  # fmt: skip
    assert longest <= 20_000
    assert dates["r-9"] == date(2026, 11, 18) and dates["r-8"] is None
    assert batch.coerced == {
        "null": {
            "rating: not a finite number": 2,  # the NaN literal is not read as "no rating"
            "rating: not a number": 1,
            "review_date: impossible date": 1,
            "review_date: not a date": 1,
        },
        "truncated": {"text: truncated to 20000 chars": 1},
        "adjusted": {"rating: fraction rounded half up": 1},
    }
    assert batch.reasons == {"rating: outside 1..10": 1}


def test_limits_come_from_the_caller_and_a_rerun_clears_the_old_log(
    tmp_path: Path, landed: LocalLake
) -> None:
    limits = TextLimits(plot_chars=1_000)
    frame = pd.DataFrame([listing(1, plot="word " * 1_000)]).assign(crawl_date=DAY)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        kwargs = dict(
            table="listings",
            model=CrawledListing,
            asset="raw/listings",
            partition=DAY.isoformat(),
            lake_key=f"raw/listings/crawl_date={DAY}/listings.parquet",
            where="crawl_date = ?",
            params=[DAY],
        )
        batch = store_raw_batch(con, landed, rows=frame, limits=limits, **kwargs)
        assert batch.coerced == {"truncated": {"plot: truncated to 1000 chars": 1}}
        again = store_raw_batch(con, landed, rows=frame.assign(plot="short"), **kwargs)
    assert again.coerced == {} and again.coerced_values == 0
    assert read_parquet(landed, f"coercions/listings/{DAY}.parquet").empty


def test_a_dataset_row_with_a_huge_plot_is_truncated_and_a_bad_year_rejected(
    tmp_path: Path,
) -> None:
    path = tmp_path / "netflix_titles.csv"
    header = "show_id,type,title,director,cast,country,date_added,release_year,rating,duration,listed_in,description\n"
    rows = [
        f's1,Movie,Big,,,,,2001,,,Dramas,"{HUGE_PLOT}"\n',
        "s2,Movie,Odd,,,,,1999abc,,,Dramas,Fine\n",
        "s3,Movie,Half,,,,,1850.5,,,Dramas,Fine\n",
    ]
    path.write_text(header + "".join(rows), encoding="utf-8")
    result = load_listings(path)
    assert len(result.frame) == 1
    assert sorted(result.rejects["reason"]) == ["unparseable year", "unparseable year"]
    lake = LocalLake(tmp_path / "lake")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        batch = store_raw_batch(
            con,
            lake,
            table="dataset_listings",
            model=ListingRecord,
            rows=result.frame,
            asset="raw/dataset_listings",
            partition="all",
            lake_key="raw/dataset_listings/dataset_listings.parquet",
            where="true",
            params=[],
            rejects=result.rejects,
        )
        plot_length = con.execute("select length(plot) from raw.dataset_listings").fetchone()[0]
    assert (batch.rows, batch.quarantined) == (1, 2)
    assert plot_length <= 20_000
    assert batch.coerced == {"truncated": {"plot: truncated to 20000 chars": 1}}
    assert batch.reasons == {"unparseable year": 2}


def test_a_batch_hash_names_its_content(tmp_path: Path, landed: LocalLake) -> None:
    """The hash a volatile source reports as its data version: the same rows stored again
    give the same hash (nothing downstream is stale); another row gives another."""
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        first, _ = store(con, landed, "listings", CrawledListing, "listings")
        again, _ = store(con, landed, "listings", CrawledListing, "listings")
        assert first.content_hash and first.content_hash == again.content_hash
        landed.write_bytes(
            f"landing/acme/{DAY}/listings.jsonl", jsonl(*HOSTILE_LISTINGS, listing(10))
        )
        changed, _ = store(con, landed, "listings", CrawledListing, "listings")
        assert changed.content_hash != first.content_hash
