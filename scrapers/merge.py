"""One spider's files, put together again after its sources were crawled in several processes.

``python -m scrapers.crawl`` may split a spider's sources over processes (see
:func:`scrapers.crawl.plan_parts`). Each part crawls its own sources into a folder of its
own, with the four files of the landing contract (``<spider>.jsonl``, ``.stats.json``,
``.dropped.jsonl``, ``.pages.jsonl``). :func:`merge_parts` writes the spider's files from
them, so what lands is what one process crawling every source would have written:

- the feed, the drops and the crawl log are the parts' lines, part after part;
- the stats are the parts' stats added up (:func:`merge_stats`): counters are summed,
  per-source sections are side by side (a source is crawled by one part only), the crawl
  ends with the first reason that is not ``finished``, and its times span every part.

The dedup pipeline keys records by (source, id), so no duplicate can hide across parts.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

LINE_FILES = ("jsonl", "dropped.jsonl", "pages.jsonl")
# Scrapy stats that are a moment or a peak, not a count: the merged crawl takes the earliest
# start, the latest finish and the largest peak.
_EARLIEST = {"start_time"}
_LATEST = {"finish_time"}
_LARGEST = {"elapsed_seconds", "elapsed_time_seconds", "memusage/max", "memusage/startup"}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _merge_value(key: str, values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    if not present:
        return None
    if key == "finish_reason":
        return next((v for v in present if v != "finished"), present[0])
    if key in _EARLIEST:
        return min(present)
    if key in _LATEST:
        return max(present)
    if all(isinstance(v, Mapping) for v in present):
        return merge_stats(present)
    if all(_is_number(v) for v in present):
        total = max(present) if key in _LARGEST else sum(present)
        return round(total, 3) if isinstance(total, float) else total
    return present[0]  # the spider's name, the crawl date: the same in every part


def merge_stats(parts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Several parts' ``<spider>.stats.json`` objects as one (keys in first-seen order)."""
    parts = list(parts)
    keys: dict[str, None] = {}
    for part in parts:
        keys.update(dict.fromkeys(part))
    return {key: _merge_value(key, [part.get(key) for part in parts]) for key in keys}


def _write_atomically(path: Path, write: Any, like: Path) -> None:
    """Write ``path`` through a temporary file, with the permissions of ``like`` (a part's
    own file, as Scrapy made it)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        shutil.copymode(like, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def merge_parts(out: Path, spider: str, part_dirs: list[Path]) -> list[str]:
    """Write ``spider``'s files in ``out`` from its parts' folders; the problems found.

    A file no part wrote is not written. The stats are written only when every part wrote
    its own: a part that died before its stats must fail the crawl's check ("no stats
    file"), not vanish into a sum. The part folders are removed afterwards.
    """
    problems: list[str] = []
    for suffix in LINE_FILES:
        sources = [
            d / f"{spider}.{suffix}" for d in part_dirs if (d / f"{spider}.{suffix}").exists()
        ]
        if not sources:
            continue

        def concatenate(handle: Any, sources: list[Path] = sources) -> None:
            for source in sources:
                with source.open("rb") as part:
                    shutil.copyfileobj(part, handle)

        _write_atomically(out / f"{spider}.{suffix}", concatenate, sources[0])
    stats: list[dict[str, Any]] = []
    paths = [part_dir / f"{spider}.stats.json" for part_dir in part_dirs]
    for path in paths:
        if not path.exists():
            problems.append(f"{spider}: the part in {path.parent.name} wrote no stats")
            continue
        stats.append(json.loads(path.read_text(encoding="utf-8")))
    if stats and not problems:
        merged = merge_stats(stats)
        text = (json.dumps(merged, indent=2, default=str) + "\n").encode("utf-8")
        _write_atomically(out / f"{spider}.stats.json", lambda h: h.write(text), paths[0])
    for part_dir in part_dirs:
        shutil.rmtree(part_dir, ignore_errors=True)
    return problems
