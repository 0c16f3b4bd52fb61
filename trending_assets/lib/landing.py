"""The lake's landing area: crawl files dropped by crawlers, checked, deduplicated, ingested.

Layout (keys relative to the lake root)::

    landing/<spider>/<YYYY-MM-DD>/<feed>[-<part>].jsonl   a feed file: listings or reviews, JSON lines
    landing/<spider>/<YYYY-MM-DD>/<feed>.dropped.jsonl    optional: items the crawler itself dropped
    landing/<spider>/<YYYY-MM-DD>/<feed>.stats.json       optional: the crawler's stats (a JSON object)
    landing/<spider>/<YYYY-MM-DD>/<feed>.pages.jsonl      optional: the crawl log (one line per fetched page); kept, not ingested
    landing/crawl/<YYYY-MM-DD>/...                        the project's own Scrapy crawl (raw_crawl writes it)
    landing/_quarantine/<key>.<sha12>.reason.json         why a landed file was not ingested

The date in the path is the crawl partition. ``<spider>`` is any lower-case name other than
``crawl`` (the built-in crawl) and names starting with ``_`` (reserved).

Two levels of checks, so one bad line cannot sink a day and one bad file cannot either:

- a *file* is malformed (and quarantined whole, with its reason) when its key does not
  follow the layout, its day is outside the crawl partitions, it is not UTF-8, a line is
  not a JSON object (a truncated upload), it holds no record, a record's ``crawl_date``
  disagrees with the path, or a required field of the feed's pandera model is absent from
  every record (the file is not that feed at all);
- a *record* whose values fail the pandera contract is quarantined row by row in
  ``raw.quarantine`` by the ingest step, like any crawled row.

Feed lines are read with ``NaN``/``Infinity`` literals kept as what they are
(:class:`~trending_assets.lib.coercion.JsonConstant`), not as a missing value, so the ingest
step rejects a ``"rating": NaN`` with a reason instead of reading it as "no rating".

No Dagster imports here: the sensor (``defs/automation/landing.py``) and the crawl asset
(``defs/ingest/assets.py``) call these functions.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import PurePosixPath
from typing import Any

import pandas as pd

from trending_assets.lib.crawl import FEEDS, parse_dropped, parse_jsonl
from trending_assets.lib.lake import Lake, LakeObject
from trending_assets.lib.validation import CrawledListing, CrawledReview

LANDING = "landing"
QUARANTINE = f"{LANDING}/_quarantine"
BUILTIN_SPIDER = "crawl"  # raw_crawl's own crawl: ingested by the run that wrote it
FEED_MODELS = {"listings": CrawledListing, "reviews": CrawledReview}

_SPIDER = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_FEED_FILE = re.compile(r"^(?P<feed>listings|reviews)(?:[-_.][A-Za-z0-9_.-]*)?\.jsonl$")
_SIDECAR = re.compile(
    r"^(?P<feed>listings|reviews)\.(?P<kind>dropped\.jsonl|stats\.json|pages\.jsonl)$"
)
_SIDECAR_KINDS = {"dropped.jsonl": "dropped", "stats.json": "stats", "pages.jsonl": "pages"}


def required_fields(feed: str) -> tuple[str, ...]:
    """The feed's non-nullable record fields, read from its pandera model."""
    columns = FEED_MODELS[feed].to_schema().columns
    return tuple(name for name, column in columns.items() if not column.nullable)


@dataclass(frozen=True)
class LandedKey:
    """Where a landed file sits in the layout, or why it does not fit it."""

    key: str
    spider: str | None = None
    partition: str | None = None
    feed: str | None = None
    kind: str = "invalid"  # feed | dropped | stats | pages | invalid
    problem: str | None = None

    @property
    def is_builtin(self) -> bool:
        return self.spider == BUILTIN_SPIDER


def parse_key(key: str) -> LandedKey | None:
    """The landing key's spider, day, feed and kind; None for keys the landing area ignores.

    Ignored: keys outside ``landing/``, reserved folders (``landing/_*``) and hidden files
    (``.name``: uploads in progress by convention).
    """
    parts = PurePosixPath(key).parts
    if len(parts) < 2 or parts[0] != LANDING or parts[1].startswith("_"):
        return None
    if parts[-1].startswith("."):
        return None
    if len(parts) != 4:
        return LandedKey(key, problem="not at landing/<spider>/<YYYY-MM-DD>/<file>")
    _, spider, day, name = parts
    if not _SPIDER.match(spider):
        return LandedKey(key, problem=f"spider name {spider!r} is not lower-case [a-z0-9_.-]")
    try:
        partition = date.fromisoformat(day).isoformat()
    except ValueError:
        partition = None
    if partition != day:
        return LandedKey(key, spider, problem=f"folder {day!r} is not a YYYY-MM-DD day")
    if sidecar := _SIDECAR.match(name):
        kind = _SIDECAR_KINDS[sidecar["kind"]]
        return LandedKey(key, spider, partition, sidecar["feed"], kind)
    if feed_file := _FEED_FILE.match(name):
        return LandedKey(key, spider, partition, feed_file["feed"], "feed")
    return LandedKey(
        key, spider, partition,
        problem=f"file name {name!r} is not <feed>[-<part>].jsonl, <feed>.dropped.jsonl, <feed>.stats.json or <feed>.pages.jsonl with feed in {'/'.join(FEEDS)}",
    )  # fmt: skip


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Inspection:
    """A landed file's content check: its hash, record count, and the problem if malformed."""

    sha256: str
    size: int
    records: int = 0
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def inspect_file(
    landed: LandedKey, data: bytes, *, partition_ok: Callable[[str], bool] = lambda _: True
) -> Inspection:
    """Check one landed file against the layout, its partition and its feed's shape."""
    digest, size = sha256(data), len(data)

    def bad(problem: str, records: int = 0) -> Inspection:
        return Inspection(digest, size, records, problem)

    if landed.problem:
        return bad(landed.problem)
    assert landed.partition is not None and landed.feed is not None
    if not partition_ok(landed.partition):
        return bad(
            f"day {landed.partition} is outside the crawl partitions (they run from "
            "TRENDING_PARTITIONS_START, by default the first crawl day, to today)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return bad(f"not UTF-8 text (byte {exc.start})")

    if landed.kind == "stats":
        try:
            stats = json.loads(text)
        except json.JSONDecodeError as exc:
            return bad(f"stats file is not JSON ({exc.msg})")
        return (
            bad("stats file is not a JSON object")
            if not isinstance(stats, dict)
            else Inspection(digest, size)
        )
    if landed.kind == "dropped":  # lenient: an unreadable drop line is itself quarantined as a row
        return Inspection(digest, size, len(parse_dropped(text)))
    if landed.kind == "pages":  # the crawl log: a record of the crawl, never ingested
        return Inspection(digest, size, sum(1 for line in text.splitlines() if line.strip()))

    records: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            return bad(f"line {number}: not JSON ({exc.msg})", len(records))
        if not isinstance(item, dict):
            return bad(f"line {number}: not a JSON object", len(records))
        stated = item.get("crawl_date")
        if stated not in (None, "") and str(stated)[:10] != landed.partition:
            return bad(
                f"line {number}: crawl_date {stated!r} is not the folder's day {landed.partition}"
            )
        records.append(item)
    if not records:
        return bad("no records")
    absent = [name for name in required_fields(landed.feed) if not any(name in r for r in records)]
    if absent:
        return bad(f"no record has the {landed.feed} field(s) {', '.join(absent)}", len(records))
    return Inspection(digest, size, len(records))


# --- the sensor's side: scanning with a cursor ------------------------------------------


@dataclass
class LandingCursor:
    """Fingerprints of the landing files already looked at: ``key -> size:version``.

    Bounded: entries for keys no longer listed are dropped, and past ``max_entries`` the
    oldest days go first. Forgetting a key only costs a re-read: the run key (content hash)
    and the runs already in the instance keep a forgotten file from being ingested twice.
    """

    seen: dict[str, str] = field(default_factory=dict)

    VERSION = 1

    @classmethod
    def from_json(cls, raw: str | None) -> LandingCursor:
        if not raw:
            return cls()
        try:
            payload = json.loads(raw)
        except json.JSONDecodeError:
            return cls()
        if not isinstance(payload, dict) or payload.get("v") != cls.VERSION:
            return cls()
        seen = payload.get("seen")
        return cls({str(k): str(v) for k, v in seen.items()} if isinstance(seen, dict) else {})

    def to_json(self) -> str:
        return json.dumps(
            {"v": self.VERSION, "seen": dict(sorted(self.seen.items()))}, separators=(",", ":")
        )

    def pruned(self, present: Iterable[str], max_entries: int) -> LandingCursor:
        listed = set(present)
        keep = {k: v for k, v in self.seen.items() if k in listed}
        if len(keep) > max_entries:
            # keys sort by spider then day; order by day (then key) and keep the newest
            def day_of(key: str) -> str:
                parts = PurePosixPath(key).parts
                return parts[2] if len(parts) > 2 else ""

            newest = (
                sorted(keep, key=lambda k: (day_of(k), k))[-max_entries:] if max_entries > 0 else []
            )
            keep = {k: keep[k] for k in newest}
        return LandingCursor(keep)


@dataclass(frozen=True)
class LandedFile:
    """A landed file looked at in this scan, with the verdict on its content."""

    landed: LandedKey
    obj: LakeObject
    inspection: Inspection

    @property
    def key(self) -> str:
        return self.landed.key


@dataclass
class Scan:
    """One pass over the landing area: what is new and good, new and bad, or already seen."""

    accepted: list[LandedFile] = field(default_factory=list)  # new feed files to ingest
    sidecars: list[LandedFile] = field(
        default_factory=list
    )  # new stats/dropped files (no run by themselves)
    malformed: list[LandedFile] = field(default_factory=list)  # to quarantine
    unchanged: int = 0
    builtin: int = 0  # files of the built-in crawl, ingested by the run that wrote them
    cursor: LandingCursor = field(default_factory=LandingCursor)

    def counts(self) -> dict[str, int]:
        return {
            "new_files": len(self.accepted),
            "new_sidecars": len(self.sidecars),
            "malformed": len(self.malformed),
            "unchanged": self.unchanged,
            "builtin_crawl_files": self.builtin,
        }

    def partitions(self) -> dict[str, list[LandedFile]]:
        """Accepted files by the partition they belong to."""
        by_partition: dict[str, list[LandedFile]] = {}
        for item in self.accepted:
            by_partition.setdefault(str(item.landed.partition), []).append(item)
        return dict(sorted(by_partition.items()))


def scan_landing(
    lake: Lake,
    cursor: LandingCursor,
    *,
    partition_ok: Callable[[str], bool] = lambda _: True,
    max_entries: int = 10_000,
    max_new_files: int = 500,
) -> Scan:
    """List the landing area; read and check only files whose fingerprint is new.

    At most ``max_new_files`` are read per scan (the rest stay unseen for the next one),
    so one huge drop cannot stall a sensor tick.
    """
    objects = [o for o in lake.list_objects(LANDING) if o.key.startswith(f"{LANDING}/")]
    scan = Scan()
    seen = dict(cursor.seen)
    present: list[str] = []
    for obj in objects:
        landed = parse_key(obj.key)
        if landed is None:
            continue
        if landed.is_builtin:
            scan.builtin += 1
            continue
        present.append(obj.key)
        if seen.get(obj.key) == obj.fingerprint:
            scan.unchanged += 1
            continue
        if len(scan.accepted) + len(scan.sidecars) + len(scan.malformed) >= max_new_files:
            continue
        inspection = inspect_file(landed, lake.read_bytes(obj.key), partition_ok=partition_ok)
        item = LandedFile(landed, obj, inspection)
        if not inspection.ok:
            scan.malformed.append(item)
        elif landed.kind == "feed":
            scan.accepted.append(item)
        else:
            scan.sidecars.append(item)
        seen[obj.key] = obj.fingerprint
    scan.cursor = LandingCursor(seen).pruned(present, max_entries)
    return scan


def quarantine_key(item: LandedFile) -> str:
    return f"{QUARANTINE}/{item.key.removeprefix(LANDING + '/')}.{item.inspection.sha256[:12]}.reason.json"


def quarantine(lake: Lake, item: LandedFile, *, now: datetime | None = None) -> str:
    """Record why a landed file is not ingested, next to a pointer to it; returns the key.

    The file itself stays where it landed (the lake is append-only: nothing is deleted),
    and the ingest step skips it with the same reason in ``raw.quarantine``.
    """
    record = {
        "key": item.key,
        "sha256": item.inspection.sha256,
        "size": item.inspection.size,
        "reason": item.inspection.problem,
        "records_before_problem": item.inspection.records,
        "partition": item.landed.partition,
        "quarantined_at": (now or datetime.now(UTC)).isoformat(),
    }
    key = quarantine_key(item)
    lake.write_bytes(key, json.dumps(record, indent=2).encode())
    return key


def run_key(partition: str, digests: Iterable[str]) -> str:
    """A run key fixed by the partition and the content of the files it ingests."""
    combined = sha256("\n".join(sorted(digests)).encode())
    return f"landing:{partition}:{combined[:24]}"


# --- the ingest side: everything landed for one partition -------------------------------


@dataclass
class LandedFeed:
    """One feed of one partition, from every spider's landed files."""

    rows: pd.DataFrame
    rejects: pd.DataFrame  # reason, record: unreadable lines, crawler drops, malformed files
    files: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)  # summed numeric crawl stats
    spiders: list[str] = field(default_factory=list)


def _add_stats(total: dict[str, Any], stats: dict[str, Any]) -> None:
    for name, value in stats.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            total[name] = total.get(name, 0) + value


def load_partition_feed(
    lake: Lake, partition: str, feed: str, *, include_builtin: bool = True
) -> LandedFeed:
    """Read every landed file of ``feed`` for ``partition``, checking external ones.

    Files with identical content are read once (a re-upload under another name).
    Malformed external files contribute one quarantine row each, with their reason; the
    built-in crawl's own files keep the lenient line-by-line reading they always had.
    """
    rows: list[pd.DataFrame] = []
    rejects: list[pd.DataFrame] = []
    files: list[dict[str, Any]] = []
    stats: dict[str, Any] = {}
    spiders: set[str] = set()
    digests: set[str] = set()
    builtin_prefix = f"{LANDING}/{BUILTIN_SPIDER}/"
    # The built-in crawl first: on a duplicate record its copy is the one kept.
    for key in sorted(lake.list_keys(LANDING), key=lambda k: (not k.startswith(builtin_prefix), k)):
        landed = parse_key(key)
        if landed is None or landed.problem or landed.partition != partition or landed.feed != feed:
            continue
        if (landed.is_builtin and not include_builtin) or landed.kind == "pages":
            continue
        data = lake.read_bytes(key)
        inspection = inspect_file(landed, data)
        entry = {
            "key": key,
            "kind": landed.kind,
            "sha256": inspection.sha256[:12],
            "records": inspection.records,
        }
        if inspection.sha256 in digests:
            files.append({**entry, "skipped": "same content as another file"})
            continue
        digests.add(inspection.sha256)
        if not inspection.ok and not landed.is_builtin:
            files.append({**entry, "quarantined": inspection.problem})
            record = json.dumps({"key": key, "sha256": inspection.sha256, "size": inspection.size})
            rejects.append(
                pd.DataFrame([{"reason": f"landing file: {inspection.problem}", "record": record}])
            )
            continue
        files.append(entry)
        text = data.decode("utf-8", errors="replace")
        if landed.kind == "feed":
            items, unreadable = parse_jsonl(text.splitlines(keepends=True))
            rows.append(items)
            rejects.append(unreadable)
            spiders.add(str(landed.spider))
        elif landed.kind == "dropped":
            rejects.append(parse_dropped(text))
        elif landed.kind == "stats":
            try:
                loaded = json.loads(text)
            except json.JSONDecodeError:
                loaded = {}
            _add_stats(stats, loaded if isinstance(loaded, dict) else {})
    non_empty = [f for f in rows if len(f)]
    bad = [f for f in rejects if len(f)]
    return LandedFeed(
        rows=pd.concat(non_empty, ignore_index=True) if non_empty else pd.DataFrame(),
        rejects=pd.concat(bad, ignore_index=True)
        if bad
        else pd.DataFrame(columns=["reason", "record"]),
        files=files,
        stats=stats,
        spiders=sorted(spiders),
    )
