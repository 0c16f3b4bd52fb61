"""One process per spider: the crawl CLI runs its two spiders side by side, lands what one
process lands, and a signal or a kill of the crawl reaches both spiders."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from scrapers.crawl import main, process_count, spider_argv
from scrapers.demo_site import build_catalog, serve_demo_sites

REPO = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 20)
LINUX = sys.platform.startswith("linux")


def _crawl_command(out: Path, urls: dict[str, str], *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "scrapers.crawl", "--out", str(out), "--date", AS_OF.isoformat(),
        "--log-level", "WARNING", *extra, *(f"{name}={url}" for name, url in urls.items()),
    ]  # fmt: skip


def _landed(out: Path, urls: dict[str, str]) -> dict[str, object]:
    """What a crawl landed, in a form two crawls (of sites on other ports) compare by."""

    def rows(feed: str) -> list[str]:
        text = (out / f"{feed}.jsonl").read_text(encoding="utf-8")
        for name, url in urls.items():
            text = text.replace(url, f"{name}:/")
        return sorted(line for line in text.splitlines() if line)

    pages = {}
    for feed in ("listings", "reviews"):
        log = [json.loads(line) for line in (out / f"{feed}.pages.jsonl").read_text().splitlines()]
        pages[feed] = Counter(entry["outcome"] for entry in log)
    return {"listings": rows("listings"), "reviews": rows("reviews"), "pages": pages}


def _spider_processes(out: Path) -> list[int]:
    """PIDs of the per-spider processes crawling into ``out`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--part" in argv and str(out).encode() in argv:
            found.append(int(entry.name))
    return found


def _start_two_process_crawl(out: Path, urls: dict[str, str], **popen) -> subprocess.Popen:
    return subprocess.Popen(_crawl_command(out, urls, "--processes", "2"), cwd=REPO, **popen)


def _wait_for_spiders(out: Path, n: int, process: subprocess.Popen, timeout_s: float) -> None:
    """Until ``n`` spider processes crawl into ``out`` and both have fetched a page."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "the crawl ended before its spiders could be signalled"
        started = all((out / f"{feed}.jsonl").exists() for feed in ("listings", "reviews"))
        if len(_spider_processes(out)) == n and started:
            return
        time.sleep(0.1)
    raise AssertionError(f"{n} spider processes did not start within {timeout_s}s")


def test_auto_is_one_process_per_spider_up_to_the_usable_cpus(monkeypatch) -> None:
    monkeypatch.setattr("scrapers.crawl.usable_cpus", lambda: 8)
    assert process_count("auto", 2) == 2
    assert process_count("auto", 1) == 1
    monkeypatch.setattr("scrapers.crawl.usable_cpus", lambda: 1)
    assert process_count("auto", 2) == 1
    assert process_count("2", 2) == 2
    assert process_count("5", 2) == 2
    assert process_count("1", 2) == 1
    for bad in ("0", "-1", "two", ""):
        with pytest.raises(ValueError, match="--processes"):
            process_count(bad, 2)


def test_each_spider_process_gets_the_crawl_options_and_its_own_spider(tmp_path, monkeypatch):
    """Whatever spelling chose the spiders in the parent, a child runs its own spider only."""
    launched: list[list[str]] = []

    class Recorder:
        def __init__(self, command, **kwargs):
            launched.append(command)

        def poll(self):
            return 0

        def wait(self):
            return 0

    monkeypatch.setattr("scrapers.crawl.subprocess.Popen", Recorder)
    monkeypatch.setattr("scrapers.crawl.check_crawl", lambda *a, **k: ([], []))
    main(["--out", str(tmp_path), "--date", "2026-11-20", "--proc", "2", "--spid", "listings",
          "--spider=reviews", "--max-pages", "8", "--sites-dir", "sites",
          "reelhub=http://127.0.0.1:9/", "filmfolio=http://127.0.0.1:8/"])  # fmt: skip
    assert len(launched) == 2
    for command, spider in zip(launched, ("listings", "reviews"), strict=True):
        argv = command[3:]
        assert argv[argv.index("--spider") + 1] == spider
        assert argv.count("--spider") == 1 and "--part" in argv
        assert not {"--proc", "--spid", "--spider=reviews"} & set(argv)
        assert argv[argv.index("--max-pages") + 1] == "8"
        assert argv[argv.index("--sites-dir") + 1] == "sites"
        assert argv[-3:] == [
            "--",
            "reelhub=http://127.0.0.1:9/",
            "filmfolio=http://127.0.0.1:8/",
        ]


def test_a_spider_process_is_given_every_crawl_option(tmp_path) -> None:
    import argparse

    args = argparse.Namespace(
        out=tmp_path, date=AS_OF, log_level="WARNING", max_pages=0, timeout=0.0,
        sites_dir=None, sources=["reelhub=http://a/"], previous=None, previous_date=None,
    )  # fmt: skip
    assert spider_argv(args, "reviews") == [
        "--out", str(tmp_path), "--date", "2026-11-20", "--log-level", "WARNING",
        "--max-pages", "0", "--timeout", "0.0", "--spider", "reviews", "--part", "--",
        "reelhub=http://a/",
    ]  # fmt: skip
    args.previous, args.previous_date = tmp_path / "prev", date(2026, 11, 19)
    assert spider_argv(args, "reviews") == [
        "--out", str(tmp_path), "--date", "2026-11-20", "--log-level", "WARNING",
        "--max-pages", "0", "--timeout", "0.0",
        "--previous", str(tmp_path / "prev"), "--previous-date", "2026-11-19",
        "--spider", "reviews", "--part", "--", "reelhub=http://a/",
    ]  # fmt: skip


def test_a_bad_processes_value_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scrapers.crawl", "--out", str(tmp_path), "--processes", "none",
         "reelhub=http://127.0.0.1:9/"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--processes takes 'auto' or a number, not 'none'" in result.stderr


def test_one_process_and_one_per_spider_land_the_same_crawl(tmp_path: Path) -> None:
    catalog = build_catalog(60, seed=7)
    landed = {}
    for processes in ("1", "2"):
        out = tmp_path / processes
        # Fresh sites per crawl: a page that fails once fails once for each crawl.
        with serve_demo_sites(catalog, as_of=AS_OF) as sites:
            result = subprocess.run(
                _crawl_command(out, sites.urls, "--processes", processes),
                cwd=REPO, capture_output=True, text=True, timeout=180,
            )  # fmt: skip
            urls = dict(sites.urls)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "listings: " in result.stderr and "reviews: " in result.stderr
        landed[processes] = _landed(out, urls)
    assert landed["2"]["listings"] and landed["2"]["reviews"]
    assert landed["2"] == landed["1"]


def test_one_spider_can_be_run_alone(tmp_path: Path) -> None:
    catalog = build_catalog(40, seed=7)
    with serve_demo_sites(catalog, as_of=AS_OF) as sites:
        result = subprocess.run(
            _crawl_command(tmp_path, sites.urls, "--spider", "listings"),
            cwd=REPO, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "listings.stats.json").exists()
    assert not (tmp_path / "reviews.jsonl").exists()


@pytest.mark.skipif(not LINUX, reason="finds the spider processes through /proc (Linux)")
def test_sigterm_reaches_both_spiders_and_the_crawl_fails_naming_them(tmp_path: Path) -> None:
    catalog = build_catalog(600, seed=7)
    with serve_demo_sites(catalog, as_of=AS_OF) as sites:
        process = _start_two_process_crawl(
            tmp_path, sites.urls, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            _wait_for_spiders(tmp_path, 2, process, timeout_s=60)
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 1, output[-3000:]
    for feed in ("listings", "reviews"):
        stats = json.loads((tmp_path / f"{feed}.stats.json").read_text())
        assert stats["finish_reason"] == "shutdown", feed
        assert f"crawl failed: {feed}: finished with 'shutdown'" in output
    assert _spider_processes(tmp_path) == []


@pytest.mark.skipif(not LINUX, reason="the spiders die with their parent through prctl (Linux)")
def test_a_crawl_killed_outright_leaves_no_spider_running(tmp_path: Path) -> None:
    catalog = build_catalog(600, seed=7)
    with serve_demo_sites(catalog, as_of=AS_OF) as sites:
        process = _start_two_process_crawl(
            tmp_path, sites.urls, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            _wait_for_spiders(tmp_path, 2, process, timeout_s=60)
            spiders = _spider_processes(tmp_path)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            deadline = time.monotonic() + 10
            while _spider_processes(tmp_path) and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            if process.poll() is None:
                process.kill()
    assert len(spiders) == 2
    assert _spider_processes(tmp_path) == []
