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

from trending_assets.defs.ingest.assets import raw_api_releases, raw_datasets
from trending_assets.defs.ingest.checks import (
    raw_api_releases_check,
    raw_dataset_listings_check,
    raw_dataset_reviews_check,
)
from trending_assets.defs.resources import DatasetsResource, LakeResource, TmdbApiResource


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
