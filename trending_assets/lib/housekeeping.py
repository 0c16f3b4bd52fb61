"""Housekeeping: what killed runs leave behind, old dbt folders, and whether a run's process lives.

Pure logic, no Dagster: the CLI (`trending_assets/cli.py`) applies it to the instance, and the
dbt steps (`defs/warehouse/assets.py`) to the dbt target folder.

- **Stale temporary files.** Every write in the project is atomic (a temporary name in the
  target's folder, then ``os.replace``), so a process killed mid-write leaves its temporary
  file behind: ``.<name>.<random>.tmp`` (lake), ``.<name>.<random>`` (crawl stats and page
  logs, ``tempfile.mkstemp``), ``.<name>.tmp-<pid>`` (caches, models), ``*.tmp``; and
  half-built snapshots in ``serving/.staging/``. Those older than an hour are removed: a
  write in progress renames its file within seconds, so an hour-old one has no owner.
  DuckDB's own spill folders (``*.duckdb.tmp/``) are DuckDB's business and are left alone.
- **Crawl temp folders.** ``raw_crawl`` crawls into ``<system temp>/crawl-<day>-<random>/``
  (a ``TemporaryDirectory``, removed when the step ends, but not when its process is
  killed). One whose newest file is older than the crawl timeout has no crawl writing to it.
- **Old dbt invocation folders.** dagster-dbt gives every dbt command its own target
  folder, ``<step>-<run id[:7]>-<7 hex>/`` in the dbt project's ``target/`` (the manifest,
  compiled SQL, run results and our ``dbt_output.log``: several MB each). Nothing removes
  them, so they grew by three a run for ever. Each step keeps its newest
  ``DBT_INVOCATIONS_KEPT`` folders; older ones go, but never one touched within the hour (a
  step of another run may still be writing it). The steps also keep dbt's parse state per
  warehouse there (``partial_parse.<hash>.msgpack``); one no step wrote for a week goes.
- **Run owners.** The CLI tags each run it executes with its process id, host and process
  start time (`owner_tags`); `owner_gone` says whether that process is gone (not running,
  a zombie, or the pid now belongs to a newer process), so the run can be marked failed
  and its pool slots freed instead of blocking every later run.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

STALE_FILE_AGE_S = 3600.0
STAGING_DIRNAME = ".staging"  # trending_assets/lib/snapshot.py STAGING_DIRNAME

OWNER_PID_TAG = "trending/pid"
OWNER_HOST_TAG = "trending/host"
OWNER_STARTED_TAG = "trending/process_started_at"

# How far apart two readings of one process's start time may be (clock ticks, rounding).
START_TIME_TOLERANCE_S = 2.0

# `.<name>.tmp-<pid>`, and `.<name.ext>.<8 random chars>` (mkstemp's suffix, the target's
# name keeps its extension); `*.tmp` matches everything else.
_HIDDEN_TEMPORARY = re.compile(r"^\.[^/]+(\.tmp-\d+|\.[^/.]+\.[a-z0-9_]{8})$")
_CRAWL_DIR = re.compile(r"^crawl-\d{4}-\d{2}-\d{2}-")
# dagster-dbt's name for an invocation's target folder: `<op name>-<run id[:7]>-<uuid[:7]>`.
_DBT_INVOCATION_DIR = re.compile(r"^(?P<step>[A-Za-z_][A-Za-z0-9_]*)-[0-9a-f]{7}-[0-9a-f]{7}$")
DBT_INVOCATIONS_KEPT = 10
# The dbt steps' parse state per warehouse: `partial_parse.<12 hex>.msgpack` in the target.
_PARSE_STATE = re.compile(r"^partial_parse\.[0-9a-f]{12}\.msgpack$")
PARSE_STATE_MAX_AGE_S = 7 * 24 * 3600.0
_HAS_PROC = Path("/proc/self/stat").exists()


# --- temporary files -----------------------------------------------------------------------


def is_temporary_name(name: str) -> bool:
    """A name one of the project's atomic writes uses for its temporary file."""
    return name.endswith(".tmp") or bool(_HIDDEN_TEMPORARY.match(name))


def _age_s(path: Path, now: float) -> float:
    return now - path.lstat().st_mtime


def _newest_mtime(folder: Path) -> float:
    """The newest modification time of the folder and anything under it (no links followed)."""
    newest = folder.lstat().st_mtime
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in (*dirnames, *filenames):
            try:
                newest = max(newest, os.lstat(os.path.join(dirpath, name)).st_mtime)
            except FileNotFoundError:
                continue
    return newest


def stale_temporary_files(
    roots: Iterable[Path], *, max_age_s: float = STALE_FILE_AGE_S, now: float | None = None
) -> list[Path]:
    """Temporary files (`is_temporary_name`) under ``roots`` untouched for ``max_age_s``,
    and entries of ``.staging`` folders as old. Links are not followed; DuckDB spill folders
    (``*.duckdb.tmp``) are not entered."""
    now = time.time() if now is None else now
    found: list[Path] = []
    seen: set[Path] = set()
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            if here in seen:
                dirnames[:] = []
                continue
            seen.add(here)
            for name in list(dirnames):
                if name.endswith(".duckdb.tmp"):
                    dirnames.remove(name)
                elif name == STAGING_DIRNAME:
                    dirnames.remove(name)
                    staging = here / name
                    for entry in sorted(staging.iterdir()):
                        try:
                            if _age_s(entry, now) > max_age_s:
                                found.append(entry)
                        except FileNotFoundError:
                            continue
            for name in filenames:
                path = here / name
                if not is_temporary_name(name):
                    continue
                try:
                    if path.is_symlink() or _age_s(path, now) <= max_age_s:
                        continue
                except FileNotFoundError:
                    continue
                found.append(path)
    return sorted(set(found))


def stale_crawl_dirs(
    tmp_dir: Path, *, max_age_s: float, now: float | None = None, uid: int | None = None
) -> list[Path]:
    """``crawl-<day>-*`` folders in ``tmp_dir`` owned by ``uid`` (default: this user) whose
    newest file is older than ``max_age_s``."""
    now = time.time() if now is None else now
    uid = os.getuid() if uid is None and hasattr(os, "getuid") else uid
    found: list[Path] = []
    tmp_dir = Path(tmp_dir)
    if not tmp_dir.is_dir():
        return found
    for entry in tmp_dir.iterdir():
        if not _CRAWL_DIR.match(entry.name):
            continue
        try:
            info = entry.lstat()
            if not entry.is_dir() or entry.is_symlink():
                continue
            if uid is not None and info.st_uid != uid:
                continue
            if now - _newest_mtime(entry) > max_age_s:
                found.append(entry)
        except FileNotFoundError:
            continue
    return sorted(found)


def old_dbt_invocations(
    target_dir: Path,
    *,
    keep: int = DBT_INVOCATIONS_KEPT,
    min_age_s: float = STALE_FILE_AGE_S,
    now: float | None = None,
) -> list[Path]:
    """dbt invocation folders in ``target_dir`` beyond each step's newest ``keep``, and
    untouched for ``min_age_s`` (the folder itself and its files, by modification time)."""
    now = time.time() if now is None else now
    by_step: dict[str, list[tuple[float, Path]]] = {}
    target_dir = Path(target_dir)
    if not target_dir.is_dir():
        return []
    for entry in target_dir.iterdir():
        match = _DBT_INVOCATION_DIR.match(entry.name)
        if match is None:
            continue
        try:
            if entry.is_symlink() or not entry.is_dir():
                continue
            newest = _newest_mtime(entry)
        except FileNotFoundError:
            continue
        by_step.setdefault(match["step"], []).append((newest, entry))
    old: list[Path] = []
    for folders in by_step.values():
        folders.sort(key=lambda pair: (pair[0], pair[1].name), reverse=True)
        old.extend(path for newest, path in folders[keep:] if now - newest > min_age_s)
    return sorted(old)


def parse_state_path(target_dir: Path, warehouse_path: str) -> Path:
    """Where the dbt steps keep the parse state of their commands on one warehouse."""
    key = hashlib.sha256(warehouse_path.encode("utf-8")).hexdigest()[:12]
    return Path(target_dir) / f"partial_parse.{key}.msgpack"


def old_parse_states(
    target_dir: Path, *, max_age_s: float = PARSE_STATE_MAX_AGE_S, now: float | None = None
) -> list[Path]:
    """The dbt steps' parse states of warehouses no step built for ``max_age_s`` (a home
    removed, a test's)."""
    now = time.time() if now is None else now
    target_dir = Path(target_dir)
    if not target_dir.is_dir():
        return []
    old = []
    for entry in target_dir.iterdir():
        try:
            if (
                _PARSE_STATE.match(entry.name)
                and entry.is_file()
                and _age_s(entry, now) > max_age_s
            ):
                old.append(entry)
        except FileNotFoundError:
            continue
    return sorted(old)


def remove_paths(paths: Iterable[Path]) -> list[Path]:
    """Remove files and folders (links themselves, never their targets); return those removed."""
    removed: list[Path] = []
    for path in paths:
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue
        except OSError:
            continue  # not ours to remove (permissions), or in use on some file systems
        removed.append(path)
    return removed


@dataclass
class CleanupReport:
    files: list[Path] = field(default_factory=list)
    crawl_dirs: list[Path] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        if self.files:
            shown = ", ".join(str(p) for p in self.files[:3])
            more = f" and {len(self.files) - 3} more" if len(self.files) > 3 else ""
            out.append(f"removed {len(self.files)} stale temporary file(s): {shown}{more}")
        if self.crawl_dirs:
            shown = ", ".join(str(p) for p in self.crawl_dirs[:3])
            out.append(f"removed {len(self.crawl_dirs)} leftover crawl temp folder(s): {shown}")
        return out


def clean_stale_files(
    data_roots: Iterable[Path],
    tmp_dir: Path,
    *,
    crawl_max_age_s: float,
    file_max_age_s: float = STALE_FILE_AGE_S,
    now: float | None = None,
) -> CleanupReport:
    """Remove stale temporary files under ``data_roots`` and stale crawl folders in ``tmp_dir``."""
    now = time.time() if now is None else now
    return CleanupReport(
        files=remove_paths(stale_temporary_files(data_roots, max_age_s=file_max_age_s, now=now)),
        crawl_dirs=remove_paths(stale_crawl_dirs(tmp_dir, max_age_s=crawl_max_age_s, now=now)),
    )


# --- run owners ----------------------------------------------------------------------------


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (field 3 onwards): [] when there is
    no such process, None where the system has no /proc."""
    if not _HAS_PROC:
        return None
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return []
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def _boot_time() -> float | None:
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        return None
    return None


def process_start_time(pid: int) -> float | None:
    """When process ``pid`` started (epoch seconds), where the system tells (Linux); else None."""
    fields = _proc_stat(pid)
    boot = _boot_time()
    if not fields or boot is None:
        return None
    try:
        ticks = int(fields[19])  # field 22: starttime, in clock ticks since boot
    except (IndexError, ValueError):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def process_alive(pid: int) -> bool:
    """Process ``pid`` exists and is not a zombie."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    fields = _proc_stat(pid)
    if fields == []:
        return False  # vanished between the two looks
    return not (fields and fields[0] in ("Z", "X"))


@dataclass(frozen=True)
class Owner:
    """The process that executes a run."""

    host: str
    pid: int
    started_at: float | None = None  # epoch seconds, when known


def this_host() -> str:
    return socket.gethostname()


def owner_tags(pid: int | None = None) -> dict[str, str]:
    """Run tags naming this process (or ``pid``) as the run's owner."""
    pid = os.getpid() if pid is None else pid
    tags = {OWNER_PID_TAG: str(pid), OWNER_HOST_TAG: this_host()}
    started = process_start_time(pid)
    if started is not None:
        tags[OWNER_STARTED_TAG] = f"{started:.2f}"
    return tags


def owner_from_tags(tags: Mapping[str, str]) -> Owner | None:
    """The owner recorded by `owner_tags`, or None when the run has no (valid) owner tags."""
    try:
        pid = int(tags[OWNER_PID_TAG])
        host = tags[OWNER_HOST_TAG]
    except (KeyError, ValueError):
        return None
    try:
        started = float(tags[OWNER_STARTED_TAG]) if OWNER_STARTED_TAG in tags else None
    except ValueError:
        started = None
    return Owner(host=host, pid=pid, started_at=started)


def owner_gone(
    owner: Owner, *, host: str | None = None, started_before: float | None = None
) -> str | None:
    """Why ``owner`` certainly no longer runs, or None when it runs or this host cannot tell.

    Only processes of this ``host`` can be checked. A pid that exists but belongs to a newer
    process (its start time differs from the recorded one, or is later than
    ``started_before`` when none was recorded) counts as gone: pids are reused.
    """
    host = this_host() if host is None else host
    if owner.host != host:
        return None
    if not process_alive(owner.pid):
        return f"its process {owner.pid} on {owner.host} is gone (killed or crashed)"
    actual = process_start_time(owner.pid)
    if actual is None:
        return None
    if owner.started_at is not None and abs(actual - owner.started_at) > START_TIME_TOLERANCE_S:
        return (
            f"its process {owner.pid} on {owner.host} is gone "
            "(the pid now belongs to another process)"
        )
    if (
        owner.started_at is None
        and started_before is not None
        and actual > started_before + START_TIME_TOLERANCE_S
    ):
        return (
            f"its process {owner.pid} on {owner.host} is gone "
            "(the pid now belongs to a process started after the run)"
        )
    return None
