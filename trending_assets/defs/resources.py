"""Typed resources, configured in one place from the settings module.

Switching between the local demo and a deployment is a matter of environment
variables (see `.env.example`); nothing branches on them outside this module and
`trending_assets.settings`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliInvocation, DbtCliResource, DbtProject
from dagster_duckdb import DuckDBResource
from packaging.version import Version
from pydantic import Field

from trending_assets.lib.artifacts import ArtifactStore
from trending_assets.lib.dbt_runner import run_dbt
from trending_assets.lib.lake import Lake, LocalLake, S3Lake
from trending_assets.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR, get_settings

WAREHOUSE_POOL = "duckdb_warehouse"  # every step that opens warehouse.duckdb runs in it


class WarehouseResource(DuckDBResource):
    """DuckDBResource that creates the warehouse's folder on first use (a fresh data dir)."""

    @contextmanager
    def get_connection(self):
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with super().get_connection() as con:
            yield con


class ProjectDbtResource(DbtCliResource):
    """dagster-dbt's dbt CLI resource, knowing this project's dbt version without asking,
    loading no dbt adapter in the orchestrating process, and running this environment's
    dbt Core in the step's process (:meth:`invoke`).

    Before its first command in a process, dagster-dbt runs ``dbt --version`` to tell dbt
    Core from the Fusion engine: 2.3 s on 2 cores, in every run's process. The project's dbt
    is the ``dbt`` of this virtual environment, that is dbt Core, so the installed dbt-core
    package's version is the answer. Any other executable is still asked.
    """

    @cached_property
    def _cli_version(self) -> Version:
        if Path(self.dbt_executable) == Path(DBT_EXECUTABLE):
            try:
                return Version(package_version("dbt-core"))
            except PackageNotFoundError:
                pass
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        """No dbt adapter in this process: each dbt step starts 0.6 to 2.2 s sooner.

        dagster-dbt loads dbt's adapter in the orchestrating process, besides the dbt
        subprocess, for two things only: ``fetch_column_metadata()`` and
        ``fetch_row_counts()`` on the event stream. The dbt steps use neither; they count
        rows themselves once dbt has let go of the warehouse (DuckDB has one writer).
        Loading it took 2.2 s in a process's first dbt step (dbt's imports, the profile and
        the project) and 0.6 to 0.8 s in each later one. A step that wants column metadata
        needs ``DbtCliResource`` itself.
        """
        return None

    in_process: bool = Field(
        default=True,
        description="Run dbt Core in the step's process (dbt's programmatic runner) rather "
        "than as a dbt process per command. Only for this environment's dbt; another "
        "executable always runs as a process.",
    )

    @property
    def runs_in_process(self) -> bool:
        return (
            self.in_process
            and Path(self.dbt_executable) == Path(DBT_EXECUTABLE)
            and self._cli_version.major < 2
        )

    def invoke(
        self,
        args: Sequence[str],
        *,
        context: dg.AssetExecutionContext,
        target_path: Path,
    ) -> DbtCliInvocation | InProcessDbtInvocation:
        """``cli(args, context=..., target_path=...)``, run in this process where it can be
        (:attr:`runs_in_process`). Either answer has the invocation's ``target_path`` and a
        ``stream()`` of the Dagster events of what dbt built and tested, which raises at
        its end when the command failed.

        A dbt process pays dbt's start-up at every command: 5.7 s on 2 cores before a
        partially parsed project builds anything. In the step's process the first command
        takes about 2.4 s and each later one 0.6 s (``lib/dbt_runner.py``).
        """
        if not self.runs_in_process:
            return self.cli(args, context=context, target_path=target_path)
        from dagster_dbt.asset_utils import (
            extract_runtime_selection_from_args,
            get_updated_cli_invocation_params_for_context,
        )

        # What dagster-dbt's cli() passes to a dbt process, as flags rather than variables
        # of a child's environment: the selection of this step's subset, the target and
        # log folders, the project and profiles.
        cleaned, selects, excludes = extract_runtime_selection_from_args(args)
        params = get_updated_cli_invocation_params_for_context(
            context=context,
            manifest={},
            dagster_dbt_translator=DagsterDbtTranslator(),
            runtime_selects=selects,
            runtime_excludes=excludes,
        )
        project_dir = Path(
            params.dbt_project.project_dir if params.dbt_project else self.project_dir
        )
        target = target_path if target_path.is_absolute() else project_dir / target_path
        command = [*self.global_config_flags, *cleaned]
        if self.profile:
            command += ["--profile", self.profile]
        if self.target:
            command += ["--target", self.target]
        command += [*params.selection_args, "--project-dir", str(project_dir)]
        if self.profiles_dir:
            command += ["--profiles-dir", str(self.profiles_dir)]
        # dbt's lines go to the step's log file: no terminal colours in it.
        command += ["--target-path", str(target), "--log-path", str(target), "--no-use-colors"]
        if params.indirect_selection and "--indirect-selection" not in cleaned:
            command += ["--indirect-selection", params.indirect_selection]
        return InProcessDbtInvocation(
            args=command,
            manifest=params.manifest,
            translator=params.dagster_dbt_translator,
            project=params.dbt_project,
            context=context,
            target_path=target,
        )


@dataclass
class InProcessDbtInvocation:
    """One dbt command run in this process: what the dbt steps use of dagster-dbt's
    ``DbtCliInvocation`` (its ``target_path`` and ``stream()``), with dbt's events turned
    into Dagster events by dagster-dbt's own translation."""

    args: list[str]
    manifest: Mapping[str, Any]
    translator: DagsterDbtTranslator
    project: DbtProject | None
    context: dg.AssetExecutionContext
    target_path: Path

    @property
    def dbt_command(self) -> str:
        return " ".join(["dbt", *self.args])

    def stream(self) -> Iterator[Any]:
        from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage
        from dagster_dbt.errors import DagsterDbtCliRuntimeError

        self.context.log.info(f"Running dbt in this process: `{self.dbt_command}`")
        result = run_dbt(self.args)
        if result.interruption is not None:  # Ctrl-C, the run terminated: not dbt's failure
            raise result.interruption
        for raw_event in result.events:
            yield from DbtCoreCliEventMessage(
                raw_event=raw_event, event_history_metadata={}
            ).to_default_asset_events(
                manifest=self.manifest,
                dagster_dbt_translator=self.translator,
                context=self.context,
                target_path=self.target_path,
                project=self.project,
            )
        if not result.success:
            reasons = [*result.errors]
            if result.exception is not None:
                reasons.append(f"{type(result.exception).__name__}: {result.exception}")
            raise DagsterDbtCliRuntimeError(
                description=f"The dbt command\n\n`{self.dbt_command}`\n\nfailed in this "
                f"process. Its log: {self.target_path / 'dbt.log'}"
                + ("\n\nErrors from dbt:\n" + "\n\n".join(reasons) if reasons else "")
            )


class LakeResource(dg.ConfigurableResource):
    """Raw files and Parquet: a local directory, or S3 (via dagster-aws) when a bucket is set."""

    local_root: str
    s3_bucket: str | None = None
    s3_prefix: str = "lake"
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"

    def get_lake(self) -> Lake:
        if self.s3_bucket:
            # Imported here: dagster-aws costs about 2 s to import, on every load of the code
            # location, and only a lake on S3 needs it.
            from dagster_aws.s3 import S3Resource

            client = S3Resource(
                endpoint_url=self.s3_endpoint_url, region_name=self.s3_region
            ).get_client()
            return S3Lake(client, self.s3_bucket, self.s3_prefix)
        return LocalLake(Path(self.local_root))


class LakeIOManager(dg.ConfigurableIOManager):
    """Every asset output that is not a warehouse table lives on the lake (lib/artifacts.py):
    DataFrames as Parquet, other values as joblib files with a manifest, under
    ``assets/<asset key>/``. Nothing is kept under one worker's DAGSTER_HOME, so a step on
    another machine (a celery or k8s worker) reads what the previous step wrote."""

    lake: LakeResource
    prefix: str = "assets"

    def _store(self) -> ArtifactStore:
        return ArtifactStore(self.lake.get_lake(), self.prefix)

    @staticmethod
    def _partition(context: dg.OutputContext | dg.InputContext) -> str | None:
        if not context.has_asset_partitions:
            return None
        keys = context.asset_partition_keys
        if len(keys) != 1:
            raise dg.Failure(
                f"{context.asset_key.to_user_string()}: the lake store keeps one partition "
                f"per value, this step asked for {len(keys)}"
            )
        return keys[0]

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        stored = self._store().save(context.asset_key.path, obj, self._partition(context))
        context.add_output_metadata(
            {
                "stored_at": dg.MetadataValue.path(stored.uri),
                "stored_format": stored.format,
                "stored_bytes": stored.bytes,
            }
        )

    def load_input(self, context: dg.InputContext) -> object:
        return self._store().load(context.asset_key.path, self._partition(context))


class CrawlerResource(dg.ConfigurableResource):
    """Where and how the spiders crawl (`crawl_plan` in settings: in the demo profile, no
    sources means the project's own demo sites).

    ``sources`` are `TRENDING_SOURCES` entries (``name=url``, a site name, a bare URL);
    ``sites_dir`` an extra folder of site files (`TRENDING_SITES_DIR`).
    """

    profile: str = "demo"  # demo | full
    sources: list[str] = []
    sites_dir: str | None = None
    demo_titles: int = 1000
    demo_seed: int = 42
    timeout_s: int = 900
    max_pages: int = 0


class DatasetsResource(dg.ConfigurableResource):
    """Public dataset files or URLs to load; empty (the demo profile) loads nothing."""

    paths: list[str] = []
    max_rows: int = 0


class TmdbApiResource(dg.ConfigurableResource):
    """The TMDb discover API; off unless an API key or a base URL is configured."""

    # The key itself never enters resource config (the UI shows config): only the
    # name of the variable that holds it.
    api_key_env_var: str = "TMDB_API_KEY"
    base_url: str | None = None
    max_pages: int = 5
    lookback_days: int = 7

    @property
    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env_var) or None

    @property
    def enabled(self) -> bool:
        return bool(self.api_key or self.base_url)

    def window(self, today: date) -> tuple[date, date]:
        return today - timedelta(days=self.lookback_days), today


class ServingResource(dg.ConfigurableResource):
    """Where serving snapshots are published, and where the API listens (for summaries)."""

    serving_dir: str
    api_url: str = "http://127.0.0.1:8000"
    keep_versions: int = 3
    trending_window_days: int = 7
    trending_half_life_days: float = 3.0
    trending_min_reviews: int = 3


class GenreModelsResource(dg.ConfigurableResource):
    """Training knobs for the genre models, the champion gate and experiment tracking.

    No defaults here: the settings module holds them (TRENDING_BERT_EPOCHS, ...).
    """

    min_genre_count: int
    split_seed: int
    bert_epochs: int
    bert_max_length: int
    bert_lr: float
    bert_head_lr: float
    bert_row_cap: int
    bert_batch_size: int
    bert_frozen_layers: int
    title_type_feature: bool
    zeroshot_genres: bool
    ensemble_members: list[str]
    xgboost_use_embeddings: bool
    xgboost_search_size: int
    xgboost_rounds: int
    champion_floor: float
    champion_min_improvement: float
    retrain_min_new_titles: int
    wandb_project: str
    wandb_dir: str


class EnrichmentResource(dg.ConfigurableResource):
    """Which provider enriches titles, and the limits it runs under.

    The API key is not config (the UI shows config): the openai provider reads
    OPENAI_API_KEY from the environment when it runs.
    """

    # Defaults live in the settings module (TRENDING_LLM_*).
    provider: str  # auto | openai | local
    base_url: str | None
    model: str
    prompt_version: str
    ab_prompt_version: str
    ab_sample_size: int
    concurrency: int
    max_total_tokens: int | None
    max_cost_usd: float | None
    max_quarantine_rate: float
    max_reviews_per_title: int
    rating_retrain_min_change: float = 0.1

    def resolved_provider(self) -> str:
        if self.provider != "auto":
            return self.provider
        return "openai" if (self.base_url or os.environ.get("OPENAI_API_KEY")) else "local"


def build_resources() -> dict[str, object]:
    settings = get_settings()
    lake = LakeResource(
        local_root=str(settings.lake_root),
        s3_bucket=settings.s3_bucket,
        s3_prefix=settings.s3_prefix,
        s3_endpoint_url=settings.s3_endpoint_url,
        s3_region=settings.s3_region,
    )
    return {
        "lake": lake,
        # Every asset output that is not a warehouse table: on the same lake.
        "io_manager": LakeIOManager(lake=lake),
        "warehouse": WarehouseResource(database=str(settings.warehouse)),
        "dbt": ProjectDbtResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            dbt_executable=DBT_EXECUTABLE,
        ),
        "crawler": CrawlerResource(
            profile=settings.profile,
            sources=settings.sources,
            sites_dir=str(settings.sites_dir.resolve()) if settings.sites_dir else None,
            demo_titles=settings.demo_titles,
            demo_seed=settings.demo_seed,
            timeout_s=settings.crawl_timeout_s,
            max_pages=settings.crawl_max_pages,
        ),
        "datasets": DatasetsResource(
            paths=settings.dataset_paths, max_rows=settings.dataset_max_rows
        ),
        "tmdb": TmdbApiResource(
            base_url=settings.tmdb_base_url,
            max_pages=settings.tmdb_max_pages,
        ),
        "genre_models": GenreModelsResource(
            **settings.model_dump(include=set(GenreModelsResource.model_fields) - {"wandb_dir"}),
            wandb_dir=str((settings.data_dir / "wandb").resolve()),
        ),
        # TRENDING_LLM_<FIELD> -> EnrichmentResource.<field>
        "enrichment": EnrichmentResource(
            **{
                field: getattr(settings, f"llm_{field}")
                for field in EnrichmentResource.model_fields
            }
        ),
        "serving": ServingResource(
            serving_dir=str(settings.serving_root),
            api_url=f"http://{settings.api_host}:{settings.api_port}",
            trending_window_days=settings.trending_window_days,
            trending_half_life_days=settings.trending_half_life_days,
            trending_min_reviews=settings.trending_min_reviews,
        ),
    }
