"""Resources and the whole-graph job, shared by every domain folder."""

import dagster as dg

from trending_assets.defs.resources import build_resources
from trending_assets.lib.progress import Progress

# A run tagged with this (`make materialize FULL=1`, `trending materialize --full`) redoes
# work that is otherwise reused when its inputs, settings and code did not change.
FULL_RUN_TAG = "trending/full"
# Metadata an asset sets on its materialisation: how many items it could not finish and
# would try again (a remote LLM provider's refusals). `trending materialize` re-runs an
# asset whose last materialisation left some (defs/automation/run_plan.py).
RETRY_PENDING = "retry_pending"

# The job `make materialize` runs: every asset and check, for one crawl partition.
all_assets_job = dg.define_asset_job(
    "all_assets_job",
    selection=dg.AssetSelection.all(),
    description="The whole asset graph for one day: crawl, datasets, dbt build, profile, serving snapshot.",
)


# The executor of every run the daemon launches (schedules, sensors, declarative
# automation) and of jobs without their own: one process per step, each forked from a
# server that has imported the code location once, instead of spawned processes that each
# import it again (bench/executor_benchmark.py measures the difference). `make
# materialize` runs in process; deployments can still give a job its own executor.
FORKSERVER_EXECUTOR = dg.multiprocess_executor.configured(
    {"start_method": {"forkserver": {"preload_modules": ["trending_assets.preload"]}}},
    name="multiprocess_forkserver",
)


@dg.definitions
def shared_definitions() -> dg.Definitions:
    return dg.Definitions(
        resources=build_resources(), jobs=[all_assets_job], executor=FORKSERVER_EXECUTOR
    )


def step_progress(context: dg.AssetExecutionContext, **kwargs) -> Progress:
    """Progress lines of a long step, in the terminal and the run's event log alike."""
    # The step's name: the asset's for one asset, the multi-asset's (raw_crawl) for several.
    return Progress(context.log.info, context.op_execution_context.op.name, **kwargs)
