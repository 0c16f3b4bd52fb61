"""The code location's default executor (runs the daemon or the UI launch): steps in
processes forked from a forkserver that preloaded the code location."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg
import pytest

from trending_assets.definitions import defs
from trending_assets.instance import TrendingInstance
from trending_assets.settings import REPO_ROOT

HERE = Path(__file__).resolve().parent


def test_jobs_default_to_the_forkserver_executor() -> None:
    job = defs().resolve_job_def("all_assets_job")
    assert job.executor_def.name == "multiprocess_forkserver"


def test_steps_run_in_their_own_processes_with_the_code_preloaded(tmp_path: Path) -> None:
    # The local instance `make run`'s daemon launches runs in (each step process writes its
    # events through its own connections: trending_assets/instance.py).
    shutil.copyfile(REPO_ROOT / "config" / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance, TrendingInstance)
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
    assert value["libraries_preloaded"] is True
    assert value["built_ahead"] is True
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        logged = instance.all_logs(result.run_id)
    step_pids = {
        e.dagster_event.pid for e in logged if e.dagster_event and e.step_key == "second_step"
    }
    assert value["pid"] in step_pids  # the step's own events, written by the step's process


def test_definitions_built_ahead_serve_only_the_settings_they_were_built_from(
    monkeypatch, tmp_path: Path
) -> None:
    """What a step forked from the forkserver finds: the definitions built there, unless
    its settings' sources differ (environment, working directory, `.env`)."""
    from trending_assets import definitions

    monkeypatch.setattr(definitions, "_PRELOADED", None)
    assert defs() is not defs()  # nothing built ahead: each load builds
    definitions.preload_definitions()
    built = definitions._PRELOADED[1]
    assert defs() is built and defs() is built
    monkeypatch.setenv("TRENDING_PRELOAD_TEST_PROBE", "77")  # any variable counts
    assert defs() is not built
    monkeypatch.delenv("TRENDING_PRELOAD_TEST_PROBE")
    assert defs() is built
    monkeypatch.chdir(tmp_path)
    assert defs() is not built
    (tmp_path / ".env").write_text("TRENDING_DEMO_TITLES=88\n")
    definitions.preload_definitions()
    assert defs() is definitions._PRELOADED[1]
    (tmp_path / ".env").write_text("TRENDING_DEMO_TITLES=99\n")
    assert defs() is not definitions._PRELOADED[1]


def test_a_failed_build_leaves_the_preload_standing(monkeypatch) -> None:
    """The forkserver's preload must not raise (the forkserver would die, and every step
    fail with an error about it): when building the definitions fails there, nothing is
    built ahead, and each step, building its own, reports the real error."""
    import importlib

    from trending_assets import definitions, preload

    def broken() -> None:
        raise RuntimeError("the dbt manifest is unreadable")

    monkeypatch.setattr(definitions, "_PRELOADED", None)
    monkeypatch.setattr(definitions, "build_definitions", broken)
    importlib.reload(preload)  # what the forkserver runs
    assert definitions._PRELOADED is None
    with pytest.raises(RuntimeError, match="manifest is unreadable"):
        definitions.defs()
