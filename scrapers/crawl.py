"""One daily crawl: ``python -m scrapers.crawl --out DIR --date YYYY-MM-DD SOURCE ...``.

A SOURCE is ``name=URL`` (the site file ``<name>.yml`` applies if there is one), a bare
site name with a site file, or a bare URL (zero-config discovery). Runs the ``listings``
and ``reviews`` spiders (see ``--processes`` below) and lands ``<spider>.jsonl`` (the feed),
``<spider>.stats.json``, ``<spider>.dropped.jsonl`` and ``<spider>.pages.jsonl`` (the
crawl log: one outcome per fetched page) in DIR (the crawl landing contract in
docs/contracts.md).

Scrapy runs a process's spiders on one thread, so on a machine with more than one CPU
each spider gets its own process (``--processes``, default ``auto``): the two spiders'
parsing then runs side by side instead of taking turns. What lands is the same either
way.

Exit status: 0 for a usable crawl; 1 for a hard failure (a spider that did not finish,
no stats, a source none of whose pages could be read); 3 when the crawl completed but a
source yielded no titles (every file is still written; stderr names the source and why).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from scrapers.sites import SiteConfig, SiteConfigError, resolve_sources
from scrapers.spiders.base import CatalogSpider
from scrapers.spiders.listings import ListingsSpider
from scrapers.spiders.reviews import ReviewsSpider

SPIDERS = (ListingsSpider, ReviewsSpider)
EXIT_OK, EXIT_FAILED, EXIT_EMPTY_SOURCE = 0, 1, 3


def crawl_settings(
    out: Path, log_level: str = "INFO", timeout_s: float = 0, max_pages: int = 0
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
    return settings


def _empty_cause(source: dict[str, Any], stats: dict[str, Any]) -> str:
    """Why a source gave no titles, from its counters."""
    fetched = sum(
        source.get(k, 0)
        for k in ("title", "carried", "listing_pages", "other", "skipped", "empty", "reviews")
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
                if k
                in ("title", "carried", "listing_pages", "other", "skipped", "reviews", "empty")
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


def process_count(requested: str, spiders: int) -> int:
    """How many processes run ``spiders`` spiders: ``auto`` is one per spider, up to the
    usable CPUs; a number is taken as given (at most one per spider)."""
    if requested == "auto":
        wanted = usable_cpus()
    else:
        try:
            wanted = int(requested)
        except ValueError:
            raise ValueError(f"--processes takes 'auto' or a number, not {requested!r}") from None
        if wanted < 1:
            raise ValueError(f"--processes must be at least 1, not {wanted}")
    return max(1, min(wanted, spiders))


def _die_with_parent() -> None:
    """In a spider's process (Linux): be killed if the crawl's parent process dies, so a
    parent killed outright (a timeout's SIGKILL) leaves no spider behind."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def run_in_processes(
    args: argparse.Namespace, spiders: tuple[type[CatalogSpider], ...]
) -> list[int]:
    """Run each spider as ``python -m scrapers.crawl ... --spider NAME`` at once; the exit
    statuses, in order.

    The spiders' processes have their own session, so a signal reaches them once: SIGINT
    and SIGTERM sent to this process (or to its group, as Ctrl-C in a terminal does) are
    passed on, and each spider shuts down as a single process would, stats files written.
    """
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "scrapers.crawl", *spider_argv(args, spider.name)],
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        for spider in spiders
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


def run_here(args: argparse.Namespace, spiders: tuple[type[CatalogSpider], ...]) -> None:
    """Run ``spiders`` in this process, on one Twisted reactor."""
    process = CrawlerProcess(crawl_settings(args.out, args.log_level, args.timeout, args.max_pages))
    for spider in spiders:
        process.crawl(
            spider,
            sources=list(args.sources),
            crawl_date=args.date.isoformat(),
            sites_dir=args.sites_dir,
            previous=str(args.previous) if args.previous else None,
            previous_date=args.previous_date.isoformat() if args.previous_date else None,
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
        "--max-pages", type=int, default=0, help="stop each spider after N responses (smoke runs)"
    )
    parser.add_argument("--timeout", type=float, default=0, help="close spiders after N seconds")
    parser.add_argument(
        "--sites-dir", default=None, help="a folder of extra site files (<name>.yml)"
    )
    parser.add_argument(
        "--previous",
        type=Path,
        default=None,
        help="the previous crawl's landing directory: title pages its sitemap says are "
        "unchanged since then are carried forward, not fetched (scrapers/carry.py)",
    )
    parser.add_argument(
        "--previous-date",
        type=date.fromisoformat,
        default=None,
        help="the crawl day of --previous (required with it)",
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
    parser.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="name=URL (a site file <name>.yml applies if present), a site name with a "
        "site file, or a bare URL (named after its host)",
    )
    args = parser.parse_args(argv)

    if (args.previous is None) != (args.previous_date is None):
        parser.error("--previous and --previous-date go together")
    if args.previous_date is not None and args.previous_date >= args.date:
        parser.error("--previous-date must be before --date")
    dirs = [args.sites_dir] if args.sites_dir else []
    try:
        sites: dict[str, SiteConfig] = resolve_sources(args.sources, dirs)
    except SiteConfigError as error:
        parser.error(str(error))
    spiders = tuple(s for s in SPIDERS if not args.spider or s.name in args.spider)
    try:
        processes = 1 if args.part else process_count(args.processes, len(spiders))
    except ValueError as error:
        parser.error(str(error))
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.part:  # a spider that dies before writing its stats must not pass on old ones
        for spider in spiders:
            (args.out / f"{spider.name}.stats.json").unlink(missing_ok=True)
    statuses: list[int] = []
    if processes > 1:
        statuses = run_in_processes(args, spiders)
    else:
        run_here(args, spiders)
    if args.part:
        return EXIT_OK  # the parent checks every spider's files

    problems, empty = check_crawl(args.out, sites, bool(args.max_pages), spiders)
    problems += [
        f"{spider.name}: its process exited with status {status}"
        for spider, status in zip(spiders, statuses, strict=False)
        if status != EXIT_OK
    ]
    for problem in problems + empty:
        print(f"crawl failed: {problem}", file=sys.stderr)
    for spider in spiders:
        path = args.out / f"{spider.name}.stats.json"
        if path.exists():
            stats = json.loads(path.read_text(encoding="utf-8"))
            carried = stats["pages"].get("carried", 0)
            print(
                f"{spider.name}: {stats['items']} items, {stats['pages']['total']} pages"
                + (f" (+{carried} carried)" if carried else "")
                + ", "
                f"{stats['dropped']} dropped {stats['drops']}, errors {stats['errors']}, "
                f"{stats['elapsed_seconds']}s",
                file=sys.stderr,
            )
    if problems:
        return EXIT_FAILED
    return EXIT_EMPTY_SOURCE if empty else EXIT_OK


def spider_argv(args: argparse.Namespace, spider: str) -> list[str]:
    """The command line of one spider's process: this crawl's options, that spider only.

    Built from the parsed options, not by editing the command line, so that no spelling
    of ``--spider`` or ``--processes`` given to the parent reaches a child."""
    argv = ["--out", str(args.out), "--date", args.date.isoformat()]
    argv += ["--log-level", args.log_level, "--max-pages", str(args.max_pages)]
    argv += ["--timeout", str(args.timeout)]
    if args.sites_dir:
        argv += ["--sites-dir", str(args.sites_dir)]
    if args.previous is not None:
        argv += [
            "--previous",
            str(args.previous),
            "--previous-date",
            args.previous_date.isoformat(),
        ]
    return [*argv, "--spider", spider, "--part", "--", *args.sources]


if __name__ == "__main__":
    raise SystemExit(main())
