"""One daily crawl: ``python -m scrapers.crawl --out DIR --date YYYY-MM-DD SOURCE ...``.

A SOURCE is ``name=URL`` (the site file ``<name>.yml`` applies if there is one), a bare
site name with a site file, or a bare URL (zero-config discovery). Runs the ``listings``
and ``reviews`` spiders (see ``--processes`` below) and lands ``<spider>.jsonl`` (the feed),
``<spider>.stats.json``, ``<spider>.dropped.jsonl`` and ``<spider>.pages.jsonl`` (the
crawl log: one outcome per fetched page) in DIR (the crawl landing contract in
docs/contracts.md).

Scrapy runs a process's spiders on one thread, so on a machine with more than one CPU
each spider gets its own process (``--processes``, default ``auto``: two per usable CPU):
the spiders' parsing then runs side by side instead of taking turns. With processes to
spare and more than one source, a spider's sources are dealt out over several processes,
each landing in a folder of its own under ``DIR/.parts``, and the spider's files are then
merged from them (:mod:`scrapers.merge`). The ``reviews`` spider reads twice the pages
the ``listings`` spider does, so split by source the four processes finish closer
together. What lands is the same either way.

Exit status: 0 for a usable crawl; 1 for a hard failure (a spider that did not finish,
no stats, a source none of whose pages could be read); 3 when the crawl completed but a
source yielded no titles (every file is still written; stderr names the source and why).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from scrapers.merge import merge_parts
from scrapers.sites import SiteConfig, SiteConfigError, resolve_sources
from scrapers.spiders.base import CatalogSpider
from scrapers.spiders.listings import ListingsSpider
from scrapers.spiders.reviews import ReviewsSpider

SPIDERS = (ListingsSpider, ReviewsSpider)
EXIT_OK, EXIT_FAILED, EXIT_EMPTY_SOURCE = 0, 1, 3


def crawl_settings(
    out: Path, log_level: str = "INFO", timeout_s: float = 0, max_pages: int = 0, label: str = ""
) -> Settings:
    """Project settings with both feeds and stats files pointed at ``out``."""
    settings = Settings()
    settings.setmodule("scrapers.settings", priority="project")
    out = out.resolve()
    settings.set(
        "FEEDS",
        {
            f"{out}/%(name)s.jsonl": {
                "format": "jsonlines",
                "encoding": "utf8",
                "overwrite": True,
                "store_empty": True,
            }
        },
        priority="cmdline",
    )
    settings.set("CRAWL_STATS_PATH", f"{out}/%(name)s.stats.json", priority="cmdline")
    settings.set("LOG_LEVEL", log_level, priority="cmdline")
    if timeout_s:
        settings.set("CLOSESPIDER_TIMEOUT", timeout_s, priority="cmdline")
    if max_pages:
        settings.set("CLOSESPIDER_PAGECOUNT", max_pages, priority="cmdline")
    if label:
        settings.set("CRAWL_PROGRESS_LABEL", label, priority="cmdline")
    return settings


def _empty_cause(source: dict[str, Any], stats: dict[str, Any]) -> str:
    """Why a source gave no titles, from its counters."""
    fetched = sum(
        source.get(k, 0) for k in ("title", "listing_pages", "other", "skipped", "empty", "reviews")
    )
    if not fetched:
        errors = source.get("errors", 0)
        return f"no page could be read ({errors} error(s); see the crawl log)"
    if not source.get("titles"):
        return (
            f"{fetched} page(s) read, none recognised as a title page "
            f"({source.get('listing_pages', 0)} listing, {source.get('other', 0)} other, "
            f"{source.get('skipped', 0)} skipped); add title_urls / fields to its site file"
        )
    return (
        f"{source['titles']} title page(s) found, every record dropped ({stats.get('drops', {})})"
    )


def check_crawl(
    out: Path,
    sources: dict[str, Any],
    page_capped: bool = False,
    spiders: tuple[type[CatalogSpider], ...] = SPIDERS,
) -> tuple[list[str], list[str]]:
    """(hard failures, empty sources) found in the landed stats files."""
    accepted = {"finished", "closespider_pagecount"} if page_capped else {"finished"}
    problems: list[str] = []
    empty: list[str] = []
    for spider in spiders:
        path = out / f"{spider.name}.stats.json"
        if not path.exists():
            problems.append(f"{spider.name}: no stats file")
            continue
        stats: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if stats["finish_reason"] not in accepted:
            problems.append(f"{spider.name}: finished with {stats['finish_reason']!r}")
        for name in sources:
            counters = stats["sources"].get(name, {})
            read = sum(
                v
                for k, v in counters.items()
                if k in ("title", "listing_pages", "other", "skipped", "reviews", "empty")
            )
            if not read:
                problems.append(
                    f"{spider.name}: no page read from {name} ({_empty_cause(counters, stats)})"
                )
            elif spider is ListingsSpider and not counters.get("items") and not page_capped:
                empty.append(
                    f"{spider.name}: source {name} yielded 0 titles ({_empty_cause(counters, stats)})"
                )
        if not (out / f"{spider.name}.jsonl").exists():
            problems.append(f"{spider.name}: no feed file")
    return problems, empty


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def process_count(requested: str, jobs: int) -> int:
    """How many processes run a crawl of ``jobs`` (spider, source) pairs: ``auto`` is two
    per usable CPU (a spider's sources take different times, so more parts than cores
    keep both cores busy to the end), a number is taken as given; never more than
    ``jobs``."""
    if requested == "auto":
        wanted = 2 * usable_cpus() if usable_cpus() > 1 else 1
    else:
        try:
            wanted = int(requested)
        except ValueError:
            raise ValueError(f"--processes takes 'auto' or a number, not {requested!r}") from None
        if wanted < 1:
            raise ValueError(f"--processes must be at least 1, not {wanted}")
    return max(1, min(wanted, jobs))


@dataclass(frozen=True)
class Part:
    """One process of a crawl: a spider and the source entries it crawls. ``split`` when
    the spider's sources are spread over several parts: the part then lands its files in
    a folder of its own, merged into the spider's files when every part has ended."""

    spider: type[CatalogSpider]
    sources: tuple[str, ...]
    index: int = 0
    split: bool = False

    @property
    def label(self) -> str:
        """The part's name in progress lines and errors: ``reviews`` or ``reviews (reelhub)``."""
        if not self.split:
            return self.spider.name
        return f"{self.spider.name} ({', '.join(_entry_name(e) for e in self.sources)})"

    def out(self, out: Path) -> Path:
        return out / PARTS_DIR / f"{self.spider.name}.{self.index}" if self.split else out


PARTS_DIR = ".parts"


def _entry_name(entry: str) -> str:
    name, sep, _ = entry.partition("=")
    return name if sep and "://" not in name else entry


def plan_parts(
    spiders: tuple[type[CatalogSpider], ...], sources: list[str], processes: int
) -> list[Part]:
    """The crawl's processes: each spider in its own, and with processes to spare, each
    spider's sources dealt out over several (round robin, in the order given)."""
    per_spider = max(1, processes // max(1, len(spiders)))
    groups = min(per_spider, len(sources)) or 1
    parts: list[Part] = []
    for spider in spiders:
        for index in range(groups):
            chosen = tuple(sources[index::groups])
            parts.append(Part(spider, chosen, index, split=groups > 1))
    return parts


def _die_with_parent() -> None:
    """In a spider's process (Linux): be killed if the crawl's parent process dies, so a
    parent killed outright (a timeout's SIGKILL) leaves no spider behind."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def run_in_processes(args: argparse.Namespace, parts: list[Part]) -> list[int]:
    """Run each part as ``python -m scrapers.crawl ... --spider NAME --part`` at once; the
    exit statuses, in order.

    The parts' processes have their own session, so a signal reaches them once: SIGINT
    and SIGTERM sent to this process (or to its group, as Ctrl-C in a terminal does) are
    passed on, and each spider shuts down as a single process would, stats files written.
    """
    for part in parts:
        part.out(args.out).mkdir(parents=True, exist_ok=True)
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "scrapers.crawl", *spider_argv(args, part.spider.name, part)],
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        for part in parts
    ]

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return [child.wait() for child in children]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def merge_split_spiders(out: Path, parts: list[Part]) -> list[str]:
    """Each split spider's files from its parts' folders (:mod:`scrapers.merge`)."""
    problems: list[str] = []
    for spider in dict.fromkeys(part.spider for part in parts if part.split):
        part_dirs = [part.out(out) for part in parts if part.spider is spider]
        problems += merge_parts(out, spider.name, part_dirs)
    if (out / PARTS_DIR).is_dir() and not any((out / PARTS_DIR).iterdir()):
        (out / PARTS_DIR).rmdir()
    return problems


def run_here(args: argparse.Namespace, spiders: tuple[type[CatalogSpider], ...]) -> None:
    """Run ``spiders`` in this process, on one Twisted reactor."""
    settings = crawl_settings(args.out, args.log_level, args.timeout, args.max_pages, args.label)
    process = CrawlerProcess(settings)
    for spider in spiders:
        process.crawl(
            spider,
            sources=list(args.sources),
            crawl_date=args.date.isoformat(),
            sites_dir=args.sites_dir,
        )
    process.start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="landing directory")
    parser.add_argument(
        "--date",
        type=date.fromisoformat,
        default=date.today(),
        help="crawl_date stamped on every record (the daily partition)",
    )
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument(
        "--max-pages",
        type=int,
        default=0,
        help="stop each spider after N responses (smoke runs; its sources then share a process)",
    )
    parser.add_argument("--timeout", type=float, default=0, help="close spiders after N seconds")
    parser.add_argument(
        "--sites-dir", default=None, help="a folder of extra site files (<name>.yml)"
    )
    parser.add_argument(
        "--spider",
        action="append",
        choices=[spider.name for spider in SPIDERS],
        help="run only this spider (repeatable; default: all)",
    )
    parser.add_argument(
        "--processes",
        default="auto",
        help="processes for the spiders: 'auto' (one per spider, up to the usable CPUs) or N",
    )
    # Set on the per-spider processes of a crawl: the parent checks and reports.
    parser.add_argument("--part", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--label", default="", help=argparse.SUPPRESS)
    parser.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="name=URL (a site file <name>.yml applies if present), a site name with a "
        "site file, or a bare URL (named after its host)",
    )
    args = parser.parse_args(argv)

    dirs = [args.sites_dir] if args.sites_dir else []
    try:
        sites: dict[str, SiteConfig] = resolve_sources(args.sources, dirs)
    except SiteConfigError as error:
        parser.error(str(error))
    spiders = tuple(s for s in SPIDERS if not args.spider or s.name in args.spider)
    try:
        jobs = len(spiders) * len(args.sources)
        processes = 1 if args.part else process_count(args.processes, jobs)
    except ValueError as error:
        parser.error(str(error))
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.part:  # a spider that dies before writing its stats must not pass on old ones
        for spider in spiders:
            (args.out / f"{spider.name}.stats.json").unlink(missing_ok=True)
        shutil.rmtree(args.out / PARTS_DIR, ignore_errors=True)  # an earlier crawl's parts
    statuses: list[int] = []
    parts: list[Part] = []
    problems: list[str] = []
    if processes > 1:
        # --max-pages caps each spider's pages: its sources stay in one process.
        spread = min(processes, len(spiders)) if args.max_pages else processes
        parts = plan_parts(spiders, list(args.sources), spread)
        statuses = run_in_processes(args, parts)
        problems += merge_split_spiders(args.out, parts)
    else:
        run_here(args, spiders)
    if args.part:
        return EXIT_OK  # the parent checks every spider's files

    found, empty = check_crawl(args.out, sites, bool(args.max_pages), spiders)
    problems = found + problems
    problems += [
        f"{part.label}: its process exited with status {status}"
        for part, status in zip(parts, statuses, strict=True)
        if status != EXIT_OK
    ]
    for problem in problems + empty:
        print(f"crawl failed: {problem}", file=sys.stderr)
    for spider in spiders:
        path = args.out / f"{spider.name}.stats.json"
        if path.exists():
            stats = json.loads(path.read_text(encoding="utf-8"))
            print(
                f"{spider.name}: {stats['items']} items, {stats['pages']['total']} pages, "
                f"{stats['dropped']} dropped {stats['drops']}, errors {stats['errors']}, "
                f"{stats['elapsed_seconds']}s",
                file=sys.stderr,
            )
    if problems:
        return EXIT_FAILED
    return EXIT_EMPTY_SOURCE if empty else EXIT_OK


def spider_argv(args: argparse.Namespace, spider: str, part: Part | None = None) -> list[str]:
    """The command line of one part's process: this crawl's options, that spider only, and
    the part's sources and folder (all sources and the crawl's folder without a part).

    Built from the parsed options, not by editing the command line, so that no spelling
    of ``--spider`` or ``--processes`` given to the parent reaches a child."""
    out = part.out(args.out) if part is not None else args.out
    sources = part.sources if part is not None else args.sources
    argv = ["--out", str(out), "--date", args.date.isoformat()]
    argv += ["--log-level", args.log_level, "--max-pages", str(args.max_pages)]
    argv += ["--timeout", str(args.timeout)]
    if args.sites_dir:
        argv += ["--sites-dir", str(args.sites_dir)]
    if part is not None and part.split:
        argv += ["--label", part.label]
    return [*argv, "--spider", spider, "--part", "--", *sources]


if __name__ == "__main__":
    raise SystemExit(main())
