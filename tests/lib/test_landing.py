"""The landing area's pure logic: key layout, file checks, the cursor, quarantine, reading a day."""

import json
from pathlib import Path

import pytest

from trending_assets.lib import landing
from trending_assets.lib.lake import LocalLake

DAY = "2026-11-19"


def listing(n: int, **extra: object) -> dict:
    return {
        "source": "acme", "source_title_id": f"a-{n}", "url": f"https://acme.test/t/{n}",
        "title": f"Title {n}", "year": 2001, "title_type": "movie", "plot": "A plot.",
        "genres": ["Drama"], "original_language": "en", **extra,
    }  # fmt: skip


def review(n: int, **extra: object) -> dict:
    return {
        "source": "acme", "source_review_id": f"r-{n}", "source_title_id": "a-1",
        "author": "kim", "rating": 8, "text": f"Review {n}.", **extra,
    }  # fmt: skip


def jsonl(*records: dict) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (f"landing/acme/{DAY}/listings.jsonl", ("acme", DAY, "listings", "feed")),
        (f"landing/acme/{DAY}/reviews-part-0001.jsonl", ("acme", DAY, "reviews", "feed")),
        (f"landing/acme/{DAY}/listings.dropped.jsonl", ("acme", DAY, "listings", "dropped")),
        (f"landing/acme/{DAY}/reviews.stats.json", ("acme", DAY, "reviews", "stats")),
        (f"landing/crawl/{DAY}/listings.jsonl", ("crawl", DAY, "listings", "feed")),
    ],
)
def test_keys_in_the_layout(key: str, expected: tuple) -> None:
    parsed = landing.parse_key(key)
    assert parsed is not None and parsed.problem is None
    assert (parsed.spider, parsed.partition, parsed.feed, parsed.kind) == expected
    assert parsed.is_builtin == (parsed.spider == "crawl")


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("landing/acme/listings.jsonl", "not at landing/<spider>/<YYYY-MM-DD>/<file>"),
        ("landing/acme/2026-13-01/listings.jsonl", "is not a YYYY-MM-DD day"),
        ("landing/acme/20261119/listings.jsonl", "is not a YYYY-MM-DD day"),
        ("landing/Acme/2026-11-19/listings.jsonl", "spider name"),
        ("landing/acme/2026-11-19/titles.csv", "file name 'titles.csv'"),
        ("landing/acme/2026-11-19/listings.json", "file name"),
    ],
)
def test_keys_outside_the_layout_carry_their_problem(key: str, problem: str) -> None:
    parsed = landing.parse_key(key)
    assert parsed is not None and problem in (parsed.problem or "")


@pytest.mark.parametrize(
    "key",
    [
        "raw/listings/x.parquet",
        "landing/_quarantine/acme/x.reason.json",
        f"landing/acme/{DAY}/.listings.jsonl.tmp",
    ],
)
def test_ignored_keys(key: str) -> None:
    assert landing.parse_key(key) is None


def test_required_fields_come_from_the_pandera_models() -> None:
    assert landing.required_fields("listings") == (
        "source",
        "source_title_id",
        "title",
        "title_type",
        "genres",
    )
    assert landing.required_fields("reviews") == (
        "source",
        "source_review_id",
        "source_title_id",
        "text",
    )


def _inspect(name: str, data: bytes, **kwargs):
    return landing.inspect_file(landing.parse_key(f"landing/acme/{DAY}/{name}"), data, **kwargs)


def test_a_good_file_passes_and_bad_values_are_left_to_row_validation() -> None:
    result = _inspect(
        "listings.jsonl", jsonl(listing(1), listing(2, year=99999), listing(3, crawl_date=DAY))
    )
    assert result.ok and result.records == 3 and result.size > 0 and len(result.sha256) == 64


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("listings.jsonl", jsonl(listing(1)) + b'{"source": "acme", "tit', "line 2: not JSON"),
        ("listings.jsonl", jsonl(listing(1)) + b"[1, 2]\n", "line 2: not a JSON object"),
        ("listings.jsonl", b"\n\n", "no records"),
        (
            "listings.jsonl",
            jsonl(review(1)),
            "no record has the listings field(s) title, title_type, genres",
        ),
        (
            "reviews.jsonl",
            jsonl(review(1, crawl_date="2026-11-18")),
            "crawl_date '2026-11-18' is not the folder's day",
        ),
        ("listings.jsonl", b'{"title": "caf\xe9"}\n', "not UTF-8"),
        ("listings.stats.json", b"[1]", "stats file is not a JSON object"),
    ],
)
def test_malformed_files_are_named_with_their_reason(name: str, data: bytes, problem: str) -> None:
    result = _inspect(name, data)
    assert not result.ok and problem in result.problem


def test_a_day_outside_the_partitions_is_malformed() -> None:
    result = _inspect("listings.jsonl", jsonl(listing(1)), partition_ok=lambda day: day != DAY)
    assert result.problem.startswith(f"day {DAY} is outside the crawl partitions (")
    assert "TRENDING_PARTITIONS_START" in result.problem


def test_scan_reads_new_files_once_and_keeps_a_bounded_cursor(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path)
    lake.write_bytes(f"landing/acme/{DAY}/listings.jsonl", jsonl(listing(1)))
    lake.write_bytes(f"landing/acme/{DAY}/listings.stats.json", b'{"item_scraped_count": 1}')
    lake.write_bytes(f"landing/acme/{DAY}/reviews.jsonl", b"garbage\n")
    lake.write_bytes(
        f"landing/crawl/{DAY}/listings.jsonl", jsonl(listing(9))
    )  # the built-in crawl's

    first = landing.scan_landing(lake, landing.LandingCursor())
    assert [i.key for i in first.accepted] == [f"landing/acme/{DAY}/listings.jsonl"]
    assert [i.key for i in first.sidecars] == [f"landing/acme/{DAY}/listings.stats.json"]
    assert [i.key for i in first.malformed] == [f"landing/acme/{DAY}/reviews.jsonl"]
    assert first.builtin == 1 and list(first.partitions()) == [DAY]

    # The cursor survives a round trip through JSON; nothing is new on the next scan.
    cursor = landing.LandingCursor.from_json(first.cursor.to_json())
    second = landing.scan_landing(lake, cursor)
    assert (second.accepted, second.malformed, second.unchanged) == ([], [], 3)

    # A rewritten file is new again; a removed file leaves the cursor.
    lake.write_bytes(f"landing/acme/{DAY}/reviews.jsonl", jsonl(review(1)))
    (tmp_path / "landing" / "acme" / DAY / "listings.stats.json").unlink()
    third = landing.scan_landing(lake, second.cursor)
    assert [i.key for i in third.accepted] == [f"landing/acme/{DAY}/reviews.jsonl"]
    assert sorted(third.cursor.seen) == [
        f"landing/acme/{DAY}/listings.jsonl",
        f"landing/acme/{DAY}/reviews.jsonl",
    ]

    # Bounded: past max_entries the oldest days are forgotten first.
    lake.write_bytes("landing/acme/2026-11-01/listings.jsonl", jsonl(listing(5)))
    capped = landing.scan_landing(lake, third.cursor, max_entries=2)
    assert sorted(capped.cursor.seen) == sorted(third.cursor.seen)


def test_scan_reads_at_most_max_new_files_per_pass(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path)
    for n in range(5):
        lake.write_bytes(f"landing/acme/{DAY}/listings-{n}.jsonl", jsonl(listing(n)))
    first = landing.scan_landing(lake, landing.LandingCursor(), max_new_files=3)
    second = landing.scan_landing(lake, first.cursor, max_new_files=3)
    assert len(first.accepted) == 3 and len(second.accepted) == 2 and second.unchanged == 3


def test_a_garbled_cursor_starts_over() -> None:
    for raw in (None, "", "not json", '{"v": 99, "seen": {}}', "[1]"):
        assert landing.LandingCursor.from_json(raw).seen == {}


def test_quarantine_writes_the_reason_next_to_a_pointer(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path)
    lake.write_bytes(f"landing/acme/{DAY}/reviews.jsonl", b"garbage\n")
    [item] = landing.scan_landing(lake, landing.LandingCursor()).malformed
    key = landing.quarantine(lake, item)
    assert key.startswith(f"landing/_quarantine/acme/{DAY}/reviews.jsonl.") and key.endswith(
        ".reason.json"
    )
    record = json.loads(lake.read_bytes(key))
    assert record["key"] == f"landing/acme/{DAY}/reviews.jsonl"
    assert (
        record["reason"].startswith("line 1: not JSON")
        and record["sha256"] == item.inspection.sha256
    )
    assert lake.exists(f"landing/acme/{DAY}/reviews.jsonl")  # the lake keeps what landed
    # the quarantine folder itself is never scanned as landed files
    assert landing.scan_landing(lake, landing.LandingCursor()).counts()["malformed"] == 1


def test_run_keys_depend_on_day_and_content_only() -> None:
    assert landing.run_key(DAY, ["b", "a"]) == landing.run_key(DAY, ["a", "b"])
    assert landing.run_key(DAY, ["a"]) != landing.run_key("2026-11-20", ["a"])
    assert landing.run_key(DAY, ["a"]) != landing.run_key(DAY, ["a", "b"])


def test_loading_a_day_merges_spiders_and_quarantines_bad_files(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path)
    lake.write_bytes(f"landing/crawl/{DAY}/listings.jsonl", jsonl(listing(1)) + b"not json\n")
    lake.write_bytes(
        f"landing/crawl/{DAY}/listings.dropped.jsonl", b'{"reason": "duplicate: x", "record": {}}\n'
    )
    lake.write_bytes(f"landing/crawl/{DAY}/listings.stats.json", b'{"item_scraped_count": 1}')
    lake.write_bytes(f"landing/acme/{DAY}/listings.jsonl", jsonl(listing(2), listing(3)))
    lake.write_bytes(
        f"landing/acme/{DAY}/listings-copy.jsonl", jsonl(listing(2), listing(3))
    )  # same content
    lake.write_bytes(
        f"landing/acme/{DAY}/listings.stats.json", b'{"item_scraped_count": 2, "note": "x"}'
    )
    lake.write_bytes(f"landing/zeta/{DAY}/listings.jsonl", b"[]\n")  # malformed
    lake.write_bytes("landing/acme/2026-11-20/listings.jsonl", jsonl(listing(7)))  # another day
    lake.write_bytes(f"landing/acme/{DAY}/reviews.jsonl", jsonl(review(1)))  # another feed

    feed = landing.load_partition_feed(lake, DAY, "listings")
    assert feed.rows["source_title_id"].tolist() == ["a-1", "a-2", "a-3"]  # built-in crawl first
    assert feed.spiders == ["acme", "crawl"]
    assert feed.stats == {"item_scraped_count": 3}
    reasons = feed.rejects["reason"].tolist()
    assert any(r.startswith("line 2: not JSON") for r in reasons)
    assert "crawl: duplicate" in reasons
    assert any(r.startswith("landing file: line 1: not a JSON object") for r in reasons)
    assert len(reasons) == 3
    skipped = [f for f in feed.files if "skipped" in f]
    assert len(skipped) == 1 and "listings" in skipped[0]["key"]  # one of the two identical files

    without_builtin = landing.load_partition_feed(lake, DAY, "listings", include_builtin=False)
    assert without_builtin.rows["source_title_id"].tolist() == ["a-2", "a-3"]
