"""`make run` / `make serve` stop cleanly on Ctrl-C: exit 0, no server or anything a server
started is left running (trending_assets.cli.serve_forever)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# A "server" that starts a child of its own (as `dagster dev` starts code servers) and
# writes both pids, then waits; the child ignores SIGINT, as a stubborn grandchild would.
SERVER = """
import os, signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(600)"])
with open(sys.argv[1], "a") as f:
    f.write(f"{os.getpid()} {child.pid}\\n")
time.sleep(600)
"""

DRIVER = """
import sys
from trending_assets import cli
cli.STOP_TIMEOUT_S = 5
servers = {f"server{i}": [sys.executable, "-c", sys.argv[1], sys.argv[2]] for i in range(2)}
sys.exit(cli.guarded(lambda: cli.serve_forever(servers)))
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) is not running.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


@pytest.mark.timeout(120)
def test_ctrl_c_stops_every_server_and_what_they_started(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids.txt"
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, SERVER, str(pids_file)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # its own group, like a terminal's foreground job
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (pids_file.exists() and len(pids_file.read_text().split()) == 4):
        assert driver.poll() is None, driver.communicate()[0]
        assert time.monotonic() < deadline, "the servers did not start"
        time.sleep(0.2)
    pids = [int(p) for p in pids_file.read_text().split()]

    os.killpg(driver.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends: the whole job
    output, _ = driver.communicate(timeout=60)

    assert driver.returncode == 0, output
    assert "exited with" not in output, output
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in pids if _alive(pid)], output


def test_the_ui_starts_without_the_dg_dev_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run` / `make ui` start `dagster dev`, which warns on every start that `dg dev`
    supersedes it: the servers' processes are told to skip that one notice, and keep the
    user's own warning filters."""
    from trending_assets import cli

    monkeypatch.setenv("PYTHONWARNINGS", "error::ResourceWarning")
    cli.quiet_environment()
    cli.quiet_environment()  # twice: one filter, not two
    filters = os.environ["PYTHONWARNINGS"].split(",")
    assert filters == ["error::ResourceWarning", "ignore:Function `dev_command` is superseded"]
    # The filter as the server's Python reads it: the notice is ignored, others are not.
    code = (
        "import warnings\n"
        "from dagster._utils.warnings import SupersessionWarning\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.warn('Function `dev_command` is superseded and its usage is discouraged.',"
        " SupersessionWarning)\n"
        "    warnings.warn('Function `other` is superseded.', SupersessionWarning)\n"
        "print(len(seen))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=os.environ
    )
    assert result.stdout.strip() == "1", result.stderr[-2000:]
