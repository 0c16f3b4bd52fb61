"""Loading the code location parses a stale dbt project once: processes that load it
together (`make run`'s webserver, daemon and code server; parallel test workers) take
turns on a lock file instead of writing the manifest over each other."""

import fcntl
import json
import os
import threading
import time

from trending_assets.defs.warehouse import assets
from trending_assets.settings import DBT_PROJECT_DIR


def test_a_stale_manifest_is_parsed_under_the_lock() -> None:
    target = DBT_PROJECT_DIR / assets.dbt_project.target_path
    manifest = target / "manifest.json"
    project_file = DBT_PROJECT_DIR / "dbt_project.yml"
    errors: list[BaseException] = []

    def load() -> None:  # what importing the module does when the manifest is stale
        try:
            assets._parse_if_stale()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    # flock locks belong to an open file: a second open() waits even in this process.
    with open(target / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process is parsing
        # A dbt file newer than the manifest: the loader must parse again.
        now = time.time()
        os.utime(project_file, (now, now))
        os.utime(manifest, (now - 60, now - 60))
        assert assets._manifest_is_stale()
        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        try:
            loader.join(timeout=2)
            assert loader.is_alive(), "the loader did not wait for the lock"
            assert manifest.stat().st_mtime < now  # and wrote nothing meanwhile
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    loader.join(timeout=300)
    assert not loader.is_alive() and not errors, errors
    # It parsed once the lock was free: a whole, current manifest.
    assert not assets._manifest_is_stale()
    assert json.loads(manifest.read_text())["nodes"]
