"""API throughput and latency next to a bare Litestar endpoint, and errors during snapshot swaps.

    make materialize                      # the demo snapshot, once
    python bench/api_benchmark.py --data-dir data

Measured in one run, side by side, with ``wrk`` (Debian package ``wrk``) as the load
generator in its own process (a C client, so the server gets the CPU):

* a bare Litestar app whose one endpoint returns a constant (the ceiling for this
  machine, server and client);
* ``GET /titles/{id}`` (ids rotated), ``GET /titles?genre=...`` (genres rotated),
  ``GET /search?q=...`` (queries rotated), ``POST /predict``.

Each endpoint runs ``--rounds`` times, interleaved with the bare endpoint, and the ratio
is taken per round (these machines are noisy; a ratio of neighbours is stable where
absolute figures are not). Then a swap phase: load on ``/titles/{id}`` while new
snapshot versions are published every ``--swap-every`` seconds; every non-2xx/3xx
response or socket error is counted (goal: 0).

The API runs with one uvicorn worker, as ``python -m serving`` does by default.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import httpx
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from trending_assets.lib.snapshot import (  # noqa: E402
    build_snapshot,
    current_version,
    prune_snapshots,
    publish_snapshot,
    snapshot_path,
)

BARE_APP = textwrap.dedent(
    """
    from litestar import Litestar, get

    @get("/constant", sync_to_thread=False)
    def constant() -> dict[str, str]:
        return {"status": "ok"}

    app = Litestar([constant])
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become ready")


def start_server(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    """A server process; its logs go to a file (a pipe nobody reads would stall it)."""
    with open(log, "ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", *args], env=env, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT
        )


def lua_rotating(paths: list[str], method: str = "GET", body: str | None = None) -> str:
    """A wrk script that sends the given paths round-robin (per connection thread)."""
    quoted = ",\n".join(json.dumps(p) for p in paths)
    body_line = (
        f"wrk.body = {json.dumps(body)}\nwrk.headers['Content-Type'] = 'application/json'"
        if body
        else ""
    )
    return textwrap.dedent(
        f"""
        wrk.method = "{method}"
        {body_line}
        local paths = {{
        {quoted}
        }}
        local i = math.random(#paths)
        request = function()
            i = i % #paths + 1
            return wrk.format(nil, paths[i])
        end
        """
    )


LATENCY_RE = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(url: str, script: str, *, seconds: int, connections: int, threads: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    try:
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
             "--timeout", "10s", "-s", fh.name, url],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(fh.name)
    latency = {m[0]: float(m[1]) * UNIT[m[2]] for m in LATENCY_RE.findall(out)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(x) for x in socket_errors.groups())
    return {"rps": rps, "p50_ms": latency.get("50"), "p99_ms": latency.get("99"),
            "requests": total, "errors": errors}  # fmt: skip


def republish(
    serving_dir: Path, warehouse: Path, model_dir: Path | None, embeddings: pd.DataFrame | None
) -> str:
    """A new snapshot version of the same data (what serving_snapshot does each run)."""
    frames = {"title_embeddings": embeddings} if embeddings is not None else {}
    attachments = {"model": (model_dir, "bench@republished")} if model_dir else {}
    info = build_snapshot(warehouse, serving_dir, frames=frames, attachments=attachments)
    publish_snapshot(serving_dir, info.version)
    prune_snapshots(serving_dir, keep=3)
    return info.version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=REPO_ROOT / "data",
        help="TRENDING_DATA_DIR of a materialised demo",
    )
    parser.add_argument("--seconds", type=int, default=8, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--only", default="", help="comma-separated substrings: measure only matching endpoints"
    )
    parser.add_argument("--no-swap", action="store_true", help="skip the swap phase")
    parser.add_argument("--connections", type=int, default=32, help="concurrency")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--swap-seconds", type=int, default=20)
    parser.add_argument("--swap-every", type=float, default=2.0)
    parser.add_argument(
        "--cache-ttl", type=int, default=30, help="TRENDING_API_CACHE_TTL_S (0: no server cache)"
    )
    parser.add_argument(
        "--log-level", default="info", help="the API's (info: one JSON access record per request)"
    )
    args = parser.parse_args(argv)

    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    source_serving = args.data_dir / "serving"
    warehouse = args.data_dir / "warehouse.duckdb"
    if current_version(source_serving) is None or not warehouse.is_file():
        sys.exit(f"no published snapshot under {source_serving}: run `make materialize` first")

    # Work on a copy, so the swap phase does not touch the user's serving dir.
    work = Path(tempfile.mkdtemp(prefix="api-bench-"))
    serving_dir = work / "serving"
    shutil.copytree(source_serving, serving_dir, ignore=shutil.ignore_patterns(".staging"))
    version = current_version(serving_dir)
    snap = snapshot_path(serving_dir, version)
    model_dir = snap.parent / "model"
    model_copy = work / "model"
    if model_dir.is_dir():
        shutil.copytree(model_dir, model_copy)
    con = duckdb.connect(str(snap), read_only=True)
    try:
        ids = [r[0] for r in con.execute("select title_id from titles").fetchall()]
        genres = [
            r[0]
            for r in con.execute("select genre_id from genres where title_count > 0").fetchall()
        ]
        embeddings = con.execute("select title_id, embedding from title_embeddings").df()
        plots = [
            r[0]
            for r in con.execute(
                "select plot from titles where plot is not null limit 50"
            ).fetchall()
        ]
    finally:
        con.close()
    random.seed(7)
    random.shuffle(ids)
    queries = ["a heist that goes wrong", "haunted house", "friends on a road trip", "space war",
               "a detective hunts a killer", "coming of age in a small town", "dragons and magic",
               "a cooking competition", "political scandal", "love in paris"]  # fmt: skip

    env = {**os.environ, "TRENDING_SERVING_DIR": str(serving_dir), "HF_HUB_OFFLINE": "1",
           "TRENDING_API_CACHE_TTL_S": str(args.cache_ttl), "TOKENIZERS_PARALLELISM": "false"}  # fmt: skip
    api_port, bare_port = free_port(), free_port()
    bare_file = work / "bare_app.py"
    bare_file.write_text(BARE_APP)
    # The API exactly as `make serve` runs it (JSON access log at info included); the bare
    # app with uvicorn's defaults minus its access log (it logs nothing per request).
    api = start_server(
        ["serving", "--port", str(api_port), "--log-level", args.log_level],
        env, REPO_ROOT, work / "api.log",
    )  # fmt: skip
    bare = start_server(
        ["uvicorn", "bare_app:app", "--port", str(bare_port), "--no-access-log"],
        env, work, work / "bare.log",
    )  # fmt: skip
    try:
        api_url, bare_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{bare_port}"
        wait_ready(f"{api_url}/ready")
        wait_ready(f"{bare_url}/constant")
        httpx.get(f"{api_url}/search", params={"q": "warm up"}, timeout=60)  # load the encoder
        httpx.post(
            f"{api_url}/predict", json={"text": plots[0] if plots else "warm up"}, timeout=60
        )

        endpoints = {
            "GET /titles/{id}": lua_rotating([f"/titles/{i}" for i in ids]),
            "GET /titles?genre=": lua_rotating([f"/titles?genre={g}&limit=20" for g in genres]),
            "GET /search?q=": lua_rotating([f"/search?q={q.replace(' ', '+')}" for q in queries]),
            "POST /predict": lua_rotating(
                ["/predict"], "POST", json.dumps({"text": plots[0] if plots else "a plot"})
            ),
        }
        detail_script = endpoints["GET /titles/{id}"]
        if args.only:
            wanted = [w.strip() for w in args.only.split(",") if w.strip()]
            endpoints = {k: v for k, v in endpoints.items() if any(w in k for w in wanted)}
        bare_script = lua_rotating(["/constant"])
        results: dict[str, list[dict]] = {name: [] for name in endpoints}
        bares: list[dict] = []
        ratios: dict[str, list[float]] = {name: [] for name in endpoints}
        kw = {"seconds": args.seconds, "connections": args.connections, "threads": args.threads}
        for round_no in range(1, args.rounds + 1):
            for name, script in endpoints.items():
                base = run_wrk(bare_url, bare_script, **kw)
                measured = run_wrk(api_url, script, **kw)
                bares.append(base)
                results[name].append(measured)
                ratios[name].append(measured["rps"] / base["rps"])
                print(f"round {round_no} {name:22s} {measured['rps']:8.0f} req/s  p50 {measured['p50_ms']:6.2f} ms  "
                      f"p99 {measured['p99_ms']:6.2f} ms  errors {measured['errors']}  | bare {base['rps']:8.0f} req/s "
                      f"-> ratio {ratios[name][-1]:.2f}", flush=True)  # fmt: skip

        # Swap phase: load on /titles/{id} while versions are published.
        stop = threading.Event()
        swaps: list[str] = []

        def swapper() -> None:
            while not stop.wait(args.swap_every):
                swaps.append(
                    republish(
                        serving_dir,
                        warehouse,
                        model_copy if model_copy.is_dir() else None,
                        embeddings,
                    )
                )

        swap_run = None
        if not args.no_swap:
            thread = threading.Thread(target=swapper, daemon=True)
            thread.start()
            swap_run = run_wrk(api_url, detail_script, seconds=args.swap_seconds,
                               connections=args.connections, threads=args.threads)  # fmt: skip
            stop.set()
            thread.join()
        served = httpx.get(f"{api_url}/ready").json()["snapshot"]
    finally:
        for proc in (api, bare):
            proc.terminate()
            proc.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)

    bare_rps = statistics.median(b["rps"] for b in bares)
    bare_p99 = statistics.median(b["p99_ms"] for b in bares)
    print()
    print(f"concurrency {args.connections}, {args.seconds}s x {args.rounds} rounds, wrk -t{args.threads}, "
          f"1 uvicorn worker, server cache TTL {args.cache_ttl}s, API log level {args.log_level}, {len(ids)} titles")  # fmt: skip
    print(
        f"{'endpoint':24s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'errors':>7s} {'x bare':>7s}"
    )
    print(
        f"{'bare Litestar constant':24s} {bare_rps:8.0f} {'':8s} {bare_p99:8.2f} {sum(b['errors'] for b in bares):7d} {1.0:7.2f}"
    )
    for name, runs in results.items():
        print(f"{name:24s} {statistics.median(r['rps'] for r in runs):8.0f} "
              f"{statistics.median(r['p50_ms'] for r in runs):8.2f} {statistics.median(r['p99_ms'] for r in runs):8.2f} "
              f"{sum(r['errors'] for r in runs):7d} {statistics.median(ratios[name]):7.2f}")  # fmt: skip
    print()
    if "GET /titles/{id}" in results:
        ratio = statistics.median(ratios["GET /titles/{id}"])
        p99 = statistics.median(r["p99_ms"] for r in results["GET /titles/{id}"])
        print(
            f"goal /titles/{{id}} >= 0.5x bare: {ratio:.2f}x -> {'MET' if ratio >= 0.5 else 'NOT MET'}"
        )
        print(
            f"goal /titles/{{id}} p99 < 20 ms: {p99:.2f} ms -> {'MET' if p99 < 20 else 'NOT MET'}"
        )
    if swap_run is None:
        return 0
    print(f"swap phase: {len(swaps)} snapshots published during {swap_run['requests']} requests "
          f"({swap_run['rps']:.0f} req/s, p99 {swap_run['p99_ms']:.2f} ms); errors {swap_run['errors']} "
          f"-> {'MET' if swap_run['errors'] == 0 else 'NOT MET'}; serving {served}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
