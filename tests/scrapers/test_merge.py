"""A spider's files put together from the parts that crawled its sources (scrapers.merge)."""

from __future__ import annotations

import json
from pathlib import Path

from scrapers.merge import merge_parts, merge_stats


def _stats(source: str, items: int, reason: str, start: str, finish: str, elapsed: float):
    return {
        "item_scraped_count": items,
        "start_time": start,
        "finish_time": finish,
        "memusage/max": 100 * items,
        "spider": "reviews",
        "finish_reason": reason,
        "elapsed_seconds": elapsed,
        "pages": {"title": items, "total": items + 1},
        "items": items,
        "drops": {"invalid": 1},
        "sources": {source: {"pages": items + 1, "items": items}},
        "source_urls": {source: f"http://{source}/"},
        "crawl_date": "2026-11-20",
    }


def test_counters_add_up_sources_sit_side_by_side_and_the_times_span_every_part() -> None:
    merged = merge_stats(
        [
            _stats("a", 3, "finished", "2026-11-20T10:00:01", "2026-11-20T10:00:09", 8.0),
            _stats("b", 5, "finished", "2026-11-20T10:00:00", "2026-11-20T10:00:07", 7.0),
        ]
    )
    assert merged["items"] == merged["item_scraped_count"] == 8
    assert merged["pages"] == {"title": 8, "total": 10}
    assert merged["drops"] == {"invalid": 2}
    assert merged["sources"] == {"a": {"pages": 4, "items": 3}, "b": {"pages": 6, "items": 5}}
    assert merged["source_urls"] == {"a": "http://a/", "b": "http://b/"}
    assert merged["start_time"] == "2026-11-20T10:00:00"
    assert merged["finish_time"] == "2026-11-20T10:00:09"
    assert merged["elapsed_seconds"] == 8.0 and merged["memusage/max"] == 500
    assert merged["spider"] == "reviews" and merged["crawl_date"] == "2026-11-20"
    assert merged["finish_reason"] == "finished"
    assert list(merged)[:3] == ["item_scraped_count", "start_time", "finish_time"]


def test_a_part_that_did_not_finish_decides_the_crawls_end() -> None:
    parts = [
        _stats("a", 1, "finished", "t0", "t1", 1.0),
        _stats("b", 1, "shutdown", "t0", "t1", 1.0),
    ]
    assert merge_stats(parts)["finish_reason"] == "shutdown"


def _part(folder: Path, source: str, items: int, stats: bool = True) -> Path:
    folder.mkdir(parents=True)
    lines = [json.dumps({"source": source, "n": n}) + "\n" for n in range(items)]
    (folder / "reviews.jsonl").write_text("".join(lines))
    (folder / "reviews.pages.jsonl").write_text(f'{{"url": "http://{source}/"}}\n')
    (folder / "reviews.dropped.jsonl").write_text("")
    if stats:
        stat = _stats(source, items, "finished", "t0", "t1", 1.0)
        (folder / "reviews.stats.json").write_text(json.dumps(stat))
    return folder


def test_the_parts_lines_land_part_after_part_and_their_folders_go(tmp_path: Path) -> None:
    parts = [
        _part(tmp_path / ".parts/reviews.0", "a", 2),
        _part(tmp_path / ".parts/reviews.1", "b", 3),
    ]
    (tmp_path / ".parts/reviews.0/reviews.jsonl").chmod(0o640)
    assert merge_parts(tmp_path, "reviews", parts) == []
    feed = (tmp_path / "reviews.jsonl").read_text().splitlines()
    assert [json.loads(line)["source"] for line in feed] == ["a", "a", "b", "b", "b"]
    assert (tmp_path / "reviews.jsonl").stat().st_mode & 0o777 == 0o640
    assert len((tmp_path / "reviews.pages.jsonl").read_text().splitlines()) == 2
    assert (tmp_path / "reviews.dropped.jsonl").read_text() == ""
    stats = json.loads((tmp_path / "reviews.stats.json").read_text())
    assert stats["items"] == 5 and set(stats["sources"]) == {"a", "b"}
    assert not any(folder.exists() for folder in parts)


def test_a_part_without_stats_leaves_no_stats_so_the_crawl_fails(tmp_path: Path) -> None:
    parts = [
        _part(tmp_path / "p0", "a", 2),
        _part(tmp_path / "p1", "b", 3, stats=False),
    ]
    problems = merge_parts(tmp_path, "reviews", parts)
    assert problems == ["reviews: the part in p1 wrote no stats"]
    assert not (tmp_path / "reviews.stats.json").exists()
    # What the parts did land is kept: the feed holds both parts' lines.
    assert len((tmp_path / "reviews.jsonl").read_text().splitlines()) == 5
