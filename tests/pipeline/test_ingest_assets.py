"""The dataset and TMDb API raw assets, materialised for real with Dagster on small fixtures."""

import csv
import http.server
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from trending_assets.defs.ingest.assets import raw_api_releases, raw_crawl, raw_datasets
from trending_assets.defs.ingest.checks import (
    raw_api_releases_check,
    raw_dataset_listings_check,
    raw_dataset_reviews_check,
    raw_listings_check,
    raw_reviews_check,
)
from trending_assets.defs.resources import (
    CrawlerResource,
    DatasetsResource,
    LakeResource,
    TmdbApiResource,
)
from trending_assets.lib.lake import LocalLake


def metadata_of(result: dg.ExecuteInProcessResult, key: str) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key == dg.AssetKey.from_user_string(key):
            return event.materialization.metadata
    raise AssertionError(f"{key} was not materialised")


def write_tmdb_csv(path: Path) -> Path:
    header = ["budget", "genres", "id", "original_language", "overview", "release_date", "title"]
    genres = lambda *names: json.dumps([{"id": i, "name": n} for i, n in enumerate(names)])  # noqa: E731
    rows = [
        ["1", genres("Horror", "Thriller"), "101", "en", "A house &amp; its ghosts.", "2019-10-31", "Hollow House"],
        ["1", genres("Comedy"), "102", "fr", "Un café à Paris.", "2001-04-25", "Amélie"],
        ["1", '[{"id": 28, "name": "Act', "103", "en", "Broken genre cell.", "2001-01-01", "Broken"],
    ]  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_aclimdb(path: Path) -> Path:
    url = "http://www.imdb.com/title/{}/usercomments\n"
    members = {
        "aclImdb/train/pos/0_9.txt": b"Loved it.<br /><br />Great.",
        "aclImdb/train/neg/0_2.txt": b"Dull and long.",
        "aclImdb/train/urls_pos.txt": url.format("tt0000101").encode(),
        "aclImdb/train/urls_neg.txt": url.format("tt0000102").encode(),
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def fake_tmdb() -> Iterator[str]:
    """A loopback server answering TMDb's discover and genre-list shapes (one page each)."""
    today = date.today()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if query.get("api_key") != "test-key-123":
                body, status = {"status_code": 7, "success": False}, 401
            elif parts.path.endswith("/genre/movie/list"):
                body, status = {"genres": [{"id": 27, "name": "Horror"}]}, 200
            elif parts.path.endswith("/genre/tv/list"):
                body, status = {"genres": [{"id": 10764, "name": "Reality"}]}, 200
            elif parts.path.endswith("/discover/movie"):
                result = {"id": 9001, "title": "Fresh Fright", "overview": "New scares.",
                          "release_date": (today - timedelta(days=2)).isoformat(),
                          "genre_ids": [27], "original_language": "en"}  # fmt: skip
                body, status = (
                    {"page": 1, "results": [result], "total_pages": 1, "total_results": 1},
                    200,
                )
            elif parts.path.endswith("/discover/tv"):
                result = {"id": 77, "name": "Island Life", "overview": "A reality show.",
                          "first_air_date": (today - timedelta(days=1)).isoformat(),
                          "genre_ids": [10764], "original_language": "en"}  # fmt: skip
                body, status = (
                    {"page": 1, "results": [result], "total_pages": 1, "total_results": 1},
                    200,
                )
            else:
                body, status = {"status_code": 34}, 404
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/3"
    server.shutdown()


def test_dataset_assets_store_rows_and_quarantine_unreadable_ones(tmp_path: Path) -> None:
    tmdb = write_tmdb_csv(tmp_path / "tmdb_5000_movies.csv")
    acl = write_aclimdb(tmp_path / "aclImdb_v1.tar.gz")
    warehouse = tmp_path / "warehouse.duckdb"
    result = dg.materialize(
        [raw_datasets, raw_dataset_listings_check, raw_dataset_reviews_check],
        resources={
            "datasets": DatasetsResource(paths=[str(tmdb), str(acl)]),
            "lake": LakeResource(local_root=str(tmp_path / "lake")),
            "warehouse": DuckDBResource(database=str(warehouse)),
        },
    )
    assert result.success
    listings = metadata_of(result, "raw/dataset_listings")
    assert listings["dagster/row_count"].value == 2
    assert listings["quarantined_rows"].value == 1
    assert metadata_of(result, "raw/dataset_reviews")["dagster/row_count"].value == 2
    assert all(e.passed for e in result.get_asset_check_evaluations())

    with duckdb.connect(str(warehouse), read_only=True) as con:
        titles = con.execute(
            "select title, genres from raw.dataset_listings order by title"
        ).fetchall()
        assert titles == [("Amélie", ["Comedy"]), ("Hollow House", ["Horror", "Thriller"])]
        ratings = con.execute(
            "select source_title_id, rating from raw.dataset_reviews order by 1"
        ).fetchall()
        assert ratings == [("tt0000101", 9), ("tt0000102", 2)]
        quarantined = con.execute("select asset, reason, record from raw.quarantine").fetchall()
    assert len(quarantined) == 1
    assert quarantined[0][0] == "raw/dataset_listings"
    assert "Broken genre cell." in quarantined[0][2]
    assert (tmp_path / "lake" / "raw" / "dataset_listings" / "dataset_listings.parquet").exists()


def test_datasets_off_in_the_demo_profile_leave_empty_typed_tables(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    result = dg.materialize(
        [raw_datasets],
        resources={
            "datasets": DatasetsResource(paths=[]),
            "lake": LakeResource(local_root=str(tmp_path / "lake")),
            "warehouse": DuckDBResource(database=str(warehouse)),
        },
    )
    assert result.success
    metadata = metadata_of(result, "raw/dataset_listings")
    assert "no datasets configured" in metadata["datasets"].value
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw.dataset_listings").fetchone() == (0,)


def test_api_releases_from_a_loopback_tmdb(tmp_path: Path, fake_tmdb: str, monkeypatch) -> None:
    monkeypatch.setenv("TMDB_API_KEY", "test-key-123")
    warehouse = tmp_path / "warehouse.duckdb"
    result = dg.materialize(
        [raw_api_releases, raw_api_releases_check],
        resources={
            "tmdb": TmdbApiResource(base_url=fake_tmdb),
            "lake": LakeResource(local_root=str(tmp_path / "lake")),
            "warehouse": DuckDBResource(database=str(warehouse)),
        },
    )
    assert result.success
    metadata = metadata_of(result, "raw/api_releases")
    assert metadata["dagster/row_count"].value == 2
    assert "test-key-123" not in json.dumps({k: str(v.value) for k, v in metadata.items()})
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select source_title_id, title, title_type, genres from raw.api_releases order by 1"
        ).fetchall()
    assert rows == [
        ("movie/9001", "Fresh Fright", "movie", ["Horror"]),
        ("tv/77", "Island Life", "tv", ["Reality"]),
    ]


def test_api_releases_off_without_a_key(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("TMDB_API_KEY", raising=False)
    result = dg.materialize(
        [raw_api_releases],
        resources={
            "tmdb": TmdbApiResource(),
            "lake": LakeResource(local_root=str(tmp_path / "lake")),
            "warehouse": DuckDBResource(database=str(tmp_path / "w.duckdb")),
        },
    )
    assert result.success
    metadata = metadata_of(result, "raw/api_releases")
    assert metadata["dagster/row_count"].value == 0
    assert metadata["window"].value.startswith("off")


HUGE_PLOT = "A long night falls over the valley. " * 140_000  # about 5 MB


def test_hostile_landed_rows_are_stored_with_reasons_or_quarantined(tmp_path: Path) -> None:
    """raw_crawl (landing) over a landed file of hostile values: every row is stored with the
    reason for each value changed, or quarantined with its reason; all counted in metadata."""
    day = "2026-11-19"
    lake = LocalLake(tmp_path / "lake")

    def jsonl(*records: dict) -> bytes:  # NaN and Infinity as literals, as json.dumps writes
        return "".join(json.dumps(r) + "\n" for r in records).encode()

    title = {"source": "acme", "title_type": "movie", "genres": ["Drama"]}
    lake.write_bytes(f"landing/acme/{day}/listings.jsonl", jsonl(
        {**title, "source_title_id": "a-1", "title": "Huge", "plot": HUGE_PLOT},
        {**title, "source_title_id": "a-2", "title": "Odd year", "year": "1999abc"},
        {**title, "source_title_id": "a-3", "title": "Half year", "year": 1850.5},
        {**title, "source_title_id": "a-4", "title": "Endless", "year": float("inf")},
        {**title, "source_title_id": "a-5", "title": "Thirteenth", "release_date": "2026-13-45"},
        {**title, "source_title_id": "a-6", "title": "T" * 5_000},
    ))  # fmt: skip
    review = {"source": "acme", "source_title_id": "a-1", "text": "Fine."}
    lake.write_bytes(f"landing/acme/{day}/reviews.jsonl", jsonl(
        {**review, "source_review_id": "r-1", "rating": 7.5},
        {**review, "source_review_id": "r-2", "rating": float("nan")},
        {**review, "source_review_id": "r-3", "rating": float("inf")},
        {**review, "source_review_id": "r-4", "rating": "abc"},
        {**review, "source_review_id": "r-5", "review_date": "sometime"},
        {**review, "source_review_id": "r-6", "rating": 10.4},
        {**review, "source_review_id": "r-7", "text": HUGE_PLOT},
    ))  # fmt: skip
    warehouse = tmp_path / "warehouse.duckdb"
    result = dg.materialize(
        [raw_crawl, raw_listings_check, raw_reviews_check],
        partition_key=day,
        run_config={"ops": {"raw_crawl": {"config": {"source": "landing"}}}},
        resources={
            "crawler": CrawlerResource(),
            "lake": LakeResource(local_root=str(tmp_path / "lake")),
            "warehouse": DuckDBResource(database=str(warehouse)),
        },
    )
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())

    listings = metadata_of(result, "raw/listings")
    assert (listings["dagster/row_count"].value, listings["quarantined_rows"].value) == (5, 1)
    assert listings["quarantine_reasons"].value == {"title: longer than 500 chars": 1}
    assert listings["coerced_to_null"].value == {
        "release_date: impossible date": 1,
        "year: not a finite number": 1,
        "year: not a number": 1,
        "year: not a whole year": 1,
    }
    assert listings["truncated"].value == {"plot: truncated to 20000 chars": 1}
    assert listings["coerced_values"].value == 5
    assert Path(listings["coercion_log_uri"].value).exists()

    reviews = metadata_of(result, "raw/reviews")
    assert (reviews["dagster/row_count"].value, reviews["quarantined_rows"].value) == (6, 1)
    assert reviews["quarantine_reasons"].value == {"rating: outside 1..10": 1}
    assert reviews["coerced_to_null"].value == {
        "rating: not a finite number": 2,
        "rating: not a number": 1,
        "review_date: not a date": 1,
    }
    assert reviews["adjusted"].value == {"rating: fraction rounded half up": 1}
    assert reviews["truncated"].value == {"text: truncated to 20000 chars": 1}

    with duckdb.connect(str(warehouse), read_only=True) as con:
        longest = con.execute(
            "select (select max(length(plot)) from raw.listings),"
            " (select max(length(text)) from raw.reviews)"
        ).fetchone()
        assert max(longest) <= 20_000
        assert con.execute(
            "select release_date from raw.listings where source_title_id = 'a-5'"
        ).fetchone() == (None,)
        assert con.execute(
            "select rating from raw.reviews where source_review_id = 'r-1'"
        ).fetchone() == (8,)
        quarantined = con.execute("select count(*) from raw.quarantine").fetchone()[0]
    assert quarantined == 2


def test_the_plot_limit_is_a_setting(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TRENDING_MAX_PLOT_CHARS", "1000")
    csv_path = tmp_path / "wiki_movie_plots_deduped.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Release Year", "Title", "Origin/Ethnicity", "Director", "Cast",
                         "Genre", "Wiki Page", "Plot"])  # fmt: skip
        writer.writerow(["2001", "Long", "American", "", "", "drama",
                         "https://en.wikipedia.org/wiki/Long", "word " * 2_000])  # fmt: skip
    result = dg.materialize(
        [raw_datasets],
        resources={
            "datasets": DatasetsResource(paths=[str(csv_path)]),
            "lake": LakeResource(local_root=str(tmp_path / "lake")),
            "warehouse": DuckDBResource(database=str(tmp_path / "w.duckdb")),
        },
    )
    assert result.success
    listings = metadata_of(result, "raw/dataset_listings")
    assert listings["truncated"].value == {"plot: truncated to 1000 chars": 1}
    assert listings["coerced_to_null"].value == {}
