"""`trending` — the few commands a newcomer needs (the Makefile calls these).

    trending materialize [--partition YYYY-MM-DD]   what is stale in the asset graph, then a summary
                         [--full]                   ... or the whole graph, reused work redone
                         [--dry-run]                ... or only say what would run, and why
    trending run                                     materialize, then serve UI + API until Ctrl-C
    trending ui                                      the Dagster UI (webserver + daemon)
    trending serve                                   the HTTP API on the published snapshot

Every command honours DAGSTER_HOME and TRENDING_DATA_DIR, so copies can run side by side.

`materialize` and `run` start with housekeeping (stale temporary files, leftover crawl temp
folders, runs whose process died: marked failed and their pool slots freed), say what a run
waits for when a pool slot is taken, and stop cleanly on Ctrl-C or SIGTERM (exit 130 / 143,
the run marked failed and its slots freed). `docs/operations.md` ("Dead runs and pool slots").
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trending_assets.lib import housekeeping
from trending_assets.settings import REPO_ROOT, get_settings

if TYPE_CHECKING:
    import dagster as dg

    from trending_assets.defs.automation import run_plan

JOB_NAME = "all_assets_job"
# A copy of config/dagster.yaml whose first line still starts so is ours to refresh.
MANAGED_CONFIG_HEADER = "# Local Dagster instance (copied into $DAGSTER_HOME by `make`)"

WATCH_INTERVAL_S = 1.0  # how often a running run's pool claims are looked at
WAIT_NOTICE_AFTER_S = 2.0  # a claim pending this long is worth a line
WAIT_NOTICE_EVERY_S = 30.0  # ... and another line this often while it waits
HEAL_EVERY_S = 5.0  # while waiting: free the slots of dead or finished holders this often
STOP_WAITING_AFTER_S = 1.5  # after a signal, a run that only waits for a slot is stopped
STOP_GRACE_S = 30.0  # after a signal, a step that has not stopped by then is abandoned
SWEEP_EVERY_S = 60.0  # `ui` / `run`: look for dead runs this often while serving


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME, defaulting to `.dagster_home/` in the repo, with our dagster.yaml in it.

    A copy made earlier is refreshed when config/dagster.yaml changed, as long as its first
    line is still our header (delete that line to keep local edits).
    """
    home = Path(os.environ.get("DAGSTER_HOME") or REPO_ROOT / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    source = REPO_ROOT / "config" / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(source, config)
    else:
        current = config.read_text(encoding="utf-8", errors="replace")
        wanted = source.read_text(encoding="utf-8")
        if current != wanted and current.startswith(MANAGED_CONFIG_HEADER):
            shutil.copyfile(source, config)
            print(f"updated {config} from config/dagster.yaml", file=sys.stderr)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def quiet_environment() -> None:
    """No telemetry, no hub downloads and no library chatter from anything this process starts."""
    for key, value in {
        "DO_NOT_TRACK": "1",
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "WANDB_MODE": "offline",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        # Not the user's business on a console: transformers' "Loading weights" bars and
        # W&B's notices (its runs are still recorded; the run's log names them).
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "WANDB_SILENT": "true",
    }.items():
        os.environ.setdefault(key, value)
    # `dagster dev` (the UI) prints on every start that `dg dev` supersedes it; we run
    # `dagster dev` knowingly (the pinned Dagster has it, the `dg` CLI is not installed).
    notice = "ignore:Function `dev_command` is superseded"
    filters = [f for f in os.environ.get("PYTHONWARNINGS", "").split(",") if f]
    if notice not in filters:
        os.environ["PYTHONWARNINGS"] = ",".join([*filters, notice])


def wandb_environment(data_dir: Path) -> None:
    """W&B's staging, cache and artifact folders under the data dir (its default is the
    user's home), so `make clean` removes them and nothing outside the project grows. Set
    before any step starts, for every process this one starts; a user's own values win."""
    root = Path(data_dir).resolve() / "wandb"
    for key, folder in {
        "WANDB_DATA_DIR": "data",
        "WANDB_CACHE_DIR": "cache",
        "WANDB_ARTIFACT_DIR": "artifacts",
        "WANDB_CONFIG_DIR": "config",
    }.items():
        os.environ.setdefault(key, str(root / folder))


# --- signals and the console --------------------------------------------------------------


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM: the command stops, exiting 128 + the signal number."""

    def __init__(self, signum: int, detail: str = "") -> None:
        super().__init__(signum)
        self.signum = signum
        self.detail = detail

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def install_signal_handlers() -> None:
    """SIGINT and SIGTERM raise `Interrupted` (Dagster swaps in its own while a run executes)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _raise_interrupted)
        signal.signal(signal.SIGTERM, _raise_interrupted)


_CONSOLE_FD: int | None = None


def _console_fd() -> int | None:
    """A copy of stderr as it is now: Dagster points fd 2 at its compute log while a run
    executes (mirrored to the terminal with a lag); lines written here arrive at once."""
    global _CONSOLE_FD
    if _CONSOLE_FD is None:
        try:
            sys.stderr.flush()
            _CONSOLE_FD = os.dup(sys.stderr.fileno())
        except (AttributeError, OSError, ValueError):
            return None
    return _CONSOLE_FD


def say(message: str) -> None:
    """One line on the terminal's stderr, also while Dagster captures the process's output."""
    fd = _console_fd()
    if fd is None:
        print(message, file=sys.stderr, flush=True)
        return
    with contextlib.suppress(OSError):
        os.write(fd, (message + "\n").encode("utf-8", "replace"))


class _ShortInterruptLogger(logging.Logger):
    """The logger class while a run executes (`logging.setLoggerClass`), so that Dagster's
    console logger (named "dagster", created per run) prints an interrupted step's failure
    without its stack trace; the run's event log keeps it. Other loggers are plain."""

    def __init__(self, name: str, level: int | str = logging.NOTSET) -> None:
        super().__init__(name, level)
        if name == "dagster":
            self.addFilter(_shorten_interrupt)


def _shorten_interrupt(record: logging.LogRecord) -> bool:
    message = record.msg
    if isinstance(message, str) and "DagsterExecutionInterruptedError" in message:
        head, sep, _ = message.partition("\n\nStack Trace:")
        if sep:
            record.msg = head + "  (interrupted)"
    return True


# --- dead runs -----------------------------------------------------------------------------


def _short(run_id: str) -> str:
    return run_id[:8]


def _is_local_instance(instance: dg.DagsterInstance) -> bool:
    """SQLite storage under DAGSTER_HOME: every run of this instance ran on this machine.
    (Told by the storage's class name: its class is not part of Dagster's public API.)"""
    return any(cls.__name__ == "SqliteRunStorage" for cls in type(instance.run_storage).__mro__)


def _engine_event_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid in the run's first engine event that names one (the process executing the run:
    "Started process for run" from a run worker, "Executing steps in process" in process)."""
    import dagster as dg

    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        event = entry.dagster_event
        data = event.engine_event_data if event else None
        pid = data.metadata.get("pid") if data and data.metadata else None
        if pid is not None:
            try:
                return int(getattr(pid, "value", pid))
            except (TypeError, ValueError):
                return None
    return None


def run_owner(instance: dg.DagsterInstance, run: dg.DagsterRun) -> housekeeping.Owner | None:
    """Which process executes ``run``: from the CLI's tags, else (local instance only) the
    pid its engine events recorded."""
    owner = housekeeping.owner_from_tags(run.tags)
    if owner is not None or not _is_local_instance(instance):
        return owner
    pid = _engine_event_pid(instance, run.run_id)
    return housekeeping.Owner(housekeeping.this_host(), pid) if pid is not None else None


def dead_run_reason(instance: dg.DagsterInstance, record: Any) -> str | None:
    """Why the unfinished run of ``record`` (a RunRecord) is dead, or None (alive, or unknown)."""
    owner = run_owner(instance, record.dagster_run)
    if owner is None:
        return None
    started = record.start_time or record.create_timestamp.timestamp()
    return housekeeping.owner_gone(owner, started_before=started)


def recover_run(instance: dg.DagsterInstance, run: dg.DagsterRun, reason: str) -> str:
    """Mark a dead run failed (canceled, if it was being canceled) and free its pool slots.
    Returns what became of it ("marked failed", "marked canceled", "already finished")."""
    current = instance.get_run_by_id(run.run_id) or run
    outcome = "already finished"
    if not current.is_finished:
        if current.status.value == "CANCELING":
            outcome = "marked canceled"
            instance.report_run_canceled(
                current, f"Run marked canceled by the trending CLI: {reason}."
            )
        else:
            outcome = "marked failed"
            message = f"Run marked failed by the trending CLI: {reason}."
            instance.report_run_failed(current, message)
    instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    return outcome


def _slot_run_ids(instance: dg.DagsterInstance) -> set[str]:
    """Runs holding or queueing for a slot in any pool."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return set()
    run_ids = set(storage.get_concurrency_run_ids())
    for info in storage.get_concurrency_infos(sorted(storage.get_concurrency_keys())).values():
        run_ids.update(slot.run_id for slot in info.claimed_slots)
    return run_ids


def recover_dead_runs(
    instance: dg.DagsterInstance,
    *,
    run_ids: set[str] | None = None,
    skip: str | None = None,
    log: Callable[[str], None] = say,
) -> list[str]:
    """Unfinished runs whose process is gone: marked failed, pool slots freed. Pool slots held
    by runs that already finished are freed too. Only ``run_ids`` when given. Returns the
    run ids dealt with."""
    import dagster as dg

    active = [
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.CANCELING,
    ]
    if run_ids is not None and not run_ids:
        return []
    filters = dg.RunsFilter(statuses=active, run_ids=sorted(run_ids) if run_ids else None)
    dealt: list[str] = []
    for record in instance.get_run_records(filters=filters):
        run = record.dagster_run
        if run.run_id == skip:
            continue
        reason = dead_run_reason(instance, record)
        if reason is None:
            continue
        outcome = recover_run(instance, run, reason)
        dealt.append(run.run_id)
        log(
            f"run {_short(run.run_id)} ({run.job_name}, {run.status.value}): {reason}; "
            f"{outcome}, its pool slots freed"
        )
    holders = _slot_run_ids(instance) - {skip} - set(dealt)
    if run_ids is not None:
        holders &= run_ids
    for run_id in sorted(holders):
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
            dealt.append(run_id)
            state = run.status.value if run else "deleted"
            log(f"freed the pool slots still held by run {_short(run_id)} ({state})")
    return dealt


def tidy(instance: dg.DagsterInstance, log: Callable[[str], None] = say) -> None:
    """Housekeeping before a run: stale temporary files, crawl temp folders, dead runs."""
    settings = get_settings()
    roots = [settings.data_dir.resolve(), settings.serving_root]
    if not settings.s3_bucket:
        roots.append(settings.lake_root)
    report = housekeeping.clean_stale_files(
        sorted(set(roots)),
        Path(tempfile.gettempdir()),
        crawl_max_age_s=settings.crawl_timeout_s,
    )
    for line in report.lines():
        log(line)
    recover_dead_runs(instance, log=log)


# --- one run, watched ----------------------------------------------------------------------


class RunGuard:
    """Watches one run executing in this process, from a side thread.

    - While the run waits for a pool slot it says which run holds the slot (its job, step,
      process and whether that process lives), and frees slots of dead or finished holders.
    - On SIGINT or SIGTERM (seen through `signal.set_wakeup_fd`, whichever Python handler
      Dagster has installed at that moment) it notes the signal in the run's event log. A
      step in progress is interrupted by Dagster itself and the run fails on its own; a run
      that only waits for a slot (Dagster would wait on), or one that has not stopped within
      `STOP_GRACE_S`, or a second signal, is stopped here: marked failed, its slots freed,
      and the process exits 128 + the signal number.
    """

    def __init__(self, instance: dg.DagsterInstance, run_id: str) -> None:
        self.instance = instance
        self.run_id = run_id
        self.signals: list[tuple[int, float]] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="run-guard", daemon=True)
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)
        self._old_wakeup_fd: int | None = None
        self._waiting_since: float | None = None
        self._last_notice: tuple[float, str] | None = None
        self._next_heal = 0.0

    @property
    def signum(self) -> int | None:
        return self.signals[0][0] if self.signals else None

    def __enter__(self) -> RunGuard:
        _console_fd()  # before Dagster redirects fd 2
        if threading.current_thread() is threading.main_thread():
            self._old_wakeup_fd = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)
        if self._old_wakeup_fd is not None:
            signal.set_wakeup_fd(self._old_wakeup_fd)
        self._read_signals()
        os.close(self._read_fd)
        os.close(self._write_fd)

    # the side thread

    def _read_signals(self) -> list[int]:
        new = []
        try:
            data = os.read(self._read_fd, 512)
        except (BlockingIOError, OSError):
            data = b""
        for signum in data:
            if signum in (signal.SIGINT, signal.SIGTERM):
                self.signals.append((signum, time.monotonic()))
                new.append(signum)
        return new

    def _watch(self) -> None:
        next_look = 0.0
        while not self._done.is_set():
            try:
                ready, _, _ = select.select([self._read_fd], [], [], 0.25)
            except (OSError, ValueError):
                return
            try:
                if ready and self._read_signals() and len(self.signals) == 1:
                    self._note_signal()
                now = time.monotonic()
                if now >= next_look and not self._done.is_set():
                    next_look = now + WATCH_INTERVAL_S
                    self._look(now)
            except Exception as exc:  # a watcher must never take the run down
                say(f"(run guard: {type(exc).__name__}: {exc})")
                next_look = time.monotonic() + 5 * WATCH_INTERVAL_S

    def _note_signal(self) -> None:
        name = signal_name(self.signals[0][0])
        say(f"{name} received: stopping run {_short(self.run_id)} (a second one forces it)")
        run = self.instance.get_run_by_id(self.run_id)
        if run is not None and not run.is_finished:
            self.instance.report_engine_event(
                f"{name} received by the trending CLI (pid {os.getpid()}): stopping the run.", run
            )

    def _claims(self) -> tuple[dict[str, list[str]], bool, dict[str, Any]]:
        """This run's steps waiting for a slot, by pool; whether it holds one; every pool's info."""
        storage = self.instance.event_log_storage
        if not storage.supports_global_concurrency_limits:
            return {}, False, {}
        infos = storage.get_concurrency_infos(sorted(storage.get_concurrency_keys()))
        waiting: dict[str, list[str]] = {}
        holding = False
        for key, info in infos.items():
            held = {slot.step_key for slot in info.claimed_slots if slot.run_id == self.run_id}
            holding = holding or bool(held)
            for step in info.pending_steps:
                if (
                    step.run_id == self.run_id
                    and step.assigned_timestamp is None
                    and step.step_key not in held
                ):
                    waiting.setdefault(key, []).append(step.step_key)
        return waiting, holding, infos

    def _look(self, now: float) -> None:
        waiting, holding, infos = self._claims()
        if waiting:
            self._waiting_since = self._waiting_since or now
        else:
            self._waiting_since = None
            self._last_notice = None
        if self.signals:
            # Only a run that holds no slot is known to be idle in Dagster's wait loop; one
            # that holds a slot runs a step, which Dagster interrupts itself.
            self._maybe_stop(now, waiting if not holding else {})
            return
        if not waiting or now - self._waiting_since < WAIT_NOTICE_AFTER_S:
            return
        if now >= self._next_heal:
            self._next_heal = now + HEAL_EVERY_S
            holders = {
                slot.run_id
                for key in waiting
                for slot in infos[key].claimed_slots
                if slot.run_id != self.run_id
            }
            if recover_dead_runs(self.instance, run_ids=holders, skip=self.run_id):
                return  # slots freed: Dagster assigns them on its next look
        notice = self._describe_wait(waiting, infos)
        last = self._last_notice
        if last is None or last[1] != notice or now - last[0] >= WAIT_NOTICE_EVERY_S:
            self._last_notice = (now, notice)
            say(notice)

    def _describe_wait(self, waiting: dict[str, list[str]], infos: dict[str, Any]) -> str:
        parts = []
        for key, steps in sorted(waiting.items()):
            info = infos[key]
            holders = [slot for slot in info.claimed_slots if slot.run_id != self.run_id]
            if holders:
                held = "; ".join(self._describe_holder(slot) for slot in holders)
                why = f"held by {held}"
            elif info.limit == 0:
                why = f"its limit is 0 (`dagster instance concurrency set {key} 1` reopens it)"
            else:
                ahead = [p for p in info.pending_steps if p.run_id != self.run_id]
                why = f"{len(ahead)} step(s) of other runs queued for it"
            parts.append(
                f"waiting for pool {key} (limit {info.limit}) before {', '.join(sorted(steps))}: "
                f"{why}"
            )
        return "; ".join(parts) + ". Ctrl-C stops this run."

    def _describe_holder(self, slot: Any) -> str:
        run = self.instance.get_run_by_id(slot.run_id)
        if run is None:
            return f"run {_short(slot.run_id)} (deleted), step {slot.step_key}"
        owner = run_owner(self.instance, run)
        where = ""
        if owner is not None:
            alive = owner.host != housekeeping.this_host() or housekeeping.process_alive(owner.pid)
            where = f", pid {owner.pid} on {owner.host}{'' if alive else ' (gone)'}"
        return (
            f"run {_short(slot.run_id)} ({run.job_name}, {run.status.value}{where}), "
            f"step {slot.step_key}"
        )

    def _maybe_stop(self, now: float, waiting: dict[str, list[str]]) -> None:
        signum, first_at = self.signals[0]
        if len(self.signals) > 1:
            self._stop(signum, f"a second {signal_name(self.signals[1][0])}")
        elif waiting and now - max(first_at, self._waiting_since or now) >= STOP_WAITING_AFTER_S:
            pools = ", ".join(sorted(waiting))
            self._stop(signum, f"while it waited for pool {pools}")
        elif now - first_at >= STOP_GRACE_S:
            self._stop(signum, f"its step did not stop within {STOP_GRACE_S:.0f} s")

    def _stop(self, signum: int, why: str) -> None:
        name = signal_name(signum)
        try:
            run = self.instance.get_run_by_id(self.run_id)
            if run is not None and not run.is_finished:
                self.instance.report_run_failed(run, f"Stopped by {name} ({why}).")
            self.instance.event_log_storage.free_concurrency_slots_for_run(self.run_id)
            outcome = "marked failed, its pool slots freed"
        except Exception as exc:
            outcome = f"could not be marked failed ({type(exc).__name__}: {exc})"
        say(f"stopped by {name} ({why}): run {_short(self.run_id)} {outcome}")
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
        os._exit(128 + signum)


def volatile_sources(settings: Any, keys: Iterable[dg.AssetKey]) -> list[dg.AssetKey]:
    """The configured ingest sources that can change at any time (datasets, the TMDb API)."""
    from trending_assets.defs.ingest.assets import volatile_sources as sources
    from trending_assets.defs.resources import build_resources

    keys = set(keys)
    return [key for key in sources(settings, build_resources()["tmdb"]) if key in keys]


def plan_run(
    definitions: dg.Definitions, instance: dg.DagsterInstance, partition: str
) -> run_plan.RunPlan:
    """The stale part of the whole-graph job for ``partition`` (`defs/automation/run_plan.py`)."""
    from trending_assets.defs.automation import run_plan

    job = definitions.resolve_job_def(JOB_NAME)
    keys = job.asset_layer.selected_asset_keys
    return run_plan.plan(definitions.resolve_asset_graph(), instance, keys, partition)


def execute(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    *,
    partition_key: str | None = None,
    tags: Mapping[str, str] | None = None,
    asset_selection: Sequence[dg.AssetKey] | None = None,
) -> dg.ExecuteInProcessResult:
    """Execute ``job`` in this process under a `RunGuard`, the run tagged with this process
    (pid, host, start time) so a later command can tell when it died.

    Raises `Interrupted` after SIGINT / SIGTERM, once the run is failed and its slots free.
    """
    run_id = str(uuid.uuid4())
    run_tags = {**(tags or {}), **housekeeping.owner_tags()}
    logger_class = logging.getLoggerClass()
    guard = RunGuard(instance, run_id)
    try:
        logging.setLoggerClass(_ShortInterruptLogger)
        with guard:
            result = job.execute_in_process(
                instance=instance,
                partition_key=partition_key,
                raise_on_error=False,
                run_id=run_id,
                tags=run_tags,
                asset_selection=asset_selection,
            )
    except KeyboardInterrupt as exc:  # a signal outside Dagster's own handling
        signum = getattr(exc, "signum", signal.SIGINT)
        raise Interrupted(signum, _finish_interrupted(instance, run_id)) from None
    finally:
        logging.setLoggerClass(logger_class)
    if guard.signum is not None:
        raise Interrupted(guard.signum, _finish_interrupted(instance, run_id))
    return result


def _finish_interrupted(instance: dg.DagsterInstance, run_id: str) -> str:
    """After an interrupt: the run failed (if Dagster did not say so already), slots free."""
    run = instance.get_run_by_id(run_id)
    if run is None:
        return "no run was started"
    if not run.is_finished:
        instance.report_run_failed(run, "Interrupted before the run could finish.")
    instance.event_log_storage.free_concurrency_slots_for_run(run_id)
    run = instance.get_run_by_id(run_id) or run
    state = {"FAILURE": "failed", "CANCELED": "canceled", "SUCCESS": "succeeded"}.get(
        run.status.value, run.status.value
    )
    return f"run {_short(run_id)} {state}, its pool slots freed"


def materialize(partition: str | None, *, full: bool = False, dry_run: bool = False) -> int:
    import dagster as dg

    from trending_assets.definitions import defs
    from trending_assets.defs.ingest.assets import daily_partitions
    from trending_assets.defs.shared import FULL_RUN_TAG

    home = ensure_dagster_home()
    settings = get_settings()
    last = daily_partitions.get_last_partition_key()
    partition = partition or last
    if not daily_partitions.has_partition_key(partition):
        first = daily_partitions.get_first_partition_key()
        hint = ""
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", partition) and partition < first:
            hint = (
                f"; days start at the first crawl day, {first}: set "
                f"TRENDING_PARTITIONS_START={partition} to crawl an earlier one"
            )
        print(
            f"no crawl partition {partition!r}: days run from {first} to {last} (YYYY-MM-DD){hint}",
            file=sys.stderr,
        )
        return 2
    doing = "planning" if dry_run else "materialising"
    print(f"{doing} the asset graph for {partition} into {settings.data_dir}")
    print(f"DAGSTER_HOME={home}")

    started = time.monotonic()
    # Our dagster.yaml sends the run's events to the pipeline log through a handler in the
    # YAML; Dagster marks that "beta" on every run. We chose it knowingly: one message,
    # silenced here, not every BetaWarning.
    warnings.filterwarnings(
        "ignore", message="Handling yaml-defined logging configuration", category=dg.BetaWarning
    )
    with dg.DagsterInstance.get() as instance:
        if not dry_run:
            tidy(instance)
        definitions = defs()
        job = definitions.resolve_job_def(JOB_NAME)
        tags = {FULL_RUN_TAG: "true"} if full else None
        results = []
        plan = None
        if dry_run:
            plan = plan_run(definitions, instance, partition)
            print(f"what would run: {len(plan.selection)} assets, {plan.up_to_date} up to date")
            for key in plan.selection:
                print(f"  {key.to_user_string():<36} {plan.reasons.get(key, 'downstream')}")
            volatile = volatile_sources(settings, definitions.resolve_all_asset_keys())
            if volatile:
                print("(not read by a dry run: " + ", ".join(k.to_user_string() for k in volatile)
                      + ", which run first and may make more assets stale)")  # fmt: skip
            return 0
        if not full:
            # Sources that change outside the graph first: their data versions decide.
            volatile = volatile_sources(settings, definitions.resolve_all_asset_keys())
            if volatile:
                print("reading the sources that can change at any time first: "
                      + ", ".join(k.to_user_string() for k in volatile))  # fmt: skip
                results.append(execute(job, instance, partition_key=partition,
                                       asset_selection=volatile))  # fmt: skip
            if all(r.success for r in results):
                plan = plan_run(definitions, instance, partition)
                print(
                    f"what changed: {plan.describe()} (`make materialize FULL=1` runs everything)"
                )
        # A failed read of a volatile source stops here: the summary reports it.
        if (full or plan is not None) and (plan is None or plan.selection):
            selection = plan.selection if plan is not None else None
            results.append(
                execute(
                    job, instance, partition_key=partition, tags=tags, asset_selection=selection
                )
            )
        step_seconds = {
            stat.step_key: stat.end_time - stat.start_time
            for result in results
            for stat in instance.get_run_step_stats(result.run_id)
            if stat.start_time and stat.end_time
        }
    elapsed = time.monotonic() - started

    materialized = [e for r in results for e in r.get_asset_materialization_events()]
    rows: dict[str, int] = {}
    for event in materialized:
        metadata = event.materialization.metadata
        key = event.asset_key.to_user_string()
        if "dagster/row_count" in metadata:
            rows[key] = metadata["dagster/row_count"].value
        # dbt models report no counts themselves; the profile and the snapshot count the marts.
        if key in ("data_profile", "serving_snapshot") and "row_counts" in metadata:
            rows.update(metadata["row_counts"].value)
    checks = [c for r in results for c in r.get_asset_check_evaluations()]
    outcome = Counter("passed" if c.passed else "failed" for c in checks)
    failed_checks = [
        f"{c.asset_key.to_user_string()}:{c.check_name}" for c in checks if not c.passed
    ]
    failed_blocking = [
        f"{c.asset_key.to_user_string()}:{c.check_name}"
        for c in checks
        if not c.passed and c.blocking
    ]
    failed_steps = [
        e.step_key for r in results for e in r.all_events if e.event_type_value == "STEP_FAILURE"
    ]

    print("\n=== Trending Now: materialisation summary ===")
    print(f"partition        {partition}")
    print("run id           " + (", ".join(r.run_id for r in results) or "none: nothing to do"))
    print(f"time             {elapsed:.1f} s")
    slowest = sorted(step_seconds.items(), key=lambda item: -item[1])[:5]
    if slowest:
        print("slowest steps    " + ", ".join(f"{step} {sec:.0f} s" for step, sec in slowest))
    up_to_date = f", {plan.up_to_date} up to date" if plan is not None else ""
    print(f"assets           {len({e.asset_key for e in materialized})} materialised{up_to_date}")
    for key in ("raw/listings", "raw/reviews", "titles", "title_genres", "reviews", "genres"):
        if key in rows:
            print(f"  rows {key:<22} {rows[key]}")
    if "raw/listings" in rows or "raw/reviews" in rows:
        quarantined = sum(
            e.materialization.metadata["quarantined_rows"].value
            for e in materialized
            if "quarantined_rows" in e.materialization.metadata
        )
        print(f"  quarantined rows            {quarantined}  (table raw.quarantine)")
    by_key = {e.asset_key.to_user_string(): e.materialization.metadata for e in materialized}
    if "model_evaluation" in by_key:
        print("genre models     test macro F1 (validation macro F1)")
        for model, scores in by_key["model_evaluation"]["scores"].value.items():
            print(
                f"  {model:<14} {scores['test_macro_f1']:.3f} ({scores['validation_macro_f1']:.3f})"
            )
    if "champion_model" in by_key:
        champion = by_key["champion_model"]
        print(f"champion         {champion['champion'].value}")
        print(f"  decision       {champion['decision'].value}")
    print(f"checks           {outcome['passed']} passed, {outcome['failed']} failed")
    for name in failed_checks:
        print(f"  FAILED check   {name}")
    for step in failed_steps:
        print(f"  FAILED step    {step}")
    print(f"API              http://{settings.api_host}:{settings.api_port}  (make serve)")
    print(f"Dagster UI       http://127.0.0.1:{settings.ui_port}  (make ui)")
    ok = all(r.success for r in results) and not failed_steps and not failed_blocking
    print("result           " + ("OK" if ok else "FAILED"))
    return 0 if ok else 1


def _ui_command(port: int) -> list[str]:
    return [
        str(Path(sys.executable).with_name("dagster")), "dev",
        "-w", str(REPO_ROOT / "workspace.yaml"),
        "-h", "127.0.0.1", "-p", str(port),
    ]  # fmt: skip


def _api_command(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "serving", "--host", host, "--port", str(port)]


def sweep_dead_runs() -> None:
    """Fail the runs whose process died and free their pool slots (see `recover_dead_runs`)."""
    import dagster as dg

    try:
        with dg.DagsterInstance.get() as instance:
            recover_dead_runs(instance)
    except Exception as exc:  # the servers keep running whatever happens here
        say(f"(looking for dead runs failed: {type(exc).__name__}: {exc})")


def serve_forever(
    commands: dict[str, list[str]], every_minute: Callable[[], None] | None = None
) -> int:
    """Run the given servers until Ctrl-C (or one of them exits), then stop them all.
    ``every_minute`` is called while they run (the dead-run sweep).

    Each server runs in its own process group, so a terminal's Ctrl-C reaches this process
    only: it then stops every server and whatever they started (the UI's code servers)
    by group, SIGINT first, SIGKILL after ``STOP_TIMEOUT_S``; a user's Ctrl-C exits 0.
    """
    processes = {
        name: subprocess.Popen(cmd, cwd=REPO_ROOT, start_new_session=True)
        for name, cmd in commands.items()
    }
    next_sweep = time.monotonic()  # once at the start, then every minute
    try:
        while True:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}", file=sys.stderr)
                    return process.returncode or 1
            if every_minute is not None and time.monotonic() >= next_sweep:
                every_minute()
                next_sweep = time.monotonic() + SWEEP_EVERY_S
            time.sleep(0.5)
    except KeyboardInterrupt:
        say("stopping…")
        return 0
    finally:
        _stop_groups(list(processes.values()))


STOP_TIMEOUT_S = 15


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def _stop_groups(processes: list[subprocess.Popen]) -> None:
    """SIGINT to every server's process group, SIGKILL to what is left after the timeout,
    and SIGKILL to anything a server started and left behind when it exited."""
    for process in processes:
        _signal_group(process, signal.SIGINT)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()
    for process in processes:
        _signal_group(process, signal.SIGKILL)  # orphans left in the group, if any


def guarded(command: Callable[[], int]) -> int:
    """Run a command with SIGINT / SIGTERM turned into one clear line and exit 130 / 143."""
    install_signal_handlers()
    try:
        return command()
    except Interrupted as exc:
        detail = f": {exc.detail}" if exc.detail else ""
        say(f"interrupted by {signal_name(exc.signum)}{detail} (exit {exc.exit_status})")
        return exc.exit_status


def dbt_docs_current(page: Path, warehouse: Path, project: Path | None = None) -> bool:
    """Whether ``page`` is newer than the warehouse and every file of the dbt project
    (``project``, default the repo's), so generating it again would give the same docs."""
    from trending_assets.settings import DBT_PROJECT_DIR

    project = project or DBT_PROJECT_DIR
    if not page.exists() or not warehouse.exists():
        return False
    built = page.stat().st_mtime
    sources = [warehouse, *(p for p in project.rglob("*") if p.is_file()
                            and p.relative_to(project).parts[0] not in DBT_OUTPUT_DIRS)]  # fmt: skip
    return all(path.stat().st_mtime < built for path in sources)


# dbt's own output under the project: not what the docs describe.
DBT_OUTPUT_DIRS = frozenset({"target", "logs", "dbt_packages"})


def build_dbt_docs(page: Path, warehouse: Path) -> int:
    """`dbt docs generate --static` into ``page``'s folder (``<data dir>/dbt_docs/``): one
    self-contained HTML file (models, columns, tests, lineage) that opens from disk and that
    the API serves at /docs/dbt. With a warehouse, the docs show each table's columns and
    row counts as built; without one, the project only."""
    from trending_assets.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR

    target = page.parent
    command = [
        DBT_EXECUTABLE, "docs", "generate", "--static", "--quiet",
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target), "--log-path", str(target / "logs"),
        "--vars", json.dumps({"warehouse_path": str(warehouse)}),
    ]  # fmt: skip
    if not warehouse.exists():
        print(f"no warehouse at {warehouse} yet: the docs describe the project without "
              "the built tables (run `make materialize` first for those)")  # fmt: skip
        command.append("--empty-catalog")
    completed = subprocess.run(command, cwd=DBT_PROJECT_DIR, check=False)
    if completed.returncode != 0 or not page.exists():
        print(f"dbt docs generate failed (exit {completed.returncode}); see {target / 'logs'}",
              file=sys.stderr)  # fmt: skip
        return completed.returncode or 1
    print(f"dbt docs: {page}  (open it in a browser)")
    return 0


def main(argv: list[str] | None = None) -> int:
    return guarded(lambda: _main(argv))


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trending", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    mat = sub.add_parser(
        "materialize", help="materialise what is stale in the asset graph (--full: all of it)"
    )
    mat.add_argument("--partition", help="crawl day YYYY-MM-DD (default: today)")
    mat.add_argument(
        "--full", action="store_true",
        help="materialise the whole graph and redo work that is otherwise reused when "
        "nothing it depends on changed (skip no up-to-date asset, crawl a day crawled "
        "already, retrain the genre models on an unchanged split)",
    )  # fmt: skip
    mat.add_argument(
        "--dry-run", action="store_true",
        help="print what would run and why (the stale assets and their downstream), run nothing",
    )  # fmt: skip
    run = sub.add_parser("run", help="materialise, then serve the UI and the API")
    run.add_argument("--partition")
    sub.add_parser("ui", help="serve the Dagster UI (webserver + daemon)")
    sub.add_parser("serve", help="serve the HTTP API")
    sub.add_parser("docs", help="build the dbt docs site (one HTML file) under the data dir")
    args = parser.parse_args(argv)

    quiet_environment()
    settings = get_settings()
    wandb_environment(settings.data_dir)
    ui = {"dagster UI": _ui_command(settings.ui_port)}
    api = {"API": _api_command(settings.api_host, settings.api_port)}
    if args.command == "materialize":
        return materialize(args.partition, full=args.full, dry_run=args.dry_run)
    if args.command == "docs":
        return build_dbt_docs(settings.dbt_docs_page, settings.warehouse)
    ensure_dagster_home()
    if args.command == "run":
        status = materialize(args.partition)
        if status != 0:
            return status
        # The dbt docs the UI's dbt assets link to (served by the API at /docs/dbt); built
        # before the servers start, so nothing else holds the warehouse meanwhile. Kept
        # when nothing they describe changed since (`trending docs` always builds).
        page = settings.dbt_docs_page
        if dbt_docs_current(page, settings.warehouse):
            print(f"dbt docs: {page} is newer than the warehouse and the dbt project: kept")
        elif build_dbt_docs(page, settings.warehouse) != 0:
            print("the dbt docs were not built; serving goes on without them", file=sys.stderr)
        print(f"\nserving: API {settings.api_url}  dbt docs {settings.api_url}/docs/dbt  "
              f"UI http://127.0.0.1:{settings.ui_port}  (Ctrl-C stops)")  # fmt: skip
        return serve_forever({**ui, **api}, every_minute=sweep_dead_runs)
    if args.command == "ui":
        print(f"Dagster UI on http://127.0.0.1:{settings.ui_port}")
        return serve_forever(ui, every_minute=sweep_dead_runs)
    print(f"API on http://{settings.api_host}:{settings.api_port}")
    return serve_forever(api)


if __name__ == "__main__":
    sys.exit(main())
