"""The landing sensor: crawl files dropped into the lake by external crawlers start their day's ingestion.

Layout and checks: ``trending_assets/lib/landing.py``. Per tick the sensor lists
``landing/`` (a local directory or an S3 prefix, through the ``lake`` resource), reads only
files whose fingerprint (size + mtime or ETag) it has not seen, and:

- good feed files: one run of ``daily_crawl_job`` per day they belong to, with
  ``source: landing`` (ingest what landed, crawl nothing). The run key is the day plus the
  files' content hashes, and the run carries the hashes in a tag, so a file is never
  ingested twice: not on the next tick (cursor), not after a restart (the cursor is stored
  by Dagster), not after a cursor reset (the runs already in the instance cover its hash);
- malformed files: a reason file under ``landing/_quarantine/`` and an observation on the
  feed's asset; no run. The ingest step skips the same file with the same reason in
  ``raw.quarantine`` if a later run of that day meets it;
- counts of each in the tick's log and skip message.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from trending_assets.defs.automation.schedules import LANDING_RUN_CONFIG, daily_crawl_job
from trending_assets.defs.ingest.assets import RAW_LISTINGS, RAW_REVIEWS, daily_partitions
from trending_assets.defs.resources import LakeResource
from trending_assets.lib import landing
from trending_assets.settings import get_settings

LANDING_PARTITION_TAG = "trending/landing_partition"
LANDING_FILES_TAG = (
    "trending/landing_files"  # comma-separated sha256 prefixes of the files that triggered it
)
HASH_CHARS = 16
FEED_ASSETS = {"listings": RAW_LISTINGS, "reviews": RAW_REVIEWS}


def covered_hashes(instance: dg.DagsterInstance, partition: str) -> set[str]:
    """Hashes of the landed files that runs already in the instance were requested for."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(tags={LANDING_PARTITION_TAG: partition}), limit=1000
    )
    covered: set[str] = set()
    for record in records:
        covered |= set(filter(None, record.dagster_run.tags.get(LANDING_FILES_TAG, "").split(",")))
    return covered


def _quarantine_event(
    item: landing.LandedFile, reason_key: str, partition_ok: bool
) -> dg.AssetObservation | None:
    asset = FEED_ASSETS.get(item.landed.feed or "")
    if asset is None:
        return None
    return dg.AssetObservation(
        asset_key=asset,
        partition=item.landed.partition if partition_ok else None,
        metadata={
            "landing_quarantined_file": item.key,
            "reason": item.inspection.problem or "",
            "sha256": item.inspection.sha256,
            "reason_file": reason_key,
        },
    )


def _now() -> datetime:
    return datetime.now(UTC)


@dg.sensor(
    name="landing_sensor",
    job=daily_crawl_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "New crawl files in the lake's landing/<spider>/<YYYY-MM-DD>/ start ingestion of their day "
        "(daily_crawl_job, source: landing); malformed files are quarantined with their reason "
        "under landing/_quarantine/."
    ),
)
def landing_sensor(context: dg.SensorEvaluationContext, lake: LakeResource) -> dg.SensorResult:
    settings = get_settings()
    store = lake.get_lake()
    valid_days = set(daily_partitions.get_partition_keys(current_time=_now()))

    scan = landing.scan_landing(
        store,
        landing.LandingCursor.from_json(context.cursor),
        partition_ok=valid_days.__contains__,
        max_entries=settings.landing_cursor_max_entries,
        max_new_files=settings.landing_max_files_per_tick,
    )

    events: list[dg.AssetObservation] = []
    for item in scan.malformed:
        reason_key = landing.quarantine(store, item)
        context.log.warning(f"quarantined {item.key}: {item.inspection.problem} ({reason_key})")
        event = _quarantine_event(item, reason_key, item.landed.partition in valid_days)
        if event is not None:
            events.append(event)

    requests: list[dg.RunRequest] = []
    already = 0
    for partition, items in scan.partitions().items():
        covered = covered_hashes(context.instance, partition)
        fresh = [i for i in items if i.inspection.sha256[:HASH_CHARS] not in covered]
        already += len(items) - len(fresh)
        if not fresh:
            continue
        digests = sorted({i.inspection.sha256 for i in fresh})
        requests.append(
            dg.RunRequest(
                run_key=landing.run_key(partition, digests),
                partition_key=partition,
                run_config=LANDING_RUN_CONFIG,
                tags={
                    LANDING_PARTITION_TAG: partition,
                    LANDING_FILES_TAG: ",".join(d[:HASH_CHARS] for d in digests),
                },
            )
        )

    counts = {**scan.counts(), "already_ingested": already, "runs_requested": len(requests)}
    summary = ", ".join(f"{name} {value}" for name, value in counts.items())
    context.log.info(f"landing scan: {summary}")
    return dg.SensorResult(
        run_requests=requests or None,
        cursor=scan.cursor.to_json(),
        asset_events=events,
        skip_reason=None if requests else f"no new landed file to ingest ({summary})",
    )
