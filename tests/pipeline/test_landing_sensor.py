"""The landing sensor on a real Dagster instance: ticks, restarts, quarantine, and the run it requests."""

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from trending_assets.defs.automation import landing as landing_defs
from trending_assets.defs.automation.landing import LANDING_FILES_TAG, landing_sensor
from trending_assets.defs.resources import LakeResource
from trending_assets.lib.lake import LocalLake

DAY = "2026-11-19"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def jsonl(*records: dict) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


LISTINGS = jsonl(
    {"source": "acme", "source_title_id": "a-1", "url": "https://acme.test/t/1", "title": "Hollow House",
     "year": 2019, "title_type": "movie", "plot": "A house and its ghosts.", "genres": ["Horror"],
     "original_language": "en"},
    {"source": "acme", "source_title_id": "a-2", "url": "https://acme.test/t/2", "title": "Island Life",
     "year": 2024, "title_type": "tv", "plot": "A reality show.", "genres": ["Reality"],
     "original_language": "en"},
)  # fmt: skip
REVIEWS = jsonl(
    {"source": "acme", "source_review_id": "r-1", "source_title_id": "a-1", "author": "kim",
     "rating": 9, "text": "Scary and smart."},
    {"source": "acme", "source_review_id": "r-2", "source_title_id": "a-1", "author": "lee",
     "rating": 11, "text": "Off the scale."},  # a bad value: quarantined as a row, not the file
)  # fmt: skip


@pytest.fixture
def lake_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(landing_defs, "_now", lambda: NOW)
    monkeypatch.setenv("TRENDING_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data" / "lake"


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def tick(instance: dg.DagsterInstance, root: Path, cursor: str | None = None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        sensor_name="landing_sensor",
        resources={"lake": LakeResource(local_root=str(root))},
    )
    return landing_sensor(context)


def test_a_new_file_requests_its_day_once_across_ticks_and_restarts(
    instance, lake_root: Path
) -> None:
    lake = LocalLake(lake_root)
    lake.write_bytes(f"landing/acme/{DAY}/listings.jsonl", LISTINGS)

    first = tick(instance, lake_root)
    [request] = first.run_requests
    assert request.partition_key == DAY
    assert request.run_config == {"ops": {"raw_crawl": {"config": {"source": "landing"}}}}
    assert request.run_key.startswith(f"landing:{DAY}:")
    assert request.job_name in (None, "daily_crawl_job")

    # The same file on the next tick: nothing. A restart is a new context with the stored cursor.
    again = tick(instance, lake_root, cursor=first.cursor)
    assert not again.run_requests and "runs_requested 0" in again.skip_reason.skip_message
    restarted = tick(instance, lake_root, cursor=json.loads(json.dumps(first.cursor)))
    assert not restarted.run_requests

    # A second file of the same day and one of another day: one run per day, only for them.
    lake.write_bytes(f"landing/acme/{DAY}/reviews.jsonl", REVIEWS)
    lake.write_bytes("landing/other_spider/2026-11-18/listings-part-1.jsonl", LISTINGS)
    later = tick(instance, lake_root, cursor=restarted.cursor)
    assert sorted(r.partition_key for r in later.run_requests) == ["2026-11-18", DAY]
    day_request = next(r for r in later.run_requests if r.partition_key == DAY)
    assert len(day_request.tags[LANDING_FILES_TAG].split(",")) == 1  # only the new reviews file
    assert day_request.run_key != request.run_key


def test_the_same_content_never_triggers_twice_even_after_a_cursor_reset(
    instance, lake_root: Path
) -> None:
    lake = LocalLake(lake_root)
    lake.write_bytes(f"landing/acme/{DAY}/listings.jsonl", LISTINGS)
    [request] = tick(instance, lake_root).run_requests
    # What the daemon does with a request: a run tagged with its run key and the sensor's name.
    instance.create_run_for_job(
        dg.GraphDefinition(name="noop").to_job(),
        tags={
            **request.tags,
            "dagster/run_key": request.run_key,
            "dagster/sensor_name": "landing_sensor",
        },
    )
    # Cursor lost: the file is read again, and the instance says it was already requested.
    reset = tick(instance, lake_root, cursor=None)
    assert not reset.run_requests
    assert "already_ingested 1" in reset.skip_reason.skip_message


def test_a_malformed_file_is_quarantined_with_its_reason_and_starts_nothing(
    instance, lake_root: Path
) -> None:
    lake = LocalLake(lake_root)
    lake.write_bytes(f"landing/acme/{DAY}/reviews.jsonl", REVIEWS[:40])  # a truncated upload
    lake.write_bytes(f"landing/acme/{DAY}/posters.zip", b"PK\x03\x04")

    result = tick(instance, lake_root)
    assert not result.run_requests
    assert "malformed 2" in result.skip_reason.skip_message
    reasons = {
        json.loads(lake.read_bytes(k))["key"]: json.loads(lake.read_bytes(k))["reason"]
        for k in lake.list_keys("landing/_quarantine")
    }
    assert reasons[f"landing/acme/{DAY}/reviews.jsonl"].startswith("line 1: not JSON")
    assert "file name 'posters.zip'" in reasons[f"landing/acme/{DAY}/posters.zip"]
    # The feed's asset shows the quarantined file (the zip has no feed, so only the log names it).
    [observation] = result.asset_events
    assert observation.asset_key == dg.AssetKey(["raw", "reviews"]) and observation.partition == DAY
    assert (
        observation.metadata["landing_quarantined_file"].value
        == f"landing/acme/{DAY}/reviews.jsonl"
    )

    # Seen once: not quarantined again. Re-uploaded whole: ingested.
    assert "malformed 0" in tick(instance, lake_root, cursor=result.cursor).skip_reason.skip_message
    lake.write_bytes(f"landing/acme/{DAY}/reviews.jsonl", REVIEWS)
    [request] = tick(instance, lake_root, cursor=result.cursor).run_requests
    assert request.partition_key == DAY


def test_a_day_outside_the_partitions_is_quarantined(instance, lake_root: Path) -> None:
    LocalLake(lake_root).write_bytes("landing/acme/2020-01-01/listings.jsonl", LISTINGS)
    result = tick(instance, lake_root)
    assert not result.run_requests
    [observation] = result.asset_events
    assert observation.partition is None
    assert "outside the crawl partitions" in observation.metadata["reason"].value


def test_the_requested_run_ingests_the_landed_files_into_the_warehouse(
    instance, lake_root: Path
) -> None:
    lake = LocalLake(lake_root)
    lake.write_bytes(f"landing/acme/{DAY}/listings.jsonl", LISTINGS)
    lake.write_bytes(f"landing/acme/{DAY}/reviews.jsonl", REVIEWS)
    lake.write_bytes(
        f"landing/acme/{DAY}/reviews.dropped.jsonl", b'{"reason": "no text: r-3", "record": {}}\n'
    )
    lake.write_bytes(f"landing/zeta/{DAY}/listings.jsonl", b'{"source": "zeta"}\n{broken\n')
    result = tick(instance, lake_root)
    [request] = result.run_requests
    assert len(request.tags[LANDING_FILES_TAG].split(",")) == 2

    from trending_assets.definitions import defs  # resources from TRENDING_DATA_DIR (set above)

    job = defs().resolve_job_def("daily_crawl_job")
    run = job.execute_in_process(
        instance=instance,
        partition_key=request.partition_key,
        run_config=request.run_config,
        tags={
            **request.tags,
            "dagster/run_key": request.run_key,
            "dagster/sensor_name": "landing_sensor",
        },
    )
    assert run.success
    assert all(check.passed for check in run.get_asset_check_evaluations())
    materialised = {e.asset_key.to_user_string(): e for e in run.get_asset_materialization_events()}
    listings_meta = materialised["raw/listings"].materialization.metadata
    assert listings_meta["source"].value == "landing"
    assert listings_meta["dagster/row_count"].value == 2
    assert listings_meta["landed_spiders"].value == ["acme"]

    with duckdb.connect(str(lake_root.parent / "warehouse.duckdb"), read_only=True) as con:
        titles = con.execute(
            "select title, crawl_date::varchar from raw.listings order by title"
        ).fetchall()
        ratings = con.execute("select source_review_id, rating from raw.reviews").fetchall()
        quarantined = con.execute(
            "select asset, reason from raw.quarantine order by asset, reason"
        ).fetchall()
    assert titles == [("Hollow House", DAY), ("Island Life", DAY)]
    assert ratings == [("r-1", 9)]
    assert ("raw/reviews", "crawl: no text") in quarantined
    assert any(a == "raw/reviews" and "rating" in r for a, r in quarantined)
    assert any(
        a == "raw/listings" and r.startswith("landing file: line 2: not JSON")
        for a, r in quarantined
    )

    # The run exists now: after a cursor reset the sensor requests nothing for these files.
    assert not tick(instance, lake_root).run_requests


def test_the_daily_crawl_also_ingests_what_external_crawlers_landed(tmp_path: Path) -> None:
    """source: crawl (the schedule's run): the demo crawl plus a landed file of the same day."""
    from trending_assets.defs.ingest.assets import raw_crawl
    from trending_assets.defs.resources import CrawlerResource, WarehouseResource

    root = tmp_path / "lake"
    LocalLake(root).write_bytes(f"landing/acme/{DAY}/listings.jsonl", LISTINGS)
    warehouse = tmp_path / "warehouse.duckdb"
    result = dg.materialize(
        [raw_crawl],
        partition_key=DAY,
        resources={
            "crawler": CrawlerResource(demo_titles=40, timeout_s=300),
            "lake": LakeResource(local_root=str(root)),
            "warehouse": WarehouseResource(database=str(warehouse)),
        },
    )
    assert result.success
    meta = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert meta["raw/listings"]["source"].value == "crawl"
    assert meta["raw/listings"]["crawl_pages"].value > 0
    assert [f["key"] for f in meta["raw/listings"]["landed_files"].value] == [
        f"landing/acme/{DAY}/listings.jsonl"
    ]
    assert (root / "landing" / "crawl" / DAY / "listings.jsonl").exists()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        by_source = dict(
            con.execute("select source, count(*) from raw.listings group by source").fetchall()
        )
    assert by_source.pop("acme") == 2
    assert by_source and all(n > 0 for n in by_source.values())  # the demo sites' rows
