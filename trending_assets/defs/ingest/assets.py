"""Raw assets: crawls of the listing sites, public datasets and the TMDb API, into the lake and `raw.*`."""

import contextlib
import tempfile
from datetime import date
from pathlib import Path
from typing import Literal

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from trending_assets.defs.resources import (
    WAREHOUSE_POOL,
    CrawlerResource,
    DatasetsResource,
    LakeResource,
    TmdbApiResource,
)
from trending_assets.defs.shared import FULL_RUN_TAG, step_progress
from trending_assets.lib import crawl, landing
from trending_assets.lib.coercion import TextLimits
from trending_assets.lib.ingest import StoredBatch, store_raw_batch
from trending_assets.lib.progress import progress_lines
from trending_assets.lib.validation import (
    ApiRelease,
    CrawledListing,
    CrawledReview,
    ListingRecord,
    ReviewRecord,
)
from trending_assets.lib.warehouse import ensure_raw_tables, replace_crawl_sources
from trending_assets.settings import (
    TrendingSettings,
    crawl_plan,
    first_crawl_day_path,
    get_settings,
    record_first_crawl_day,
    site_dirs,
)

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=get_settings().first_partition_day.isoformat(), end_offset=1
)

RAW_LISTINGS = dg.AssetKey(["raw", "listings"])
RAW_REVIEWS = dg.AssetKey(["raw", "reviews"])
RAW_DATASET_LISTINGS = dg.AssetKey(["raw", "dataset_listings"])
RAW_DATASET_REVIEWS = dg.AssetKey(["raw", "dataset_reviews"])
RAW_API_RELEASES = dg.AssetKey(["raw", "api_releases"])


def text_limits() -> TextLimits:
    """The bounds on raw text from the settings (`TRENDING_MAX_*`)."""
    settings = get_settings()
    return TextLimits(
        plot_chars=settings.max_plot_chars,
        review_chars=settings.max_review_chars,
        title_chars=settings.max_title_chars,
        tag_chars=settings.max_tag_chars,
        genre_labels=settings.max_genre_labels,
    )


def batch_metadata(batch: StoredBatch, **extra: object) -> dict[str, object]:
    metadata: dict[str, object] = {
        "dagster/row_count": batch.rows,
        "quarantined_rows": batch.quarantined,
        "quarantine_reasons": dg.MetadataValue.json(batch.reasons),
        # Stored rows whose values coercion changed, by reason (lib/coercion.py).
        "coerced_values": batch.coerced_values,
        "coerced_to_null": dg.MetadataValue.json(batch.coerced.get("null", {})),
        "truncated": dg.MetadataValue.json(batch.coerced.get("truncated", {})),
        "adjusted": dg.MetadataValue.json(batch.coerced.get("adjusted", {})),
        "preview": dg.MetadataValue.md(
            batch.preview.astype(str).to_markdown(index=False)
            if len(batch.preview)
            else "_no rows_"
        ),
    }
    if batch.lake_uri:
        metadata["lake_uri"] = dg.MetadataValue.path(batch.lake_uri)
    if batch.coercion_log_uri:
        metadata["coercion_log_uri"] = dg.MetadataValue.path(batch.coercion_log_uri)
    metadata.update(extra)
    return metadata


class RawCrawlConfig(dg.Config):
    """Where a day's crawl comes from.

    ``crawl`` (the default, what the daily schedule runs): crawl the sources now, keep the
    feeds in ``landing/crawl/<day>/``, and ingest them together with whatever external
    crawlers landed for that day. ``landing``: crawl nothing; ingest what is already in the
    landing area for the day (what the landing sensor requests).
    """

    source: Literal["crawl", "landing"] = "crawl"
    # Carry title pages forward from the latest earlier crawl when the site's sitemap says
    # they did not change since (scrapers/carry.py); a full run (`make materialize
    # FULL=1`) fetches every page.
    carry_forward: bool = True


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            RAW_LISTINGS,
            description="Title listings, one crawl of the listing sites per day (JSON-LD first, HTML fallback), plus files external crawlers landed for the day.",
            kinds={"scrapy", "parquet", "duckdb"},
        ),
        dg.AssetSpec(
            RAW_REVIEWS,
            description="User reviews (text, 1-10 rating, date, author) from the same daily crawl and landed files.",
            kinds={"scrapy", "parquet", "duckdb"},
        ),
    ],
    name="raw_crawl",
    group_name="ingest",
    partitions_def=daily_partitions,
    pool=WAREHOUSE_POOL,
)
def raw_crawl(
    context: dg.AssetExecutionContext,
    config: RawCrawlConfig,
    crawler: CrawlerResource,
    lake: LakeResource,
    warehouse: DuckDBResource,
):
    """Crawl the sources as they stand on the partition's day (or take the landed files) and store both feeds."""
    day = date.fromisoformat(context.partition_key)
    store = lake.get_lake()
    limits = text_limits()
    with tempfile.TemporaryDirectory(prefix=f"crawl-{day}-") as tmp:
        output: crawl.CrawlOutput | None = None
        sources: crawl.Sources = {}
        summary: pd.DataFrame | None = None
        if config.source == "crawl":
            out_dir = Path(tmp) / "crawl"
            previous = None
            if config.carry_forward and context.run.tags.get(FULL_RUN_TAG) != "true":
                prefix = f"{landing.LANDING}/{landing.BUILTIN_SPIDER}"
                previous = crawl.fetch_previous_crawl(
                    store.read_bytes, store.list_keys(prefix), prefix, day, Path(tmp) / "previous"
                )
                if previous is not None:
                    context.log.info(f"unchanged title pages carried forward from {previous[1]}")
            # Configured sites (entries checked: a bare name needs its site file), or the
            # demo catalog's sites served for this day.
            entries, with_demo = crawl_plan(
                crawler.sources, site_dirs(crawler.sites_dir), crawler.profile
            )
            demo = (
                crawl.demo_sources(day, n_titles=crawler.demo_titles, seed=crawler.demo_seed)
                if with_demo
                else contextlib.nullcontext({})
            )
            with demo as demo_urls:
                sources = [f"{name}={url}" for name, url in demo_urls.items()] + entries
                context.log.info(f"crawling {day}: {sources}")
                output = crawl.run_crawl(
                    sources,
                    out_dir,
                    crawl_date=day,
                    timeout_s=crawler.timeout_s,
                    max_pages=crawler.max_pages,
                    sites_dir=crawler.sites_dir,
                    on_progress=progress_lines(step_progress(context)),
                    previous=previous,
                )
            # The feeds, stats and crawl logs are the raw record of the crawl: kept as they came.
            for path in sorted(out_dir.iterdir()):
                store.write_bytes(
                    f"{landing.LANDING}/{landing.BUILTIN_SPIDER}/{day}/{path.name}",
                    path.read_bytes(),
                )
            named = [crawl.source_name(a) for a in crawl.source_arguments(sources)]
            summary = crawl.source_summary(
                output.stats,
                sources=[n for n in named if n],
                empty_causes=output.empty_causes,
            )
            for name in output.empty_sources:
                cause = output.empty_causes.get(name) or "no cause given"
                context.log.error(
                    f"source {name} yielded 0 titles ({cause}): "
                    "the blocking check crawl_sources_yield_titles fails on it"
                )

        feeds = {
            "listings": (RAW_LISTINGS, CrawledListing),
            "reviews": (RAW_REVIEWS, CrawledReview),
        }
        with warehouse.get_connection() as con:
            if summary is not None:
                ensure_raw_tables(con)
                replace_crawl_sources(con, day, summary)
            for feed, (key, model) in feeds.items():
                # Everything landed for the day; the built-in crawl's files only when this
                # run did not just crawl (then its output is read from the crawl directory).
                landed = landing.load_partition_feed(
                    store, context.partition_key, feed, include_builtin=output is None
                )
                frames, rejects, stats = [landed.rows], [landed.rejects], dict(landed.stats)
                if output is not None:
                    rows, unreadable = crawl.read_jsonl(output.feed_path(feed))
                    frames.insert(0, rows)
                    rejects += [unreadable, output.dropped(feed)]
                    for name, value in output.stats.get(feed, {}).items():
                        stats[name] = (
                            stats.get(name, 0) + value if isinstance(value, (int, float)) else value
                        )
                frames = [f for f in frames if len(f)]
                rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
                if len(rows):
                    rows["crawl_date"] = day
                bad = [r for r in rejects if len(r)]
                batch = store_raw_batch(
                    con,
                    store,
                    table=feed,
                    model=model,
                    rows=rows,
                    asset=key.to_user_string(),
                    partition=context.partition_key,
                    lake_key=f"raw/{feed}/crawl_date={day}/{feed}.parquet",
                    where="crawl_date = ?",
                    params=[day],
                    rejects=pd.concat(bad, ignore_index=True) if bad else None,
                    limits=limits,
                )
                totals = crawl.summarise_stats(stats)
                yield dg.MaterializeResult(
                    asset_key=key,
                    metadata=batch_metadata(
                        batch,
                        source=config.source,
                        sources=dg.MetadataValue.json(sources),
                        landed_spiders=dg.MetadataValue.json(landed.spiders),
                        landed_files=dg.MetadataValue.json(landed.files),
                        crawl_pages=totals["pages"],
                        crawl_carried_pages=totals["carried_pages"],
                        crawl_items=totals["items"],
                        crawl_drops=dg.MetadataValue.json(totals["drops"]),
                        crawl_errors=dg.MetadataValue.json(totals["errors"]),
                        **crawl_source_metadata(output, summary, feed),
                    ),
                )
        # Daily partitions start at the first day crawled into this warehouse (read when
        # the definitions load; TRENDING_PARTITIONS_START overrides it).
        record_first_crawl_day(first_crawl_day_path(warehouse.database), day)


def crawl_source_metadata(
    output: crawl.CrawlOutput | None, summary: pd.DataFrame | None, feed: str
) -> dict[str, object]:
    """Per source of this run's crawl: pages, titles, reviews, ... ; outcomes; missing fields."""
    if output is None or summary is None:
        note = "no crawl in this run (source: landing): the landed files only"
        return {"crawl_sources": dg.MetadataValue.md(f"_{note}_")}
    metadata: dict[str, object] = {
        "crawl_sources": dg.MetadataValue.md(crawl.source_summary_markdown(summary, feed)),
        "crawl_outcomes": dg.MetadataValue.json(output.outcomes(feed)),
        "crawl_missing_fields": dg.MetadataValue.json(output.missing_fields(feed)),
    }
    if feed == "listings":
        empty = summary[(summary["spider"] == "listings") & (summary["titles"] == 0)]
        metadata["empty_sources"] = dg.MetadataValue.json(
            {str(row.source): str(row.empty_cause) for row in empty.itertuples()}
        )
    return metadata


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            RAW_DATASET_LISTINGS,
            description="Listings from public datasets (TMDB 5000, Netflix/Hulu/Disney+, Wikipedia plots, CMU) in their published formats.",
            kinds={"pandas", "parquet", "duckdb"},
        ),
        dg.AssetSpec(
            RAW_DATASET_REVIEWS,
            description="Reviews from public datasets (the aclImdb tarball layout).",
            kinds={"pandas", "parquet", "duckdb"},
        ),
    ],
    name="raw_datasets",
    group_name="ingest",
    pool=WAREHOUSE_POOL,
)
def raw_datasets(
    context: dg.AssetExecutionContext,
    datasets: DatasetsResource,
    lake: LakeResource,
    warehouse: DuckDBResource,
):
    """Load every configured dataset; with none configured (the demo profile) the tables are emptied."""
    from trending_assets.lib.datasets import load_listings, load_reviews

    loaded: dict[str, tuple[list[pd.DataFrame], list[pd.DataFrame]]] = {
        "dataset_listings": ([], []),
        "dataset_reviews": ([], []),
    }
    for spec in datasets.paths:
        for table, loader in (
            ("dataset_listings", load_listings),
            ("dataset_reviews", load_reviews),
        ):
            result = loader(spec)
            frame = result.frame.head(datasets.max_rows) if datasets.max_rows else result.frame
            loaded[table][0].append(frame)
            loaded[table][1].append(result.rejects)
            context.log.info(f"{spec}: {table} {len(frame)} rows, {len(result.rejects)} rejects")

    def combined(frames: list[pd.DataFrame]) -> pd.DataFrame:
        frames = [f for f in frames if len(f)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    note = (
        f"{len(datasets.paths)} dataset spec(s): {', '.join(datasets.paths)}"
        if datasets.paths
        else "no datasets configured (TRENDING_DATASET_PATHS is empty, as in the demo profile)"
    )
    store = lake.get_lake()
    with warehouse.get_connection() as con:
        for table, key, model in (
            ("dataset_listings", RAW_DATASET_LISTINGS, ListingRecord),
            ("dataset_reviews", RAW_DATASET_REVIEWS, ReviewRecord),
        ):
            frames, rejects = loaded[table]
            batch = store_raw_batch(
                con,
                store,
                table=table,
                model=model,
                rows=combined(frames),
                asset=key.to_user_string(),
                partition="all",
                lake_key=f"raw/{table}/{table}.parquet",
                where="true",
                params=[],
                rejects=combined(rejects),
                limits=text_limits(),
            )
            yield dg.MaterializeResult(
                asset_key=key,
                metadata=batch_metadata(batch, datasets=note),
                data_version=dg.DataVersion(batch.content_hash),
            )


@dg.asset(
    key=RAW_API_RELEASES,
    group_name="ingest",
    description="Last week's new movie and TV releases from the TMDb discover API (off without TMDB_API_KEY or a base URL).",
    kinds={"api", "parquet", "duckdb"},
    pool=WAREHOUSE_POOL,
)
def raw_api_releases(
    context: dg.AssetExecutionContext,
    tmdb: TmdbApiResource,
    lake: LakeResource,
    warehouse: DuckDBResource,
) -> dg.MaterializeResult:
    today = date.today()
    if tmdb.enabled:
        from trending_assets.lib.tmdb_api import fetch_recent_releases

        since, until = tmdb.window(today)
        kwargs = {"base_url": tmdb.base_url} if tmdb.base_url else {}
        result = fetch_recent_releases(
            api_key=tmdb.api_key, since=since, until=until, max_pages=tmdb.max_pages, **kwargs
        )
        rows, rejects = result.frame, result.rejects
        note = f"releases from {since} to {until}"
    else:
        rows, rejects = pd.DataFrame(), None
        note = "off: set TMDB_API_KEY (or TRENDING_TMDB_BASE_URL) to fetch new releases"
    if len(rows):
        rows = rows.assign(fetched_on=today)
    with warehouse.get_connection() as con:
        batch = store_raw_batch(
            con,
            lake.get_lake(),
            table="api_releases",
            model=ApiRelease,
            rows=rows,
            asset=RAW_API_RELEASES.to_user_string(),
            partition=today.isoformat(),
            lake_key=f"raw/api_releases/fetched_on={today}/api_releases.parquet",
            where="fetched_on = ?",
            params=[today],
            rejects=rejects,
            limits=text_limits(),
        )
    context.log.info(note)
    return dg.MaterializeResult(
        metadata=batch_metadata(batch, window=note), data_version=dg.DataVersion(batch.content_hash)
    )


def volatile_sources(settings: TrendingSettings, tmdb: TmdbApiResource) -> list[dg.AssetKey]:
    """Ingest assets whose sources can change at any time when they are configured: the
    datasets (files that can be replaced) and the TMDb API. `trending materialize` runs
    them before deciding what is stale; their content-hash data versions tell whether
    anything downstream changed (``defs/automation/run_plan.py``). Unconfigured, they store
    nothing, and their code version (with the settings) says all there is."""
    keys = []
    if settings.dataset_paths:
        keys += [RAW_DATASET_LISTINGS, RAW_DATASET_REVIEWS]
    if tmdb.enabled:
        keys.append(RAW_API_RELEASES)
    return keys
