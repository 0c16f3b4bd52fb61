"""The project's dbt resource knows its dbt's version without running ``dbt --version``."""

from __future__ import annotations

import json
from importlib.metadata import version

import dagster_dbt.core.resource as dbt_resource_module
import pytest
from packaging.version import Version

from trending_assets.defs.resources import ProjectDbtResource
from trending_assets.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR


def _resource(executable: str) -> ProjectDbtResource:
    return ProjectDbtResource(
        project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR),
        dbt_executable=executable,
    )  # fmt: skip


def test_the_venvs_dbt_is_known_by_its_package_version(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"ran {args[0]!r}")

    monkeypatch.setattr(dbt_resource_module, "check_output", no_subprocess)
    found = _resource(DBT_EXECUTABLE)._cli_version
    assert found == Version(version("dbt-core"))
    assert found.major < 2  # dbt Core, not Fusion: dagster-dbt parses its events as Core's


def test_another_dbt_is_still_asked(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    other = tmp_path / "bin" / "dbt"  # another install (dagster-dbt checks it exists)
    other.parent.mkdir()
    other.write_text("#!/bin/sh\necho 'Core: 1.10.3'\n")
    other.chmod(0o755)
    asked = []

    def dbt_version(command, *args, **kwargs):
        asked.append(command)
        return b"Core:\n  - installed: 1.10.3\n"

    monkeypatch.setattr(dbt_resource_module, "check_output", dbt_version)
    assert _resource(str(other))._cli_version == Version("1.10.3")
    assert asked == [[str(other), "--version"]]


def test_the_version_dagster_dbt_would_ask_for_is_the_same() -> None:
    """The shortcut's answer is what ``dbt --version`` prints (the real subprocess)."""
    ours = _resource(DBT_EXECUTABLE)._cli_version
    theirs = dbt_resource_module.DbtCliResource(
        project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR),
        dbt_executable=DBT_EXECUTABLE,
    )._cli_version  # fmt: skip
    assert ours == theirs


def test_dbt_runs_with_no_adapter_loaded_in_this_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """The project's resource hands dbt's work to the dbt subprocess alone: dagster-dbt's
    in-process adapter (column metadata, row counts) is never loaded."""
    loaded = []

    def load_adapter(self, args):
        loaded.append(args)
        raise AssertionError("dagster-dbt loaded dbt's adapter in process")

    monkeypatch.setattr(
        dbt_resource_module.DbtCliResource, "_initialize_dbt_core_adapter", load_adapter
    )
    variables = json.dumps({"warehouse_path": str(tmp_path / "warehouse.duckdb")})
    invocation = _resource(DBT_EXECUTABLE).cli(
        ["parse", "--vars", variables], target_path=tmp_path / "target", raise_on_error=False
    )
    invocation.wait()
    assert invocation.is_successful(), invocation.get_error()
    assert (tmp_path / "target" / "manifest.json").exists()
    assert invocation.adapter is None
    assert loaded == []
