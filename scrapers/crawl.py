"""One daily crawl: ``python -m scrapers.crawl --out DIR --date YYYY-MM-DD name=URL ...``.

Runs the ``listings`` and ``reviews`` spiders in one CrawlerProcess and lands
``listings.jsonl``, ``reviews.jsonl``, ``listings.stats.json`` and ``reviews.stats.json``
in DIR (the crawl landing contract in docs/contracts.md). Exits non-zero on a hard
failure: a spider that did not finish, or a source whose listing could not be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from scrapers.spiders.base import parse_sources
from scrapers.spiders.listings import ListingsSpider
from scrapers.spiders.reviews import ReviewsSpider

SPIDERS = (ListingsSpider, ReviewsSpider)


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


def check_crawl(out: Path, sources: dict[str, str], page_capped: bool = False) -> list[str]:
    """Hard failures found in the landed stats files (empty list = a usable crawl)."""
    accepted = {"finished", "closespider_pagecount"} if page_capped else {"finished"}
    problems = []
    for spider in SPIDERS:
        path = out / f"{spider.name}.stats.json"
        if not path.exists():
            problems.append(f"{spider.name}: no stats file")
            continue
        stats: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if stats["finish_reason"] not in accepted:
            problems.append(f"{spider.name}: finished with {stats['finish_reason']!r}")
        for name in sources:
            if not stats["sources"].get(name, {}).get("pages"):
                problems.append(f"{spider.name}: no listing page read from {name}")
        if not (out / f"{spider.name}.jsonl").exists():
            problems.append(f"{spider.name}: no feed file")
    return problems


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
        "sources",
        nargs="+",
        metavar="NAME=URL",
        help="start URLs, named (reelhub=http://...); a bare URL is named after its host",
    )
    args = parser.parse_args(argv)

    try:
        sources = parse_sources(",".join(args.sources))
    except ValueError as error:
        parser.error(str(error))
    args.out.mkdir(parents=True, exist_ok=True)
    process = CrawlerProcess(crawl_settings(args.out, args.log_level, args.timeout, args.max_pages))
    for spider in SPIDERS:
        process.crawl(spider, sources=sources, crawl_date=args.date.isoformat())
    process.start()

    problems = check_crawl(args.out, sources, page_capped=bool(args.max_pages))
    for problem in problems:
        print(f"crawl failed: {problem}", file=sys.stderr)
    for spider in SPIDERS:
        path = args.out / f"{spider.name}.stats.json"
        if path.exists():
            stats = json.loads(path.read_text(encoding="utf-8"))
            print(
                f"{spider.name}: {stats['items']} items, {stats['pages']['total']} pages, "
                f"{stats['dropped']} dropped {stats['drops']}, errors {stats['errors']}, "
                f"{stats['elapsed_seconds']}s",
                file=sys.stderr,
            )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
