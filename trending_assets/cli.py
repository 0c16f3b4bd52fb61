"""`trending` — the few commands a newcomer needs (the Makefile calls these).

    trending materialize [--partition YYYY-MM-DD]   the whole asset graph, then a summary
    trending run                                     materialize, then serve UI + API until Ctrl-C
    trending ui                                      the Dagster UI (webserver + daemon)
    trending serve                                   the HTTP API on the published snapshot

Every command honours DAGSTER_HOME and TRENDING_DATA_DIR, so copies can run side by side.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from trending_assets.settings import REPO_ROOT, get_settings

JOB_NAME = "all_assets_job"


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME, defaulting to `.dagster_home/` in the repo, with our dagster.yaml in it."""
    home = Path(os.environ.get("DAGSTER_HOME") or REPO_ROOT / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(REPO_ROOT / "config" / "dagster.yaml", config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def quiet_environment() -> None:
    """No telemetry and no hub downloads from anything this process starts."""
    for key, value in {
        "DO_NOT_TRACK": "1",
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "WANDB_MODE": "offline",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }.items():
        os.environ.setdefault(key, value)


def materialize(partition: str | None) -> int:
    import dagster as dg

    from trending_assets.definitions import defs
    from trending_assets.defs.ingest.assets import daily_partitions

    home = ensure_dagster_home()
    settings = get_settings()
    last = daily_partitions.get_last_partition_key()
    partition = partition or last
    if not daily_partitions.has_partition_key(partition):
        first = daily_partitions.get_first_partition_key()
        print(
            f"no crawl partition {partition!r}: days run from {first} to {last} (YYYY-MM-DD)",
            file=sys.stderr,
        )
        return 2
    print(f"materialising the whole asset graph for {partition} into {settings.data_dir}")
    print(f"DAGSTER_HOME={home}")

    started = time.monotonic()
    with dg.DagsterInstance.get() as instance:
        job = defs().resolve_job_def(JOB_NAME)
        result = job.execute_in_process(
            instance=instance, partition_key=partition, raise_on_error=False
        )
    elapsed = time.monotonic() - started

    materialized = result.get_asset_materialization_events()
    rows: dict[str, int] = {}
    for event in materialized:
        metadata = event.materialization.metadata
        key = event.asset_key.to_user_string()
        if "dagster/row_count" in metadata:
            rows[key] = metadata["dagster/row_count"].value
        # dbt models report no counts themselves; the profile and the snapshot count the marts.
        if key in ("data_profile", "serving_snapshot") and "row_counts" in metadata:
            rows.update(metadata["row_counts"].value)
    checks = result.get_asset_check_evaluations()
    outcome = Counter("passed" if c.passed else "failed" for c in checks)
    failed_checks = [
        f"{c.asset_key.to_user_string()}:{c.check_name}" for c in checks if not c.passed
    ]
    failed_blocking = [
        f"{c.asset_key.to_user_string()}:{c.check_name}"
        for c in checks
        if not c.passed and c.blocking
    ]
    failed_steps = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]

    print("\n=== Trending Now: materialisation summary ===")
    print(f"partition        {partition}")
    print(f"run id           {result.run_id}")
    print(f"time             {elapsed:.1f} s")
    print(f"assets           {len({e.asset_key for e in materialized})} materialised")
    for key in ("raw/listings", "raw/reviews", "titles", "title_genres", "reviews", "genres"):
        if key in rows:
            print(f"  rows {key:<22} {rows[key]}")
    if "raw/listings" in rows or "raw/reviews" in rows:
        quarantined = sum(
            e.materialization.metadata["quarantined_rows"].value
            for e in materialized
            if "quarantined_rows" in e.materialization.metadata
        )
        print(f"  quarantined rows            {quarantined}  (table raw.quarantine)")
    by_key = {e.asset_key.to_user_string(): e.materialization.metadata for e in materialized}
    if "model_evaluation" in by_key:
        print("genre models     test macro F1 (validation macro F1)")
        for model, scores in by_key["model_evaluation"]["scores"].value.items():
            print(
                f"  {model:<14} {scores['test_macro_f1']:.3f} ({scores['validation_macro_f1']:.3f})"
            )
    if "champion_model" in by_key:
        champion = by_key["champion_model"]
        print(f"champion         {champion['champion'].value}")
        print(f"  decision       {champion['decision'].value}")
    print(f"checks           {outcome['passed']} passed, {outcome['failed']} failed")
    for name in failed_checks:
        print(f"  FAILED check   {name}")
    for step in failed_steps:
        print(f"  FAILED step    {step}")
    print(f"API              http://{settings.api_host}:{settings.api_port}  (make serve)")
    print(f"Dagster UI       http://127.0.0.1:{settings.ui_port}  (make ui)")
    ok = result.success and not failed_steps and not failed_blocking
    print("result           " + ("OK" if ok else "FAILED"))
    return 0 if ok else 1


def _ui_command(port: int) -> list[str]:
    return [
        str(Path(sys.executable).with_name("dagster")), "dev",
        "-w", str(REPO_ROOT / "workspace.yaml"),
        "-h", "127.0.0.1", "-p", str(port),
    ]  # fmt: skip


def _api_command(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "serving", "--host", host, "--port", str(port)]


def serve_forever(commands: dict[str, list[str]]) -> int:
    """Run the given servers until Ctrl-C (or one of them exits), then stop them all."""
    processes = {name: subprocess.Popen(cmd, cwd=REPO_ROOT) for name, cmd in commands.items()}
    try:
        while True:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}", file=sys.stderr)
                    return process.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping…")
        return 0
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trending", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    mat = sub.add_parser("materialize", help="materialise the whole asset graph")
    mat.add_argument("--partition", help="crawl day YYYY-MM-DD (default: today)")
    run = sub.add_parser("run", help="materialise, then serve the UI and the API")
    run.add_argument("--partition")
    sub.add_parser("ui", help="serve the Dagster UI (webserver + daemon)")
    sub.add_parser("serve", help="serve the HTTP API")
    args = parser.parse_args(argv)

    quiet_environment()
    settings = get_settings()
    ui = {"dagster UI": _ui_command(settings.ui_port)}
    api = {"API": _api_command(settings.api_host, settings.api_port)}
    if args.command == "materialize":
        return materialize(args.partition)
    ensure_dagster_home()
    if args.command == "run":
        status = materialize(args.partition)
        if status != 0:
            return status
        print(f"\nserving: API http://{settings.api_host}:{settings.api_port}  "
              f"UI http://127.0.0.1:{settings.ui_port}  (Ctrl-C stops)")  # fmt: skip
        return serve_forever({**ui, **api})
    if args.command == "ui":
        print(f"Dagster UI on http://127.0.0.1:{settings.ui_port}")
        return serve_forever(ui)
    print(f"API on http://{settings.api_host}:{settings.api_port}")
    return serve_forever(api)


if __name__ == "__main__":
    sys.exit(main())
