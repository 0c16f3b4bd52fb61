"""dbt Core in this process (lib/dbt_runner.py), on a small dbt project of the test's own
with a real DuckDB file: its events, its failures, and what it leaves behind (the working
directory, the database file)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from trending_assets.lib.dbt_runner import run_dbt


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text(
        textwrap.dedent(
            """\
            name: tiny
            version: "1.0.0"
            profile: tiny
            model-paths: ["models"]
            flags:
              send_anonymous_usage_stats: false
            """
        )
    )
    (root / "profiles.yml").write_text(
        textwrap.dedent(
            """\
            tiny:
              target: dev
              outputs:
                dev:
                  type: duckdb
                  path: "{{ var('warehouse_path') }}"
                  threads: 1
            """
        )
    )
    (root / "models" / "titles.sql").write_text(
        "select * from (values (1, 'Alien'), (2, 'Heat')) as t(id, title)\n"
    )
    (root / "models" / "schema.yml").write_text(
        textwrap.dedent(
            """\
            version: 2
            models:
              - name: titles
                columns:
                  - name: id
                    data_tests: [unique, not_null]
            """
        )
    )
    return root


def _build(project: Path, warehouse: Path, *extra: str):
    target = project / "target" / "run"
    return run_dbt(
        [
            "build",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target-path",
            str(target),
            "--log-path",
            str(target),
            "--vars",
            f'{{"warehouse_path": "{warehouse}"}}',
            *extra,
        ]  # fmt: skip
    )


def _opens_for_writing_in_another_process(path: Path) -> bool:
    code = f"import duckdb; duckdb.connect({str(path)!r}).execute('create table t2 (x int)')"
    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_a_build_gives_dbt_events_and_lets_go_of_the_warehouse(
    project: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    cwd = os.getcwd()

    result = _build(project, warehouse)

    assert result.success, result.errors
    assert result.exception is None and not result.errors
    names = [event["info"]["name"] for event in result.events]
    # the events dagster-dbt turns into materialisations and check results
    assert "LogModelResult" in names and names.count("LogTestResult") == 2
    model = next(e for e in result.events if e["info"]["name"] == "LogModelResult")
    assert model["data"]["node_info"]["unique_id"] == "model.tiny.titles"
    assert os.getcwd() == cwd  # dbt moves into the project while it runs
    # The file is free: another process writes it, and this one opens it with its own
    # settings (DuckDB refuses a second configuration of a file that is still open).
    assert _opens_for_writing_in_another_process(warehouse)
    with duckdb.connect(str(warehouse), config={"threads": 1}) as con:
        assert con.execute("select count(*) from titles").fetchone() == (2,)


def test_a_second_command_in_the_process_builds_again(project: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    assert _build(project, warehouse).success
    (project / "models" / "titles.sql").write_text(
        "select * from (values (1, 'Alien'), (2, 'Heat'), (3, 'Ran')) as t(id, title)\n"
    )

    assert _build(project, warehouse).success

    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from titles").fetchone() == (3,)


def test_a_failing_test_fails_the_command_and_names_it(project: Path, tmp_path: Path) -> None:
    (project / "models" / "titles.sql").write_text(
        "select * from (values (1, 'Alien'), (1, 'Heat')) as t(id, title)\n"
    )
    warehouse = tmp_path / "warehouse.duckdb"

    result = _build(project, warehouse)

    assert not result.success and not result.interrupted
    assert any("unique_titles_id" in message for message in result.errors), result.errors
    assert _opens_for_writing_in_another_process(warehouse)


def test_sql_that_does_not_run_fails_the_command(project: Path, tmp_path: Path) -> None:
    (project / "models" / "titles.sql").write_text("select * from no_such_table\n")

    result = _build(project, tmp_path / "warehouse.duckdb")

    assert not result.success
    assert any("no_such_table" in message for message in result.errors), result.errors


def test_an_unknown_flag_is_a_failure_with_its_reason(project: Path, tmp_path: Path) -> None:
    result = _build(project, tmp_path / "warehouse.duckdb", "--no-such-flag")

    assert not result.success and not result.interrupted
    assert result.exception is not None and "no-such-flag" in str(result.exception)


INTERRUPTED_RUN = """
import signal, sys, threading
from trending_assets.lib.dbt_runner import run_dbt


class Interrupted(BaseException):  # what Dagster raises in a step on SIGINT / SIGTERM
    pass


def interrupt(signum, frame):
    raise Interrupted()


signal.signal(signal.SIGINT, interrupt)
result = run_dbt(sys.argv[1:])
print("RESULT", result.success, result.interrupted, type(result.interruption).__name__, flush=True)
workers = [t for t in threading.enumerate() if t.name.endswith("(worker)") and t.is_alive()]
print("WORKERS LEFT", len(workers), flush=True)
"""


def test_an_interrupted_command_stops_its_queries_and_lets_go_of_the_warehouse(
    project: Path, tmp_path: Path
) -> None:
    """Ctrl-C, or a run's termination, in the middle of a long model: the query stops (the
    table is never created), the command says it was interrupted, and the process ends
    cleanly with the warehouse free."""
    (project / "models" / "titles.sql").write_text(
        "{{ config(materialized='table') }}\n"
        "select sum(hash(i) % 1000) as s from range(100000000000) t(i)\n"  # minutes of work
    )
    warehouse = tmp_path / "warehouse.duckdb"
    target = project / "target" / "run"
    script = tmp_path / "interrupted_run.py"
    script.write_text(INTERRUPTED_RUN)
    repo = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [
            sys.executable, str(script), "run",
            "--project-dir", str(project), "--profiles-dir", str(project),
            "--target-path", str(target), "--log-path", str(target),
            "--vars", f'{{"warehouse_path": "{warehouse}"}}',
        ],
        cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if "START sql table model" in line:
            break
    time.sleep(2)  # the query is running (it runs for minutes)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=120)
    output = "".join(lines) + out

    assert process.returncode == 0, output[-3000:]
    assert "RESULT False True Interrupted" in output, output[-3000:]
    # dbt's pool is ended, not left with idle workers waiting for a next task (dbt ends it
    # itself only for a KeyboardInterrupt; Dagster interrupts a step with its own error).
    assert "WORKERS LEFT 0" in output, output[-3000:]
    assert "terminate called" not in output and "FATAL" not in output, output[-3000:]
    assert _opens_for_writing_in_another_process(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {
            row[0] for row in con.execute("select table_name from duckdb_tables()").fetchall()
        }
    assert "titles" not in tables
