"""The dbt project as Dagster assets: staging, intermediate, marts and the served tables on
DuckDB, dbt tests as checks."""

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DbtProject,
    dbt_assets,
    get_asset_key_for_model,
)
from dagster_duckdb import DuckDBResource

from trending_assets.defs.resources import WAREHOUSE_POOL, ProjectDbtResource
from trending_assets.defs.shared import FULL_RUN_TAG
from trending_assets.lib.dbt_summary import summarise_run_results
from trending_assets.lib.housekeeping import (
    old_dbt_invocations,
    old_parse_states,
    parse_state_path,
    remove_paths,
)
from trending_assets.lib.served_tables import ensure_declared_tables
from trending_assets.lib.warehouse import ensure_raw_tables
from trending_assets.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR, get_settings

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def _manifest_is_stale() -> bool:
    """No manifest yet (a fresh clone), or a dbt file changed since the last parse."""
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return True
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "seeds", "macros", "tests"):
        sources.extend((DBT_PROJECT_DIR / folder).rglob("*"))
    newest = max((p.stat().st_mtime for p in sources if p.is_file()), default=0.0)
    return newest > manifest.stat().st_mtime


def _parse_if_stale() -> None:
    """Parse the dbt project when its manifest is stale; parsing needs no database and
    takes seconds. Processes that load the code location together (the webserver, the
    daemon and the code server of `make run`, parallel test workers) take turns on a lock
    file, so one parses and the others read its manifest rather than a half-written one."""
    import fcntl

    target = DBT_PROJECT_DIR / dbt_project.target_path
    with contextlib.ExitStack() as stack:
        try:
            target.mkdir(parents=True, exist_ok=True)
            lock = stack.enter_context(open(target / ".parse.lock", "w"))
            fcntl.flock(lock, fcntl.LOCK_EX)
        except OSError:
            pass  # no lock where the folder is read-only: dbt's own error names the problem
        if _manifest_is_stale():  # again, under the lock: another process may have parsed
            # With the warehouse the steps pass, so the first step's dbt parses partially
            # (a changed variable makes dbt parse the whole project again: 3 s).
            warehouse_vars = json.dumps({"warehouse_path": str(get_settings().warehouse)})
            ProjectDbtResource(
                project_dir=str(DBT_PROJECT_DIR),
                profiles_dir=str(DBT_PROJECT_DIR),
                dbt_executable=DBT_EXECUTABLE,
            ).cli(
                ["parse", "--quiet", "--vars", warehouse_vars],
                target_path=dbt_project.target_path,
            ).wait()


if _manifest_is_stale():
    _parse_if_stale()


# The model that unions every genre_map_<vocabulary> seed. It finds the seeds in the dbt
# graph when dbt runs and reads their CSV files, so dbt's manifest does not list them as
# its parents; the lineage here does (and so a new or changed seed updates the union).
# Because dbt does not order the union after those seeds, the seeds are their own step
# (`warehouse_dbt_seeds`), which Dagster runs before the models' (`warehouse_dbt_models`).
GENRE_MAPS_MODEL = "int_genre_maps_unioned"
GENRE_MAP_SEED_PREFIX = "genre_map_"
SEEDS = "resource_type:seed"
# The tables the API serves (dbt_project/models/serving): they read the tables of Python
# assets (title_predictions, llm_enrichments, trending_scores: dbt sources mapped to those
# assets), so they are their own step (`warehouse_dbt_serving`), after those assets, and
# the serving_snapshot asset copies them. In the `serving` group.
SERVING_FOLDER = "serving"
SERVING = f"path:models/{SERVING_FOLDER}"


class TrendingDbtTranslator(DagsterDbtTranslator):
    """Every dbt node in the `warehouse` group but the serving models (group `serving`);
    sources keep the keys of the assets that write them (dbt meta: the raw assets, the
    Python assets the serving models read); every `genre_map_*` seed is a parent of
    `int_genre_maps_unioned`."""

    @cached_property
    def _docs_url(self) -> str:
        return f"{get_settings().api_url}/docs/dbt"

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if unique_id.startswith("model.") and unique_id.endswith(f".{GENRE_MAPS_MODEL}"):
            seeds = [
                node_id
                for node_id, node in manifest["nodes"].items()
                if node.get("resource_type") == "seed"
                and node.get("name", "").startswith(GENRE_MAP_SEED_PREFIX)
            ]
            known = {dep.asset_key for dep in spec.deps}
            keys = [self.get_asset_spec(manifest, seed, project).key for seed in sorted(seeds)]
            extra = [key for key in keys if key not in known]
            spec = spec.replace_attributes(deps=[*spec.deps, *extra])
        if unique_id.startswith("seed."):
            # dagster-dbt would end a seed's description with an empty "Raw SQL" block.
            node = manifest["nodes"][unique_id]
            text = (node.get("description") or f"dbt seed {node['name']}").strip()
            spec = spec.replace_attributes(
                description=f"{text}\n\nSeed file: `dbt_project/{node['original_file_path']}`"
            )
        if unique_id.startswith(("model.", "seed.", "snapshot.")):
            fqn = manifest["nodes"][unique_id].get("fqn", [])
            serving = unique_id.startswith("model.") and fqn[1:2] == [SERVING_FOLDER]
            # The node's page in the dbt docs the API serves (`make docs`, `make run`).
            kind = unique_id.split(".", 1)[0]
            docs = f"{self._docs_url}#!/{kind}/{unique_id}"
            return spec.replace_attributes(
                group_name="serving" if serving else "warehouse"
            ).merge_attributes(metadata={"dbt_docs": dg.MetadataValue.url(docs)})
        return spec


def _with_row_counts(events: list, warehouse: DuckDBResource) -> list:
    """Each built model's and seed's ``dagster/row_count`` (the catalog shows it), counted
    once dbt has exited and let go of the warehouse (DuckDB has one writer)."""
    relations: dict[str, str] = {}
    nodes = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))["nodes"]
    for event in events:
        if isinstance(event, dg.Output) and "unique_id" in event.metadata:
            unique_id = event.metadata["unique_id"].value
            node = nodes.get(unique_id, {})
            if node.get("resource_type") in ("model", "seed") and node.get("alias"):
                relations[unique_id] = f'"{node.get("schema", "main")}"."{node["alias"]}"'
    if not relations:
        return events
    counts: dict[str, int] = {}
    with warehouse.get_connection() as con:
        for unique_id, relation in relations.items():
            try:
                counts[unique_id] = int(
                    con.execute(f"select count(*) from {relation}").fetchone()[0]
                )
            except Exception:  # a relation dbt did not build (it failed): no count, no guess
                continue
    counted = []
    for event in events:
        unique_id = event.metadata.get("unique_id") if isinstance(event, dg.Output) else None
        if unique_id is not None and unique_id.value in counts:
            rows = counts[unique_id.value]
            event = event.with_metadata({**event.metadata, "dagster/row_count": rows})
        counted.append(event)
    return counted


def _dbt_build(
    context: dg.AssetExecutionContext,
    dbt: ProjectDbtResource,
    warehouse: DuckDBResource,
    *,
    indirect_selection: str | None = None,
):
    with warehouse.get_connection() as con:
        ensure_raw_tables(con)  # sources must exist even before every raw asset has run
    # The warehouse dbt writes is passed as a dbt variable (profiles.yml reads
    # `warehouse_path`), never by changing this process's environment.
    args = ["build", "--vars", json.dumps({"warehouse_path": str(warehouse.database)})]
    if context.run.tags.get(FULL_RUN_TAG) == "true":
        # `--full`: the incremental models (the crawl's staging) are rebuilt from every row
        args.append("--full-refresh")
    # On a subset (one model, some checks) dagster-dbt chooses the indirect selection itself.
    if indirect_selection and not context.is_subset:
        args += ["--indirect-selection", indirect_selection]
    # dagster-dbt's own naming (`<step>-<run id>-<random>`), chosen here so that the parse
    # state of this warehouse is in the folder before dbt starts.
    run_target = dbt_project.target_path / (
        f"{context.op_execution_context.op.name}-{context.run.run_id[:7]}-{uuid.uuid4().hex[:7]}"
    )
    project_target = dbt_project.project_dir / dbt_project.target_path
    warehouse_path = str(warehouse.database)
    _start_from_parse_state(dbt_project.project_dir / run_target, project_target, warehouse_path)
    # dbt Core runs in this process (ProjectDbtResource.invoke): no dbt start-up per step.
    invocation = dbt.invoke(args, context=context, target_path=run_target)
    # dbt prints a line per node (hundreds); they go to a file beside run_results.json, and
    # the run's log gets one summary line (lib/dbt_summary.py). Events are held until dbt
    # exits, then passed on, also when it failed, so the nodes that built are recorded.
    log_path = invocation.target_path / "dbt_output.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    events, error = [], None
    with log_path.open("w", encoding="utf-8") as out, contextlib.redirect_stdout(out):
        try:
            for event in invocation.stream():
                events.append(event)
        except Exception as exc:  # re-raised below, after the summary
            error = exc
    yield from _with_row_counts(events, warehouse)
    results_file = invocation.target_path / "run_results.json"
    if results_file.exists():
        summary = summarise_run_results(json.loads(results_file.read_text(encoding="utf-8")))
        line = summary.line(f"dbt {' '.join(args[:1])}", str(log_path))
        (context.log.info if summary.ok and error is None else context.log.error)(line)
    else:
        context.log.error(f"dbt wrote no run_results.json; full dbt output: {log_path}")
    # Each dbt command leaves a folder of several MB; a step keeps its newest few.
    folders = remove_paths(old_dbt_invocations(project_target))
    states = remove_paths(old_parse_states(project_target))
    if folders or states:
        context.log.info(
            f"removed {len(folders)} old dbt invocation folder(s) and {len(states)} unused "
            f"parse state(s) in {project_target}"
        )
    if error is not None:
        raise error
    _keep_partial_parse(invocation.target_path, project_target, warehouse_path)


def _start_from_parse_state(run_target: Path, project_target: Path, warehouse_path: str) -> None:
    """Put the last parse state of this warehouse in the invocation's target folder, where
    dbt looks for it; a warehouse's first step starts from the project's
    ``partial_parse.msgpack`` (the last step's, of any warehouse, or the load-time parse's).
    dagster-dbt would copy only the project's: another warehouse's state (a second home, a
    test) has another ``warehouse_path`` variable, which makes dbt parse the whole project
    again (3-10 s)."""
    state = parse_state_path(project_target, warehouse_path)
    if not state.exists():
        state = project_target / "partial_parse.msgpack"
    if not state.exists():
        return  # nothing parsed yet: dbt parses the whole project
    try:
        run_target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(state, run_target / "partial_parse.msgpack")
    except OSError:
        pass  # a read-only project folder only costs the whole parse


def _keep_partial_parse(run_target: Path, project_target: Path, warehouse_path: str) -> None:
    """Make this invocation's parse state the one the next invocation starts from: the
    next on this warehouse (:func:`_start_from_parse_state`), and, as the project's
    ``partial_parse.msgpack``, a first step on any (the parse at load time has no
    ``warehouse_path`` variable, so dbt would otherwise parse the whole project again at
    every step). Each copy is swapped in atomically; a read-only project folder only costs
    the re-parse.
    """
    source = run_target / "partial_parse.msgpack"
    if not source.exists():
        return
    for target in (
        parse_state_path(project_target, warehouse_path),
        project_target / "partial_parse.msgpack",
    ):
        temporary = project_target / f".{target.name}.{os.getpid()}.tmp"
        try:
            shutil.copyfile(source, temporary)
            os.replace(temporary, target)
        except OSError:
            temporary.unlink(missing_ok=True)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=TrendingDbtTranslator(),
    pool=WAREHOUSE_POOL,
    select=SEEDS,
    name="warehouse_dbt_seeds",
)
def warehouse_dbt_seeds(
    context: dg.AssetExecutionContext, dbt: ProjectDbtResource, warehouse: DuckDBResource
):
    """`dbt build` of the seeds (taxonomy, source registry, genre maps) and their tests.

    Only tests on seeds alone (indirect selection `cautious`): a test that also reads a
    model (a relationship from a staging model to `source_registry`) runs with the models.
    """
    yield from _dbt_build(context, dbt, warehouse, indirect_selection="cautious")


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=TrendingDbtTranslator(),
    pool=WAREHOUSE_POOL,
    exclude=f"{SEEDS} {SERVING}",  # a space: the union of both
    name="warehouse_dbt_models",
)
def warehouse_dbt_models(
    context: dg.AssetExecutionContext, dbt: ProjectDbtResource, warehouse: DuckDBResource
):
    """`dbt build`: models and their tests, in dependency order (after the seeds' step,
    before the Python assets; the serving models are the serving step's)."""
    yield from _dbt_build(context, dbt, warehouse)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=TrendingDbtTranslator(),
    pool=WAREHOUSE_POOL,
    select=SERVING,
    name="warehouse_dbt_serving",
)
def warehouse_dbt_serving(
    context: dg.AssetExecutionContext, dbt: ProjectDbtResource, warehouse: DuckDBResource
):
    """`dbt build` of the served tables and their tests, after the Python assets they read.

    The Python assets' tables are created empty first where those assets never ran, so
    the served tables always build (and the snapshot publishes) on a fresh warehouse.
    """
    with warehouse.get_connection() as con:
        ensure_declared_tables(con)
    yield from _dbt_build(context, dbt, warehouse)


DBT_ASSETS = (warehouse_dbt_seeds, warehouse_dbt_models, warehouse_dbt_serving)


def dbt_key(name: str) -> dg.AssetKey:
    """The asset key of a dbt model or seed, read from the dbt manifest: a renamed or
    removed model fails when the code location loads, not later in a run."""
    for assets_def in DBT_ASSETS:
        try:
            return get_asset_key_for_model([assets_def], name)
        except KeyError:
            continue
    raise KeyError(f"no dbt model or seed named {name!r} in the dbt project")


# The warehouse tables the Python assets read (their dbt models and seeds).
TITLES = dbt_key("titles")
TITLE_GENRES = dbt_key("title_genres")
REVIEWS = dbt_key("reviews")
TITLE_REVIEW_STATS = dbt_key("title_review_stats")
GENRES = dbt_key("genres")
