"""Loading the code location parses a stale dbt project once: processes that load it
together (`make run`'s webserver, daemon and code server; parallel test workers) take
turns on a lock file instead of writing the manifest over each other."""

import fcntl
import json
import os
import subprocess
import sys
import time

from trending_assets.defs.warehouse.assets import dbt_project
from trending_assets.settings import DBT_PROJECT_DIR, REPO_ROOT

LOAD = "import trending_assets.defs.warehouse.assets"


def test_a_stale_manifest_is_parsed_under_the_lock() -> None:
    target = DBT_PROJECT_DIR / dbt_project.target_path
    manifest = target / "manifest.json"
    project_file = DBT_PROJECT_DIR / "dbt_project.yml"
    with open(target / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process is parsing
        # A dbt file newer than the manifest: the loader must parse again.
        now = time.time()
        os.utime(project_file, (now, now))
        os.utime(manifest, (now - 60, now - 60))
        loader = subprocess.Popen(
            [sys.executable, "-c", LOAD], cwd=REPO_ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            time.sleep(3)
            assert loader.poll() is None, "the loader did not wait for the lock"
            assert manifest.stat().st_mtime < now  # and wrote nothing meanwhile
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    output, _ = loader.communicate(timeout=300)
    assert loader.returncode == 0, output[-3000:]
    # It parsed once the lock was free: a whole, current manifest.
    assert manifest.stat().st_mtime >= now
    assert json.loads(manifest.read_text())["nodes"]
