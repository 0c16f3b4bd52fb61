"""The code location: every domain folder under `defs/` is loaded; nothing is listed by hand.

Platform-wide policy lives here, applied to the resolved asset specs:

- **Freshness**: every asset gets the default freshness window unless it declares its own
  (the assets users feel staleness in do, in their domain folders).
- **Declarative automation** (:func:`_automation`), one condition per kind of asset:

  - the raw ingest assets (group ``ingest``): none. The daily crawl schedule, the backfill
    sensor and the landing sensor drive them;
  - the training assets (``TRAINING_ASSETS``: the training split, the TF-IDF fitted on it,
    the four genre models): ``retrain_condition()``, true only when at least
    ``TRENDING_RETRAIN_MIN_NEW_TITLES`` (default 50) new trainable labelled titles arrived
    since the last training (``defs/automation/declarative.py``, ``lib/ml/retraining.py``);
  - every other asset, i.e. everything downstream of ingestion (dbt models, features,
    evaluation and champion, enrichment, trending scores, the serving snapshot, the drift
    report) and the dbt seeds: ``EAGER = (eager() | code_version_changed()) &
    all_deps_blocking_checks_passed()``. An asset updates as soon as an upstream updated or
    its code version changed (new code, or a setting that changes outputs; see "Code
    versions" below), unless an upstream blocking check failed: bad data never flows on.
    ``genre_model_ensemble`` (registered members, not retrained), ``model_evaluation`` and
    ``champion_model`` are eager, so they follow a retraining in the same run;
  - assets reading a daily-partitioned crawl asset directly (the crawl staging models,
    ``drift_report``): ``EAGER_AFTER_DAILY``. They are unpartitioned and read every day, so
    plain ``eager()`` would never fire (some past day is always missing, and "all
    deps' blocking checks passed" needs a passed check on every day). For those deps, days
    never crawled are ignored, and no crawled day may have failed a blocking check (a day
    whose latest check failed holds the downstream until it is crawled again and passes).

  The conditions act only through the automation sensors ``automation_dbt`` and
  ``automation_python`` (``defs/automation/declarative.py``), which together target every
  automated asset exactly once.
- **Code versions** (:func:`code_version_for`): every asset but the day's crawl has one, so
  Dagster's data versions tell what is stale (the UI shows it; `trending materialize`
  runs only that, see ``defs/automation/run_plan.py``). It is the asset's own version (the
  dbt model's checksum, the ML code's hash, the enrichment's prompt and schema), else a
  hash of the pipeline's code, joined with a fingerprint of the settings that change
  outputs (``settings.output_fingerprint``); dbt assets add a hash of the dbt project's
  macros and configuration, which the model checksums do not cover.
"""

import hashlib
import os
import warnings
from datetime import timedelta
from functools import cache
from pathlib import Path

import dagster as dg

from trending_assets.defs.automation.declarative import retrain_condition
from trending_assets.defs.quality import TABLE_MODELS, column_schema
from trending_assets.settings import DBT_PROJECT_DIR, REPO_ROOT, get_settings, output_fingerprint

DEFAULT_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=48), warn_window=timedelta(hours=26)
)
# What users look at: a day's crawl, the enrichments and the published snapshot.
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=26), warn_window=timedelta(hours=25)
)
DAILY_FRESH_ASSETS = ("raw/listings", "raw/reviews", "llm_enrichments", "serving_snapshot")

AC = dg.AutomationCondition
INGEST_GROUP = "ingest"
# The daily-partitioned crawl assets (trending_assets/defs/ingest/assets.py).
DAILY_PARTITIONED = (dg.AssetKey(["raw", "listings"]), dg.AssetKey(["raw", "reviews"]))
TRAINING_ASSETS = (
    "training_set",
    "tfidf_features",
    "genre_model_keyword",
    "genre_model_logreg",
    "genre_model_xgboost",
    "genre_model_bert",
)

_daily = dg.AssetSelection.assets(*DAILY_PARTITIONED)


def _code_changed(missing: dg.AutomationCondition) -> dg.AutomationCondition:
    """A new code version (new code, or a setting that changes outputs) since the last
    evaluation, once no dep is missing and the asset is not being materialised."""
    return (AC.code_version_changed() & ~missing & ~AC.in_progress()).with_label("new code version")


EAGER = (
    (AC.eager() | _code_changed(AC.any_deps_missing())) & AC.all_deps_blocking_checks_passed()
).with_label("eager or new code version, upstream blocking checks passed")
# For a daily-partitioned dep, any_deps_match is true when any of its days matches.
_failed = AC.any_checks_match(AC.check_failed(), blocking_only=True)
EAGER_AFTER_DAILY = (
    (
        AC.eager().replace(AC.any_deps_missing(), AC.any_deps_missing().ignore(_daily))
        | _code_changed(AC.any_deps_missing().ignore(_daily))
    )
    & AC.all_deps_blocking_checks_passed().ignore(_daily)
    & ~AC.any_deps_match(_failed).allow(_daily).with_label("a crawled day failed a blocking check")
).with_label("eager over the crawled days, upstream blocking checks passed")
RETRAIN = retrain_condition()


def _freshness(spec: dg.AssetSpec) -> dg.AssetSpec:
    if spec.key.to_user_string() in DAILY_FRESH_ASSETS:
        return dg.apply_freshness_policy(spec, DAILY_FRESHNESS)
    return dg.apply_freshness_policy(spec, DEFAULT_FRESHNESS, overwrite_existing=False)


PACKAGE_DIR = Path(__file__).resolve().parent
# How and when the graph runs (and where Dagster records it), not what it computes:
# editing these re-runs nothing.
NOT_PIPELINE_CODE = ("cli.py", "preload.py", "instance.py", "defs/automation/")
PIPELINE_CODE_SUFFIXES = frozenset({".py", ".txt", ".json", ".yml", ".yaml", ".sql", ".csv"})


def files_digest(paths: list[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def package_digest(root: Path) -> str:
    """A hash of the code under ``root`` (Python and the files it reads, such as the
    prompts), leaving out `NOT_PIPELINE_CODE`."""
    paths = [
        p
        for p in root.rglob("*")
        if p.suffix in PIPELINE_CODE_SUFFIXES
        and not p.relative_to(root).as_posix().startswith(NOT_PIPELINE_CODE)
    ]
    return files_digest(paths, root)


@cache
def pipeline_code_version() -> str:
    """The pipeline's code version, for assets that declare no version of their own."""
    return package_digest(PACKAGE_DIR)


@cache
def dbt_project_version() -> str:
    """A hash of what changes every dbt model's output beyond its own SQL (its checksum)."""
    paths = [DBT_PROJECT_DIR / "dbt_project.yml", *(DBT_PROJECT_DIR / "macros").rglob("*.sql")]
    return files_digest([p for p in paths if p.is_file()], DBT_PROJECT_DIR)


def code_version_for(spec: dg.AssetSpec, settings_version: str) -> str | None:
    """The platform's code version of one asset (see the module docstring); None for the
    day's crawl, which is data arriving, not derived: a crawled day stays crawled."""
    if spec.key in DAILY_PARTITIONED:
        return None
    own = spec.code_version or pipeline_code_version()
    if "dbt" in spec.kinds:
        own = f"{own[:12]}.{dbt_project_version()}"
    return f"{own}.{settings_version}"


def automation_condition_for(spec: dg.AssetSpec) -> dg.AutomationCondition | None:
    """The platform's automation policy for one asset (see the module docstring)."""
    if spec.group_name == INGEST_GROUP:
        return None
    if spec.key.to_user_string() in TRAINING_ASSETS:
        return RETRAIN
    if any(dep.asset_key in DAILY_PARTITIONED for dep in spec.deps):
        return EAGER_AFTER_DAILY
    return EAGER


def _automation(spec: dg.AssetSpec) -> dg.AssetSpec:
    return spec.replace_attributes(automation_condition=automation_condition_for(spec))


# Who answers for each group, shown as the assets' owners in the catalog.
OWNERS_BY_GROUP = {
    "ingest": ["team:data-engineering"],
    "warehouse": ["team:analytics-engineering"],
    "features": ["team:ml"],
    "models": ["team:ml"],
    "enrichment": ["team:ml"],
    "serving": ["team:platform"],
    "monitoring": ["team:platform"],
}
DEFAULT_OWNERS = ["team:platform"]


def _catalog(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Owners by group, and the pandera model's columns where the asset declares none."""
    attributes: dict = {}
    if not spec.owners:
        attributes["owners"] = OWNERS_BY_GROUP.get(spec.group_name or "", DEFAULT_OWNERS)
    model = TABLE_MODELS.get(spec.key)
    if model is not None and "dagster/column_schema" not in spec.metadata:
        attributes["metadata"] = {**spec.metadata, "dagster/column_schema": column_schema(model)}
    return spec.replace_attributes(**attributes) if attributes else spec


def check_policy_names(asset_names: set[str]) -> None:
    """The policy lists above name assets by string: an unknown name (a renamed asset) is
    an error when the code location loads, not a policy that silently stops applying."""
    named = {
        *DAILY_FRESH_ASSETS,
        *TRAINING_ASSETS,
        *(k.to_user_string() for k in DAILY_PARTITIONED),
    }
    unknown = sorted(named - asset_names)
    if unknown:
        raise ValueError(
            f"trending_assets/definitions.py names assets that do not exist: {unknown}; "
            "update DAILY_FRESH_ASSETS / TRAINING_ASSETS / DAILY_PARTITIONED"
        )


def apply_platform_policy(loaded: dg.Definitions) -> dg.Definitions:
    settings_version = output_fingerprint(get_settings())

    def _code_version(spec: dg.AssetSpec) -> dg.AssetSpec:
        return spec.replace_attributes(code_version=code_version_for(spec, settings_version))

    # The API is marked "preview" by Dagster; we pin Dagster's version and test this call,
    # so its notice is silenced here (where we chose it) rather than on every load.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.PreviewWarning)
        return loaded.map_resolved_asset_specs(
            func=lambda spec: _catalog(_automation(_freshness(_code_version(spec))))
        )


def load_defs_folder() -> dg.Definitions:
    """Every definition under `defs/`, as ``dg.load_from_defs_folder`` loads them, without
    the catalogue of installed component types it adds.

    That catalogue (metadata for `dg`'s component tooling: a JSON schema of every component
    type each installed Dagster library offers) took about 1 s of every load of the code
    location: the CLI, the UI, the daemon, each step process and each test that loads it.
    This project declares no components in YAML, so nothing here reads it. The tree still
    travels with the definitions, and the definitions are the same
    (`tests/test_architecture.py::test_the_defs_folder_loads_as_dagster_loads_it`).
    """
    from dagster.components.core.component_tree import ComponentTree

    tree = ComponentTree.for_project(path_within_project=Path(REPO_ROOT))
    # Loading a module's definitions is "preview" to Dagster; `load_from_defs_folder`
    # silences that notice for the same call, and so do we (the version is pinned).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.PreviewWarning)
        warnings.simplefilter("ignore", category=dg.BetaWarning)
        found = tree.build_defs_at_path(tree.defs_module_path)
    return dg.Definitions.merge(found, dg.Definitions(component_tree=tree))


def build_definitions() -> dg.Definitions:
    """The code location, built from the settings of this process (its environment)."""
    loaded = load_defs_folder()
    # The whole code location: every name the policy lists use must be one of its assets.
    check_policy_names(
        {key.to_user_string() for key in loaded.resolve_asset_graph().get_all_asset_keys()}
    )
    return apply_platform_policy(loaded)


# Definitions built ahead by the forkserver (trending_assets/preload.py), with the
# fingerprint of the process settings they were built from.
_PRELOADED: tuple[str, dg.Definitions] | None = None


def _settings_source_fingerprint() -> str:
    """What a build reads its settings from: the environment, the working directory and
    the `.env` file in it (pydantic-settings reads it relative to the working directory)."""
    digest = hashlib.sha256()
    for key, value in sorted(os.environ.items()):
        digest.update(f"{key}={value}\0".encode("utf-8", "surrogateescape"))
    cwd = Path.cwd()
    digest.update(str(cwd).encode("utf-8", "surrogateescape"))
    env_file = cwd / ".env"
    digest.update(env_file.read_bytes() if env_file.is_file() else b"no .env")
    return digest.hexdigest()


def preload_definitions() -> None:
    """Build the definitions now, for the processes forked from this one.

    The forkserver of a run's steps calls this once: each step process it forks then finds
    the definitions built (about 2 s a step) instead of building them again. A process
    whose environment, working directory or `.env` differs from the build's builds its own.
    """
    global _PRELOADED
    _PRELOADED = (_settings_source_fingerprint(), build_definitions())


@dg.definitions
def defs() -> dg.Definitions:
    if _PRELOADED is not None and _PRELOADED[0] == _settings_source_fingerprint():
        return _PRELOADED[1]
    return build_definitions()
