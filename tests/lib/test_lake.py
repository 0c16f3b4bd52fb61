import time
from pathlib import Path

import boto3
import pandas as pd
import pytest

from trending_assets.defs.resources import LakeResource
from trending_assets.lib.lake import LocalLake, S3Lake, read_parquet, write_parquet


def _exercise(lake) -> None:
    frame = pd.DataFrame({"title": ["Alien", "Amélie"], "year": [1979, 2001]})
    write_parquet(lake, "raw/listings/crawl_date=2026-11-20/listings.parquet", frame)
    lake.write_bytes("landing/crawl/2026-11-20/listings.jsonl", b'{"title": "Alien"}\n')
    lake.write_bytes("landing/crawl/2026-11-20/listings.jsonl", b'{"title": "Aliens"}\n')

    assert lake.exists("landing/crawl/2026-11-20/listings.jsonl")
    assert not lake.exists("landing/crawl/2026-11-20/missing.jsonl")
    assert lake.read_bytes("landing/crawl/2026-11-20/listings.jsonl") == b'{"title": "Aliens"}\n'
    pd.testing.assert_frame_equal(
        read_parquet(lake, "raw/listings/crawl_date=2026-11-20/listings.parquet"), frame
    )
    assert lake.list_keys("landing") == ["landing/crawl/2026-11-20/listings.jsonl"]
    assert lake.list_keys() == [
        "landing/crawl/2026-11-20/listings.jsonl",
        "raw/listings/crawl_date=2026-11-20/listings.parquet",
    ]
    with pytest.raises(ValueError, match="relative path"):
        lake.write_bytes("../escape.txt", b"x")
    _exercise_listing(lake)


def _exercise_listing(lake) -> None:
    """list_objects: keys, sizes, and a fingerprint that changes when an object is rewritten."""
    lake.write_bytes("landing/ext/2026-11-21/listings.jsonl", b"first\n")
    before = {o.key: o for o in lake.list_objects("landing/ext")}
    assert list(before) == ["landing/ext/2026-11-21/listings.jsonl"]
    assert before["landing/ext/2026-11-21/listings.jsonl"].size == len(b"first\n")
    assert lake.list_objects("landing/ext") == lake.list_objects(
        "landing/ext"
    )  # stable when unchanged
    assert lake.list_objects("landing/nothing-here") == []

    time.sleep(0.01)  # a different mtime locally even on coarse clocks
    lake.write_bytes("landing/ext/2026-11-21/listings.jsonl", b"second!\n")
    after = lake.list_objects("landing/ext")[0]
    assert after.size == len(b"second!\n")
    assert after.fingerprint != before["landing/ext/2026-11-21/listings.jsonl"].fingerprint
    assert [o.key for o in lake.list_objects()] == lake.list_keys()


def test_local_lake_round_trip_and_leaves_no_temp_files(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path / "lake")
    _exercise(lake)
    leftovers = [p for p in (tmp_path / "lake").rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_local_write_failure_keeps_the_previous_object(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path)
    lake.write_bytes("a/b.txt", b"old")

    with pytest.raises(TypeError):
        lake.write_bytes("a/b.txt", object())  # type: ignore[arg-type]
    assert lake.read_bytes("a/b.txt") == b"old"
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b.txt"]


def test_s3_lake_through_dagster_aws_against_moto(moto_endpoint: str) -> None:
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(
        Bucket="trending-lake"
    )
    resource = LakeResource(
        local_root="/nonexistent", s3_bucket="trending-lake", s3_prefix="lake",
        s3_endpoint_url=moto_endpoint,
    )  # fmt: skip
    lake = resource.get_lake()
    assert isinstance(lake, S3Lake)
    _exercise(lake)
    assert lake.uri("raw/x.parquet") == "s3://trending-lake/lake/raw/x.parquet"
    # Objects really are under the prefix in the bucket.
    listed = boto3.client(
        "s3", endpoint_url=moto_endpoint, region_name="us-east-1"
    ).list_objects_v2(Bucket="trending-lake")
    assert {o["Key"] for o in listed["Contents"]} == {
        "lake/landing/crawl/2026-11-20/listings.jsonl",
        "lake/landing/ext/2026-11-21/listings.jsonl",
        "lake/raw/listings/crawl_date=2026-11-20/listings.parquet",
    }


def test_lake_resource_defaults_to_local(tmp_path: Path) -> None:
    lake = LakeResource(local_root=str(tmp_path)).get_lake()
    assert isinstance(lake, LocalLake)
    assert lake.root == tmp_path.resolve()
