"""Running one crawl: the Scrapy spiders in their own process, feeds into a directory.

Scrapy runs on Twisted, whose reactor cannot be restarted inside a process, so every
crawl is a fresh ``python -m scrapers.crawl`` subprocess: the same command a person runs
by hand, and a crash there cannot take the orchestrator down with it.

The crawl's exit status (docs/contracts.md, "Crawl landing area"): 0 a usable crawl, 3 a
completed crawl in which one or more sources yielded no title (every file is written;
:class:`CrawlOutput` names the sources and causes, and the blocking check on
``raw/listings`` fails on them), anything else a hard failure (:class:`CrawlError`).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from trending_assets.lib.coercion import JsonConstant

FEEDS = ("listings", "reviews")
# `python -m scrapers.crawl` exits with this when the crawl completed but a source
# yielded no title: every file is written, and stderr names the sources.
EXIT_EMPTY_SOURCES = 3
_EMPTY_SOURCE_LINE = re.compile(
    r"^crawl failed: (?P<spider>[\w.-]+): source (?P<source>\S+) yielded 0 titles"
    r"(?: \((?P<cause>.*)\))?\s*$"
)
# The per-source counters of a crawl's stats file (`stats["sources"][name]`), in the
# order the summary table shows them.
SOURCE_COUNTS = ("pages", "titles", "reviews", "listing_pages", "skipped", "empty", "errors")
SOURCE_SUMMARY_COLUMNS = ["spider", "source", *SOURCE_COUNTS, "empty_cause"]
# A fetched page's recorded outcome (the crawl log's `outcome`).
PAGE_OUTCOMES = (
    "title", "reviews", "listing", "skipped", "empty", "error", "sitemap", "robots", "other",
)  # fmt: skip

Sources = Mapping[str, str] | Sequence[str]


class CrawlError(RuntimeError):
    """The crawl process failed or produced no feed."""


@dataclass
class CrawlOutput:
    directory: Path
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    returncode: int = 0
    # Sources that yielded 0 titles (exit status 3), with the cause the crawler gave.
    empty_sources: list[str] = field(default_factory=list)
    empty_causes: dict[str, str] = field(default_factory=dict)
    # The crawler's own `crawl failed: ...` lines (stderr), as it printed them.
    failures: list[str] = field(default_factory=list)

    def feed_path(self, feed: str) -> Path:
        return self.directory / f"{feed}.jsonl"

    def stats_path(self, feed: str) -> Path:
        return self.directory / f"{feed}.stats.json"

    def dropped_path(self, feed: str) -> Path:
        return self.directory / f"{feed}.dropped.jsonl"

    def pages_path(self, feed: str) -> Path:
        """The crawl log: one JSON line per fetched page with its outcome."""
        return self.directory / f"{feed}.pages.jsonl"

    def dropped(self, feed: str) -> pd.DataFrame:
        """Items the spiders' pipeline dropped, as quarantine rows (reason, record JSON)."""
        path = self.dropped_path(feed)
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        return parse_dropped(text)

    def outcomes(self, feed: str) -> dict[str, int]:
        """Fetched pages by outcome: the stats' ``outcomes``, else counted from the crawl log."""
        counted = self.stats.get(feed, {}).get("outcomes")
        if isinstance(counted, Mapping) and counted:
            return {str(k): int(v) for k, v in sorted(counted.items())}
        path = self.pages_path(feed)
        if not path.exists():
            return {}
        outcomes: Counter[str] = Counter()
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    page = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(page, dict):
                    outcomes[str(page.get("outcome") or "other")] += 1
        return dict(sorted(outcomes.items()))

    def missing_fields(self, feed: str) -> dict[str, int]:
        counted = self.stats.get(feed, {}).get("missing_fields")
        if not isinstance(counted, Mapping):
            return {}
        return {str(k): int(v) for k, v in sorted(counted.items())}


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


def source_arguments(sources: Sources) -> list[str]:
    """The crawl's SOURCE arguments: ``name=url`` pairs of a mapping, or entries as given.

    An entry is ``name=http(s)://...`` (the site file ``<name>.yml`` applies when there is
    one), a bare site name (its site file holds the start URLs) or a bare URL (zero-config,
    named after its host by the crawler).
    """
    if isinstance(sources, Mapping):
        return [f"{name}={url}" for name, url in sources.items()]
    return [entry.strip() for entry in sources if entry.strip()]


def source_name(entry: str) -> str | None:
    """The source name an entry declares; None for a bare URL (the crawler names it)."""
    name, sep, _ = entry.partition("=")
    if sep and "://" not in name:
        return name.strip()
    return None if "://" in entry else entry.strip()


def parse_empty_sources(stderr: str) -> dict[str, str]:
    """``crawl failed: listings: source NAME yielded 0 titles (cause)`` lines: name -> cause."""
    found: dict[str, str] = {}
    for line in stderr.splitlines():
        match = _EMPTY_SOURCE_LINE.match(line.strip())
        if match:
            found.setdefault(match["source"], (match["cause"] or "").strip())
    return found


def run_crawl(
    sources: Sources,
    out_dir: Path,
    *,
    crawl_date: date,
    timeout_s: int = 900,
    max_pages: int = 0,
    sites_dir: Path | str | None = None,
    on_progress: Callable[[str, bool], Any] | None = None,
    previous: tuple[Path, date] | None = None,
) -> CrawlOutput:
    """Crawl ``sources`` into ``out_dir``.

    ``previous`` (a folder with an earlier crawl's feeds and page logs, and its day): title
    pages that its sitemap says did not change since are carried forward, not fetched
    (scrapers/carry.py; :func:`fetch_previous_crawl` finds and copies one).

    ``on_progress(text, final)`` receives the crawl's ``crawl progress:`` lines while it
    runs (``listings: 150 pages, 140 items, 2 dropped``; ``final`` on a spider's last one).

    ``sources`` is a mapping name -> start URL or a list of entries (see
    :func:`source_arguments`). Exit status 3 (a completed crawl in which some source
    yielded no title) returns normally, with ``empty_sources`` set; every other failure
    raises :class:`CrawlError`.
    """
    arguments = source_arguments(sources)
    if not arguments:
        raise CrawlError("no sources to crawl")
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "scrapers.crawl",
        "--out", str(out_dir),
        "--date", crawl_date.isoformat(),
    ]  # fmt: skip
    if max_pages:
        command += ["--max-pages", str(max_pages)]
    if sites_dir:
        command += ["--sites-dir", str(sites_dir)]
    if previous is not None:
        command += ["--previous", str(previous[0]), "--previous-date", previous[1].isoformat()]
    command += arguments
    completed = _run_streaming(command, timeout_s=timeout_s, on_progress=on_progress)
    if completed.returncode not in (0, EXIT_EMPTY_SOURCES):
        tail = "\n".join(completed.stderr.strip().splitlines()[-20:])
        raise CrawlError(f"crawl exited with {completed.returncode}:\n{tail}")

    output = CrawlOutput(
        out_dir,
        returncode=completed.returncode,
        failures=[
            line.strip()
            for line in completed.stderr.splitlines()
            if line.strip().startswith("crawl failed:")
        ],
    )
    for feed in FEEDS:
        if not output.feed_path(feed).exists():
            raise CrawlError(f"crawl finished but wrote no {feed} feed in {out_dir}")
        stats_file = output.stats_path(feed)
        output.stats[feed] = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    if completed.returncode == EXIT_EMPTY_SOURCES:
        output.empty_causes = parse_empty_sources(completed.stderr)
        if not output.empty_causes:  # the status alone: the sources come from the stats
            summary = source_summary(output.stats)
            listed = summary[summary["spider"] == "listings"]
            output.empty_causes = {
                str(row.source): str(row.empty_cause)
                for row in listed.itertuples()
                if row.titles == 0
            }
        output.empty_sources = sorted(output.empty_causes)
    return output


# What a crawl needs of the previous one to carry unchanged pages forward.
CARRY_FILES = tuple(f"{feed}{suffix}" for feed in FEEDS for suffix in (".jsonl", ".pages.jsonl"))


def previous_crawl_day(keys: Iterable[str], prefix: str, day: date) -> date | None:
    """The latest day before ``day`` whose folder ``<prefix>/<YYYY-MM-DD>/`` holds every
    file of :data:`CARRY_FILES`, from a listing of lake keys."""
    files: dict[date, set[str]] = {}
    head = prefix.rstrip("/") + "/"
    for key in keys:
        if not key.startswith(head):
            continue
        folder, _, name = key[len(head) :].partition("/")
        try:
            landed = date.fromisoformat(folder)
        except ValueError:
            continue
        if landed < day and "/" not in name:
            files.setdefault(landed, set()).add(name)
    complete = [landed for landed, names in files.items() if set(CARRY_FILES) <= names]
    return max(complete, default=None)


def fetch_previous_crawl(
    read_bytes: Callable[[str], bytes], keys: Iterable[str], prefix: str, day: date, into: Path
) -> tuple[Path, date] | None:
    """Copy the latest complete crawl before ``day`` (:func:`previous_crawl_day`) into
    ``into``: the ``previous`` argument of :func:`run_crawl`, or ``None`` if there is none."""
    landed = previous_crawl_day(keys, prefix, day)
    if landed is None:
        return None
    into.mkdir(parents=True, exist_ok=True)
    for name in CARRY_FILES:
        (into / name).write_bytes(read_bytes(f"{prefix.rstrip('/')}/{landed}/{name}"))
    return into, landed


PROGRESS_PREFIX = "crawl progress: "


def _run_streaming(
    command: list[str], *, timeout_s: int, on_progress: Callable[[str, bool], Any] | None
) -> subprocess.CompletedProcess[str]:
    """Run the crawl, reading its stderr (stdout merged in) line by line as it comes, so
    progress lines are passed on while it runs; killed after ``timeout_s``."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        process.kill()

    timer = threading.Timer(timeout_s, kill)
    timer.daemon = True
    timer.start()
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            at = line.find(PROGRESS_PREFIX)
            if on_progress is not None and at >= 0:
                text = line[at + len(PROGRESS_PREFIX) :].strip()
                on_progress(text, text.endswith(")"))  # "(finished)": a spider's last line
        returncode = process.wait()
    finally:
        timer.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    if timed_out.is_set():
        raise CrawlError(f"crawl did not finish within {timeout_s}s")
    return subprocess.CompletedProcess(command, returncode, "", "".join(lines))


def _count(counts: Mapping[str, Any], key: str) -> int:
    value = counts.get(key)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def describe_empty(row: Mapping[str, Any]) -> str:
    """Why a source yielded no title, from its own page counts (when the crawler gave none)."""
    if not row.get("pages"):
        errors = row.get("errors") or 0
        return f"no page fetched ({errors} error(s))" if errors else "no page fetched"
    return (
        f"{row['pages']} page(s) fetched, none a title page: {row.get('listing_pages', 0)} "
        f"listing, {row.get('skipped', 0)} skipped, {row.get('empty', 0)} empty extraction, "
        f"{row.get('errors', 0)} error(s)"
    )


def source_summary(
    stats: Mapping[str, Mapping[str, Any]],
    *,
    sources: Iterable[str] = (),
    empty_causes: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per (spider, source): the per-source counts of the crawl's stats files.

    ``sources`` are names that must have a row even when the crawler recorded nothing
    for them (a source that fetched no page). For the listings spider, a source with
    0 titles gets an ``empty_cause``: the crawler's own (``empty_causes``), else one
    read from its counts. Older stats files without ``titles`` / ``reviews`` count
    their ``items`` instead.
    """
    causes = dict(empty_causes or {})
    expected = set(sources) | set(causes)
    rows: list[dict[str, Any]] = []
    for spider in FEEDS:
        spider_stats = stats.get(spider) or {}
        per_source = spider_stats.get("sources")
        per_source = per_source if isinstance(per_source, Mapping) else {}
        if not spider_stats and not expected:
            continue
        for name in sorted(set(per_source) | expected):
            counts = per_source.get(name)
            counts = counts if isinstance(counts, Mapping) else {}
            row: dict[str, Any] = {"spider": spider, "source": str(name)}
            for key in SOURCE_COUNTS:
                row[key] = _count(counts, key)
            if "pages" not in counts:  # counted per outcome only
                row["pages"] = sum(_count(counts, outcome) for outcome in PAGE_OUTCOMES)
            if "titles" not in counts and spider == "listings":
                row["titles"] = _count(counts, "items")
            if "reviews" not in counts and spider == "reviews":
                row["reviews"] = _count(counts, "items")
            row["empty_cause"] = None
            if spider == "listings" and row["titles"] == 0:
                row["empty_cause"] = causes.get(name) or describe_empty(row)
            rows.append(row)
    frame = pd.DataFrame(rows, columns=SOURCE_SUMMARY_COLUMNS)
    for key in SOURCE_COUNTS:
        frame[key] = frame[key].astype("int64")
    return frame


def source_summary_markdown(summary: pd.DataFrame, spider: str = "listings") -> str:
    """The per-source table a person reads in the asset's metadata."""
    rows = summary[summary["spider"] == spider]
    if rows.empty:
        return "_no crawled source_"
    headers = [
        "source", "pages", "titles", "reviews", "listing pages", "skipped", "empty", "errors",
    ]  # fmt: skip
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows.itertuples():
        cells = [str(row.source)] + [str(getattr(row, key)) for key in SOURCE_COUNTS]
        lines.append("| " + " | ".join(cells) + " |")
    empty = rows[rows["titles"] == 0]
    for row in empty.itertuples():
        lines.append(f"\n**{row.source} yielded 0 titles**: {row.empty_cause}")
    return "\n".join(lines)


def read_jsonl(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Items of a JSON-lines feed, and the lines that are not JSON objects (with reasons)."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        return parse_jsonl(handle)


def parse_jsonl(lines: Iterable[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Items of JSON lines, and the lines that are not JSON objects (with reasons).

    A ``NaN``, ``Infinity`` or ``-Infinity`` literal stays a :class:`JsonConstant`: pandas
    would make it indistinguishable from an absent value, and the ingest step rejects it
    with a reason instead (``lib/coercion.py``)."""
    items: list[dict[str, Any]] = []
    bad: list[dict[str, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line, parse_constant=JsonConstant)
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
        # Title pages not fetched: unchanged since the previous crawl (scrapers/carry.py).
        "carried_pages": stats.get("carry/pages", 0),
        "items": stats.get("item_scraped_count", 0),
        "drops": drops,
        "errors": errors,
    }


# --- verdicts on the stored per-source summaries (raw.crawl_sources) --------------------

# A source whose titles fell below this share of its previous crawl's count raises a warning.
YIELD_DROP_RATIO = 0.5


def crawl_day_to_check(summary: pd.DataFrame, preferred: date | str | None = None) -> date | None:
    """The crawl day a check looks at: ``preferred`` (the run's partition) when it was
    crawled, else the most recently crawled day (latest ``crawled_at``)."""
    if summary.empty:
        return None
    days = pd.to_datetime(summary["crawl_date"]).dt.date
    if preferred is not None:
        wanted = date.fromisoformat(str(preferred)[:10])
        if (days == wanted).any():
            return wanted
    if "crawled_at" in summary and summary["crawled_at"].notna().any():
        stamps = pd.to_datetime(summary["crawled_at"]).reset_index(drop=True)
        return days.iloc[int(stamps.idxmax())]
    return max(days)


def _listings_rows(summary: pd.DataFrame) -> pd.DataFrame:
    rows = summary[summary["spider"] == "listings"].copy()
    rows["crawl_date"] = pd.to_datetime(rows["crawl_date"]).dt.date
    return rows


def empty_sources_on(summary: pd.DataFrame, day: date) -> pd.DataFrame:
    """The listings spider's sources that yielded 0 titles on ``day`` (source, cause, counts)."""
    rows = _listings_rows(summary)
    rows = rows[(rows["crawl_date"] == day) & (rows["titles"] == 0)]
    return rows.sort_values("source").reset_index(drop=True)


def yield_drops(
    summary: pd.DataFrame, day: date, *, min_ratio: float = YIELD_DROP_RATIO
) -> pd.DataFrame:
    """Sources whose titles on ``day`` fell below ``min_ratio`` of their previous crawl day's.

    Columns: source, previous_day, before, after, ratio. A source crawled for the first
    time, or whose previous crawl yielded nothing, has nothing to fall from.
    """
    rows = _listings_rows(summary)
    current = rows[rows["crawl_date"] == day]
    earlier = rows[rows["crawl_date"] < day].sort_values("crawl_date")
    drops: list[dict[str, Any]] = []
    for row in current.sort_values("source").itertuples():
        history = earlier[earlier["source"] == row.source]
        if history.empty:
            continue
        previous = history.iloc[-1]
        before, after = int(previous["titles"]), int(row.titles)
        if before > 0 and after < min_ratio * before:
            drops.append(
                {
                    "source": row.source,
                    "previous_day": previous["crawl_date"].isoformat(),
                    "before": before,
                    "after": after,
                    "ratio": round(after / before, 3),
                }
            )
    return pd.DataFrame(drops, columns=["source", "previous_day", "before", "after", "ratio"])
