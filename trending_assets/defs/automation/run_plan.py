"""What a `trending materialize` run must materialise: the stale assets, not the whole graph.

Dagster's data versions decide. Every asset has a code version (``definitions.py``), and
each materialisation records the data versions of its inputs, so Dagster can tell which
assets are *stale* (a new code version, or an input with a new data version) or *missing*
(never materialised). :func:`plan` asks Dagster's stale-status resolver, the one behind
the UI's "stale" badges and ``RunRequest(stale_assets_only=True)``, for each asset of the
job. It adds what the resolver leaves out:

- an asset last materialised by a run that did not succeed, when one of its blocking checks
  did not pass on that materialisation (it failed, or the run stopped before it ran): its
  downstream was held back, so it runs again with its checks. A crawled day whose run did
  not succeed is crawled again. (An asset whose step failed keeps its last good
  materialisation; what reads it is stale or missing by its data versions anyway.)
- an unpartitioned asset that reads every day of the crawl (Dagster does not compute
  staleness across an all-days dependency) runs when a day was crawled after it;
- an asset whose last materialisation left work to retry (metadata ``retry_pending`` > 0:
  enrichment answers a provider refused) runs again;

and then everything downstream of what it selected, in the same run, since that run will
give those inputs new data versions. Nothing selected: the run is skipped, "up to date".

The crawl of a day has no code version: a crawled day is not crawled again (one crawl per
day) unless its run failed. Sources outside the graph that can change at any time (the
configured datasets, the TMDb API) are *volatile*: ``trending materialize`` runs them
first, and their content-hash data versions decide whether anything downstream is stale.
``--full`` runs the whole graph.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import dagster as dg
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.loader import LoadingContext
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.base import AssetRecord

from trending_assets.defs.shared import RETRY_PENDING


class _PlanLoadingContext(LoadingContext):
    """The loader cache Dagster's resolver needs, for one plan."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self._instance = instance
        self._loaders: dict = {}

    @property
    def instance(self) -> dg.DagsterInstance:
        return self._instance

    @property
    def loaders(self) -> dict:
        return self._loaders


@dataclass
class RunPlan:
    """The assets to materialise, and why each was chosen (empty: nothing to do)."""

    selection: list[dg.AssetKey]
    # asset -> why it runs, for the assets chosen for their own sake (not as downstream)
    reasons: dict[dg.AssetKey, str] = field(default_factory=dict)
    up_to_date: int = 0

    def describe(self, limit: int = 6) -> str:
        if not self.selection:
            return f"all {self.up_to_date} assets are up to date"
        named = sorted(self.reasons.items(), key=lambda item: item[0].to_user_string())
        shown = "; ".join(f"{key.to_user_string()} ({why})" for key, why in named[:limit])
        more = f"; {len(named) - limit} more" if len(named) > limit else ""
        downstream = len(self.selection) - len(self.reasons)
        return (
            f"{len(self.selection)} to run, {self.up_to_date} up to date. "
            f"Stale: {shown}{more}"
            + (f"; and {downstream} downstream of them" if downstream else "")
        )


def _latest_materialization_of_partition(
    instance: dg.DagsterInstance, key: dg.AssetKey, partition: str
) -> dg.EventLogRecord | None:
    """A whole asset's latest materialisation is in its asset record; a partition's is not."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
    ).records
    return records[0] if records else None


def _run_succeeded(instance: dg.DagsterInstance, run_id: str, cache: dict[str, bool]) -> bool:
    if run_id not in cache:
        run = instance.get_run_by_id(run_id)
        cache[run_id] = run is not None and run.status == dg.DagsterRunStatus.SUCCESS
    return cache[run_id]


def _blocking_checks_passed(
    instance: dg.DagsterInstance, asset_graph, key: dg.AssetKey, record: dg.EventLogRecord
) -> bool:
    """Whether every blocking check of ``key`` passed on its latest materialisation (a
    failed or unrun one held its downstream back)."""
    blocking = [ck for ck in asset_graph.get(key).check_keys
                if asset_graph.get_check_spec(ck).blocking]  # fmt: skip
    if not blocking:
        return True
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(blocking)
    for check_key in blocking:
        execution = latest.get(check_key)
        if execution is None or execution.status != AssetCheckExecutionRecordStatus.SUCCEEDED:
            return False
        # Evaluated on that materialisation: in its run, or by a later one.
        if execution.run_id != record.run_id and execution.create_timestamp < record.timestamp:
            return False
    return True


def _cause_text(resolver: CachingStaleStatusResolver, key: dg.AssetKey, part: str | None) -> str:
    causes = resolver.get_stale_root_causes(key, part)
    if not causes:
        return "stale"
    cause = causes[0]
    on = cause.asset_key.to_user_string()
    return cause.reason if on == key.to_user_string() else f"{on} {cause.reason}"


def plan(
    asset_graph,
    instance: dg.DagsterInstance,
    keys: Iterable[dg.AssetKey],
    partition: str,
) -> RunPlan:
    """The stale part of ``keys`` (a job's assets) for crawl day ``partition``, with its
    downstream (see the module docstring). ``asset_graph``: ``Definitions.resolve_asset_graph()``."""
    keys = set(keys)
    context = _PlanLoadingContext(instance)
    # Every asset's record in one query: the resolver asks for them one asset at a time,
    # and its loader serves them from this batch (as Dagster's prefetch_asset_records does).
    graph_keys = list(asset_graph.get_all_asset_keys())
    batch = AssetRecord.blocking_get_many(context, graph_keys)  # one per key, None if none
    asset_records = dict(zip(graph_keys, batch, strict=True))

    def latest_of(key: dg.AssetKey, part: str | None = None) -> dg.EventLogRecord | None:
        """The latest materialisation of ``key`` (of one partition, when given): for the
        whole asset it is in the asset's record already, which saves a query per asset."""
        if part is not None:
            return _latest_materialization_of_partition(instance, key, part)
        record = asset_records.get(key)
        return record.asset_entry.last_materialization_record if record is not None else None

    resolver = CachingStaleStatusResolver(instance, asset_graph, context)
    runs: dict[str, bool] = {}
    latest: dict[dg.AssetKey, dg.EventLogRecord | None] = {}
    reasons: dict[dg.AssetKey, str] = {}
    for key in sorted(keys, key=lambda k: k.to_user_string()):
        node = asset_graph.get(key)
        part = partition if node.is_partitioned else None
        status = resolver.get_status(key, part)
        if status == StaleStatus.MISSING:
            reasons[key] = "never materialised" + (f" for {part}" if part else "")
            continue
        if status == StaleStatus.STALE:
            reasons[key] = _cause_text(resolver, key, part)
            continue
        record = latest[key] = latest_of(key, part)
        if record is None:  # FRESH without a materialisation: an observed source, say
            continue
        if not _run_succeeded(instance, record.run_id, runs) and (
            part is not None or not _blocking_checks_passed(instance, asset_graph, key, record)
        ):
            reasons[key] = "its last run did not succeed"
            continue
        materialization = record.asset_materialization
        pending = materialization.metadata.get(RETRY_PENDING) if materialization else None
        if pending is not None and (pending.value or 0) > 0:
            reasons[key] = f"{pending.value} items to retry"
    # Unpartitioned readers of every crawled day: a day crawled after them is new input.
    for key in keys - reasons.keys():
        node = asset_graph.get(key)
        if node.is_partitioned or latest.get(key) is None:
            continue
        for parent in node.parent_keys:
            if not asset_graph.get(parent).is_partitioned:
                continue
            newest = latest_of(parent)
            if newest is not None and newest.storage_id > latest[key].storage_id:
                reasons[key] = f"{parent.to_user_string()} has a newer crawled day"
                break
    selection = _with_descendants(asset_graph, reasons.keys()) & keys
    return RunPlan(
        selection=sorted(selection, key=lambda k: k.to_user_string()),
        reasons=reasons,
        up_to_date=len(keys - selection),
    )


def _with_descendants(asset_graph, roots: Iterable[dg.AssetKey]) -> set[dg.AssetKey]:
    seen: set[dg.AssetKey] = set()
    todo = list(roots)
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        todo.extend(asset_graph.get(key).child_keys)
    return seen
