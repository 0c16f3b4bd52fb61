"""Declarative automation: the retraining condition and the automation sensors, split by kind.

Which asset gets which condition is decided in one place, ``trending_assets/definitions.py``;
this module holds what that policy uses:

- :class:`NewLabelledTitles`, a custom condition: true when the marts changed since the
  last look and at least ``TRENDING_RETRAIN_MIN_NEW_TITLES`` new trainable labelled titles
  arrived since the last training (the counting is ``trending_assets/lib/ml/retraining.py``);
  :func:`retrain_condition` wraps it with the usual guards;
- two ``AutomationConditionSensorDefinition`` s, one per kind of work, as Dagster's own
  deployment does: ``automation_dbt`` (the dbt models, evaluated in the daemon) and
  ``automation_python`` (every other automated asset; evaluated in the code server, which
  the custom Python condition needs). Both run by default: without a running automation
  sensor the conditions are only shown, never acted on. Because they cover every automated
  asset, Dagster creates no ``default_automation_condition_sensor``.

Why a condition and not a sensor for retraining: the condition reads what it needs itself,
the last ``training_set`` materialisation from the instance and the current count from the
warehouse (read-only, only when a mart changed), and shows its verdict in the asset's
automation history, next to the eager conditions of everything else.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import dagster as dg

from trending_assets.defs.warehouse.assets import TITLE_GENRES, TITLES
from trending_assets.lib.ml import retraining
from trending_assets.settings import get_settings

log = logging.getLogger(__name__)

MARTS = (TITLES, TITLE_GENRES)
TRAINING_SET = dg.AssetKey("training_set")

# The count of trainable labelled titles for (warehouse, newest mart materialisation):
# every training asset evaluates the condition on the same tick; the warehouse is read once.
_count_cache: dict[tuple[str, int], int] = {}


def _latest_storage_id(instance: dg.DagsterInstance, key: dg.AssetKey) -> int | None:
    records = instance.fetch_materializations(key, limit=1).records
    return records[0].storage_id if records else None


def _plain(value: object) -> object:
    return getattr(value, "value", value)


def training_baseline(instance: dg.DagsterInstance) -> retraining.TrainingBaseline | None:
    """What the last training saw, from ``training_set``'s last materialisation."""
    event = instance.get_latest_materialization_event(TRAINING_SET)
    if event is None or event.asset_materialization is None:
        return None
    metadata = {k: _plain(v) for k, v in event.asset_materialization.metadata.items()}
    return retraining.baseline_from_metadata(metadata)


def count_trainable_titles_in_warehouse(warehouse: Path) -> int:
    """Trainable labelled titles in the warehouse marts, read through a read-only connection."""
    import duckdb

    if not warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        titles = con.execute(
            "select title_id, title, plot, title_type, original_language, sources from titles"
        ).df()
        title_genres = con.execute("select title_id, genre_id from title_genres").df()
    return retraining.count_trainable_titles(titles, title_genres)


def current_trainable_titles(marts_storage_id: int) -> int:
    warehouse = get_settings().warehouse
    key = (str(warehouse), marts_storage_id)
    if key not in _count_cache:
        count = count_trainable_titles_in_warehouse(warehouse)
        _count_cache.clear()
        _count_cache[key] = count
    return _count_cache[key]


class NewLabelledTitles(dg.AutomationCondition):
    """True on the tick where the marts changed and ``min_new_titles`` new labelled titles arrived.

    The cursor is the newest ``titles`` / ``title_genres`` materialisation already looked at,
    so the warehouse is read only after the marts change, and a count below the threshold
    is not re-read every tick. If the warehouse cannot be read (a writer holds DuckDB's lock,
    no warehouse yet), the condition is false and the cursor stays, so the next tick tries again.
    """

    def __init__(self, min_new_titles: int) -> None:
        self.min_new_titles = max(1, int(min_new_titles))

    @property
    def name(self) -> str:
        return "new_labelled_titles"

    @property
    def description(self) -> str:
        return (
            f"At least {self.min_new_titles} new trainable labelled titles since the last "
            "training (checked when titles/title_genres change)"
        )

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        instance = context.asset_graph_view.instance
        state = json.loads(context.cursor) if context.cursor else {}
        seen = state.get("marts_storage_id")
        mart_ids = [_latest_storage_id(instance, key) for key in MARTS]
        if any(i is None for i in mart_ids):
            return self._result(context, False, state, "the marts are not built yet")
        marts_id = max(i for i in mart_ids if i is not None)
        if seen is not None and marts_id <= seen:
            return self._result(context, False, state, state.get("reason", "no mart change"))

        try:
            current = current_trainable_titles(marts_id)
        except Exception as error:  # noqa: BLE001 - a locked or missing warehouse: try next tick
            context.log.info(f"retraining check postponed, warehouse not readable: {error}")
            return self._result(context, False, state, f"warehouse not readable: {error}")
        decision = retraining.decide_retraining(
            current, training_baseline(instance), self.min_new_titles
        )
        context.log.info(f"{context.key.to_user_string()}: {decision.reason}")
        state = {
            "marts_storage_id": marts_id,
            "reason": decision.reason,
            "new_titles": decision.new_titles,
            "current_titles": decision.current_titles,
            "baseline_titles": decision.baseline_titles,
        }
        return self._result(context, decision.retrain, state, decision.reason)

    def _result(
        self, context: dg.AutomationContext, true: bool, state: dict, reason: str
    ) -> dg.AutomationResult:
        subset = context.candidate_subset if true else context.get_empty_subset()
        metadata = {
            "reason": dg.MetadataValue.text(reason),
            "min_new_titles": dg.MetadataValue.int(self.min_new_titles),
            **{
                name: dg.MetadataValue.int(int(state[name]))
                for name in ("new_titles", "current_titles", "baseline_titles")
                if state.get(name) is not None
            },
        }
        return dg.AutomationResult(
            context, true_subset=subset, cursor=json.dumps(state), metadata=metadata
        )


def retrain_condition(min_new_titles: int | None = None) -> dg.AutomationCondition:
    """The training assets' condition: enough new labelled titles, then the usual guards.

    ``since_last_handled`` keeps a positive verdict until the assets are requested (a tick
    where a dependency is still in progress only delays the retraining). A failed
    retraining is not retried every tick: the verdict is only renewed by the next mart change.
    """
    if min_new_titles is None:
        min_new_titles = get_settings().retrain_min_new_titles
    AC = dg.AutomationCondition
    return (
        NewLabelledTitles(min_new_titles)
        .since_last_handled()
        .with_label(f"≥{max(1, int(min_new_titles))} new labelled titles since the last training")
        & ~AC.any_deps_missing()
        & ~AC.any_deps_in_progress()
        & ~AC.in_progress()
        & AC.all_deps_blocking_checks_passed()
    ).with_label("retrain")


DBT_ASSETS = dg.AssetSelection.kind("dbt")
INGEST_ASSETS = dg.AssetSelection.groups("ingest")  # driven by the schedule and sensors
PYTHON_ASSETS = dg.AssetSelection.all() - DBT_ASSETS - INGEST_ASSETS

automation_dbt = dg.AutomationConditionSensorDefinition(
    "automation_dbt",
    target=DBT_ASSETS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    # New crawl data arrives a few times a day at most: a minute's delay is nothing, and
    # the daemon does not re-evaluate ~30 dbt assets every 30 s (the default).
    minimum_interval_seconds=60,
    description=(
        "Declarative automation of the dbt models (eager after their upstreams, held by failed "
        "blocking checks). Evaluated in the daemon."
    ),
)

# `use_user_code_server` is "beta" in Dagster (we pin the version and test the sensor): its
# notice is silenced at this one call, not for the process.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", category=dg.BetaWarning)
    automation_python = dg.AutomationConditionSensorDefinition(
        "automation_python",
        target=PYTHON_ASSETS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=60,
        # The retraining condition is custom Python: it must run in the code server.
        use_user_code_server=True,
        description=(
            "Declarative automation of every non-dbt asset downstream of ingestion: features, "
            "enrichment, serving, monitoring eagerly; the genre models only when "
            "TRENDING_RETRAIN_MIN_NEW_TITLES new labelled titles arrived since the last training."
        ),
    )
