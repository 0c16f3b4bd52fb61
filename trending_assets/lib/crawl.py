"""Running one crawl: the Scrapy spiders in their own process, feeds into a directory.

Scrapy runs on Twisted, whose reactor cannot be restarted inside a process, so every
crawl is a fresh ``python -m scrapers.crawl`` subprocess: the same command a person runs
by hand, and a crash there cannot take the orchestrator down with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

FEEDS = ("listings", "reviews")


class CrawlError(RuntimeError):
    """The crawl process failed or produced no feed."""


@dataclass
class CrawlOutput:
    directory: Path
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)

    def feed_path(self, feed: str) -> Path:
        return self.directory / f"{feed}.jsonl"

    def stats_path(self, feed: str) -> Path:
        return self.directory / f"{feed}.stats.json"

    def dropped_path(self, feed: str) -> Path:
        return self.directory / f"{feed}.dropped.jsonl"

    def dropped(self, feed: str) -> pd.DataFrame:
        """Items the spiders' pipeline dropped, as quarantine rows (reason, record JSON)."""
        path = self.dropped_path(feed)
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        return parse_dropped(text)


def parse_dropped(text: str) -> pd.DataFrame:
    """A ``<feed>.dropped.jsonl`` file's lines as quarantine rows (reason, record JSON)."""
    rows: list[dict[str, str]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            rows.append(
                # "duplicate: reelhub/rh-1" -> "crawl: duplicate"; the id is in the record
                {"reason": f"crawl: {str(entry['reason']).split(':', 1)[0]}",
                 "record": json.dumps(entry["record"], ensure_ascii=False)}
            )  # fmt: skip
        except (json.JSONDecodeError, KeyError, TypeError):
            rows.append({"reason": "crawl: unreadable drop record", "record": line[:2000]})
    return pd.DataFrame(rows, columns=["reason", "record"])


@contextmanager
def demo_sources(as_of: date, *, n_titles: int, seed: int) -> Iterator[dict[str, str]]:
    """Serve the project's demo catalog sites on loopback as they stood on ``as_of``."""
    from scrapers.demo_site import build_catalog, serve_demo_sites

    catalog = build_catalog(n_titles=n_titles, seed=seed)
    with serve_demo_sites(catalog, as_of=as_of) as sites:
        yield dict(sites.urls)


def run_crawl(
    sources: Mapping[str, str],
    out_dir: Path,
    *,
    crawl_date: date,
    timeout_s: int = 900,
    max_pages: int = 0,
) -> CrawlOutput:
    """Crawl ``sources`` (name -> start URL) into ``out_dir``; raise CrawlError on failure."""
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "scrapers.crawl",
        "--out", str(out_dir),
        "--date", crawl_date.isoformat(),
    ]  # fmt: skip
    if max_pages:
        command += ["--max-pages", str(max_pages)]
    command += [f"{name}={url}" for name, url in sources.items()]
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise CrawlError(f"crawl did not finish within {timeout_s}s") from exc
    if completed.returncode != 0:
        tail = "\n".join(completed.stderr.strip().splitlines()[-20:])
        raise CrawlError(f"crawl exited with {completed.returncode}:\n{tail}")

    output = CrawlOutput(out_dir)
    for feed in FEEDS:
        if not output.feed_path(feed).exists():
            raise CrawlError(f"crawl finished but wrote no {feed} feed in {out_dir}")
        stats_file = output.stats_path(feed)
        output.stats[feed] = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    return output


def read_jsonl(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Items of a JSON-lines feed, and the lines that are not JSON objects (with reasons)."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        return parse_jsonl(handle)


def parse_jsonl(lines: Iterable[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Items of JSON lines, and the lines that are not JSON objects (with reasons)."""
    items: list[dict[str, Any]] = []
    bad: list[dict[str, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append({"reason": f"line {number}: not JSON ({exc.msg})", "record": line[:2000]})
            continue
        if not isinstance(item, dict):
            bad.append({"reason": f"line {number}: not a JSON object", "record": line[:2000]})
            continue
        items.append(item)
    return pd.DataFrame(items), pd.DataFrame(bad, columns=["reason", "record"])


def summarise_stats(stats: Mapping[str, Any]) -> dict[str, Any]:
    """The crawl stats a person looks at first: pages, items, drops and errors by kind."""
    drops = {k.split("/", 1)[1]: v for k, v in stats.items() if k.startswith("drops/")}
    errors = {
        k: v
        for k, v in stats.items()
        if k.startswith(
            ("downloader/response_status_count/4", "downloader/response_status_count/5")
        )
        or k.startswith(("downloader/exception_type_count/", "retry/"))
        or k in ("log_count/ERROR", "spider_exceptions")
    }
    return {
        "pages": stats.get("response_received_count", stats.get("downloader/response_count", 0)),
        "items": stats.get("item_scraped_count", 0),
        "drops": drops,
        "errors": errors,
    }
