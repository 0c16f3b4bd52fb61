"""A two-step job on the code location's default executor, for test_executor.py (a module,
so `dg.reconstructable` can rebuild it in each step process)."""

import os

import dagster as dg

from trending_assets.defs.shared import FORKSERVER_EXECUTOR


@dg.asset
def first_step() -> int:
    return os.getpid()


@dg.asset
def second_step(context: dg.AssetExecutionContext, first_step: int) -> None:
    import sys

    # Forked from a server that preloaded the code location: the definitions module is
    # already imported when the step starts (no spawn-and-import per step).
    context.add_output_metadata(
        {
            "pid": os.getpid(),
            "first_pid": first_step,
            "preloaded": "trending_assets.defs.warehouse.assets" in sys.modules,
            # The libraries loading the code location leaves out, the steps' ones.
            "libraries_preloaded": all(
                name in sys.modules for name in ("sklearn.linear_model", "scipy.stats", "openai")
            ),
            # ... and the forkserver built the definitions, for this environment.
            "built_ahead": _built_ahead(),
        }
    )


def _built_ahead() -> bool:
    from trending_assets import definitions

    return definitions._PRELOADED is not None and definitions.defs() is definitions._PRELOADED[1]


def executor_job() -> dg.JobDefinition:
    return dg.Definitions(
        assets=[first_step, second_step],
        jobs=[dg.define_asset_job("executor_job", executor_def=FORKSERVER_EXECUTOR)],
    ).resolve_job_def("executor_job")
