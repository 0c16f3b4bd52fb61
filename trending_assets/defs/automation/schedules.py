"""The daily crawl: one run per day partition of the raw crawl assets, and a backfill of missed days."""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

from trending_assets.defs.ingest.assets import RAW_LISTINGS, RAW_REVIEWS, daily_partitions
from trending_assets.settings import get_settings

daily_crawl_job = dg.define_asset_job(
    "daily_crawl_job",
    selection=dg.AssetSelection.assets(RAW_LISTINGS, RAW_REVIEWS),
    description="Crawl the listing sites for one day (raw/listings + raw/reviews).",
)

# Runs each morning for the day's partition; days it missed (the daemon was down, a run
# failed) are requested by `crawl_backfill_sensor` below.
daily_crawl_schedule = dg.build_schedule_from_partitioned_job(
    daily_crawl_job, hour_of_day=6, minute_of_hour=0, name="daily_crawl_schedule"
)

CRAWL_ASSETS = (RAW_LISTINGS, RAW_REVIEWS)
BACKFILL_TAG = "trending/backfill"


def backfill_window(now: datetime, lookback_days: int) -> list[str]:
    """The crawl partitions of the ``lookback_days`` days before today, oldest first.

    Today's own partition is the schedule's to crawl (at 06:00); if that tick is missed,
    tomorrow's window covers it.
    """
    today = now.astimezone(UTC).date()
    first = (today - timedelta(days=lookback_days)).isoformat()
    keys = daily_partitions.get_partition_keys(current_time=now)
    return [key for key in keys if first <= key < today.isoformat()]


def missing_partitions(instance: dg.DagsterInstance, partition_keys: list[str]) -> list[str]:
    """Partitions where either crawl asset was never materialised (and no run is on it now).

    A partition whose last run failed counts as missing: the backfill tries it once more
    (its run key is then spent; later failures are for a person, via run-failure alerts).
    """
    missing: set[str] = set()
    for key in CRAWL_ASSETS:
        status = instance.get_status_by_partition(key, partition_keys, daily_partitions) or {}
        in_progress = {pk for pk, s in status.items() if s == dg.AssetPartitionStatus.IN_PROGRESS}
        missing |= {
            pk
            for pk in partition_keys
            if status.get(pk)
            not in (dg.AssetPartitionStatus.MATERIALIZED, dg.AssetPartitionStatus.IN_PROGRESS)
        }
        missing -= in_progress
    return sorted(missing)


# Run config that makes raw_crawl ingest the day's landed files instead of crawling.
LANDING_RUN_CONFIG = {"ops": {"raw_crawl": {"config": {"source": "landing"}}}}


def backfill_run_key(partition_key: str) -> str:
    return f"backfill:{partition_key}"


def _now() -> datetime:
    return datetime.now(UTC)


@dg.sensor(
    name="crawl_backfill_sensor",
    job=daily_crawl_job,
    minimum_interval_seconds=3600,
    default_status=dg.DefaultSensorStatus.STOPPED,  # on with the schedule: it crawls past days
    description=(
        "Requests the crawl of every day in the last TRENDING_BACKFILL_LOOKBACK_DAYS (default 7, "
        "today excluded) whose raw/listings or raw/reviews partition was never materialised; "
        "one run per day, run key backfill:<day>, so each day is requested once. With "
        "TRENDING_BACKFILL_SOURCE=landing the run ingests the day's landed files instead."
    ),
)
def crawl_backfill_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    window = backfill_window(_now(), get_settings().backfill_lookback_days)
    # The cursor remembers the days already requested inside the window (so it stays
    # bounded); the run key does the same in the daemon even if the cursor is reset.
    try:
        requested = set(json.loads(context.cursor or "[]"))
    except (json.JSONDecodeError, TypeError):
        requested = set()
    missing = missing_partitions(context.instance, window)
    new = [pk for pk in missing if pk not in requested]
    cursor = json.dumps(sorted((requested | set(new)) & set(window)))
    context.log.info(
        f"backfill window {window[0] if window else '-'}..{window[-1] if window else '-'}: "
        f"{len(missing)} day(s) never materialised, {len(new)} newly requested {new}"
    )
    if not new:
        return dg.SensorResult(
            skip_reason=f"no missed day to request in the last {len(window)} day(s) "
            f"({len(missing)} missing, all already requested)",
            cursor=cursor,
        )
    from_landing = get_settings().backfill_source == "landing"
    requests = [
        dg.RunRequest(
            run_key=backfill_run_key(pk),
            partition_key=pk,
            tags={BACKFILL_TAG: "missed_day"},
            run_config=LANDING_RUN_CONFIG if from_landing else {},
        )
        for pk in new
    ]
    return dg.SensorResult(run_requests=requests, cursor=cursor)
