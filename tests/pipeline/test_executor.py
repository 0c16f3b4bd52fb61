"""The code location's default executor (runs the daemon or the UI launch): steps in
processes forked from a forkserver that preloaded the code location."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from trending_assets.definitions import defs

HERE = Path(__file__).resolve().parent


def test_jobs_default_to_the_forkserver_executor() -> None:
    job = defs().resolve_job_def("all_assets_job")
    assert job.executor_def.name == "multiprocess_forkserver"


def test_steps_run_in_their_own_processes_with_the_code_preloaded(tmp_path: Path) -> None:
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        job = dg.build_reconstructable_job(
            "executor_job", "executor_job", reconstructor_working_directory=str(HERE)
        )
        with dg.execute_job(job, instance) as result:
            assert result.success
            events = result.get_asset_materialization_events()
    [event] = [e for e in events if e.asset_key == dg.AssetKey("second_step")]
    value = {k: v.value for k, v in event.materialization.metadata.items()}
    assert value["pid"] != os.getpid() and value["first_pid"] != os.getpid()
    assert value["preloaded"] is True
