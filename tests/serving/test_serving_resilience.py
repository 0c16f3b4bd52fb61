"""Bad pointers, truncated snapshots and hostile connections, against the API over HTTP.

The API must never exit or answer 503 because of a bad ``CURRENT`` while a good version is
on disk: it serves the newest version that opens, says so in ``/ready`` (``degraded``),
logs the problem once (not a traceback per poll) and recovers when ``CURRENT`` is fixed.
The server under it bounds header size and count, and closes idle and slow connections.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serving_fixtures import free_port, running_api, running_app, write_warehouse

from serving.server import ServerLimits, server_config
from trending_assets.lib.snapshot import (
    CURRENT_FILENAME,
    build_snapshot,
    publish_snapshot,
    snapshot_path,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
OLD, GOOD, NEWEST = "20240101T000000Z-old", "20240102T000000Z-good", "20240103T000000Z-new"


@pytest.fixture(autouse=True)
def _keyword_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """No query encoder to load: these tests are about start-up and connections."""
    monkeypatch.setenv("TRENDING_SEARCH_ENCODER", "off")


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A serving dir holding three good versions (and no CURRENT), to copy per test."""
    root = tmp_path_factory.mktemp("versions")
    warehouse = write_warehouse(root / "warehouse.duckdb")
    for version in (OLD, GOOD, NEWEST):
        build_snapshot(warehouse, root / "serving", version=version)
    return root / "serving"


@pytest.fixture
def serving(versions: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "serving"
    shutil.copytree(versions, target)
    return target


def truncate(serving: Path, version: str) -> None:
    """Cut a version's DuckDB file in half, as a full disk or a bad copy would."""
    path = snapshot_path(serving, version)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def set_pointer(serving: Path, data: bytes) -> None:
    """Replace CURRENT in one step, as a publisher does (a plain write_bytes truncates the
    file first, and a poll in between would see it empty)."""
    tmp = serving / f".{CURRENT_FILENAME}.test-tmp"
    tmp.write_bytes(data)
    os.replace(tmp, serving / CURRENT_FILENAME)


def wait_for(client: httpx.Client, predicate, what: str, timeout: float = 30.0) -> dict:
    """Poll /ready until ``predicate`` holds; bounded (a loaded machine polls slowly)."""
    deadline = time.monotonic() + timeout
    while True:
        body = client.get("/ready").json()
        if predicate(body):
            return body
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {body}"
        time.sleep(0.05)


def store_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name.startswith("serving.snapshot_store") and r.levelno >= logging.WARNING
    ]


# --- start-up ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pointer", "needle"),
    [
        (b"\xff\xfe\x00\x9f garbage\n", "not UTF-8"),
        (b"", "CURRENT is empty"),
        (b"../../etc/passwd\n", "does not name a version"),
        (b"x" * 10_000, "over 4096 bytes"),
        (b"20991231T000000Z-missing\n", "cannot open snapshot '20991231T000000Z-missing'"),
    ],
    ids=["not-utf8", "empty", "garbage", "huge", "missing-version"],
)
def test_a_bad_pointer_at_start_serves_the_newest_good_version(
    serving: Path, pointer: bytes, needle: str, caplog: pytest.LogCaptureFixture
) -> None:
    (serving / CURRENT_FILENAME).write_bytes(pointer)
    caplog.set_level(logging.INFO, logger="serving.snapshot_store")
    with running_api(serving, poll_interval_s=0.05) as client:
        ready = client.get("/ready")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["ready"] is True and body["snapshot"] == NEWEST
        assert needle in body["degraded"] and body["degraded"].endswith(f"serving {NEWEST}")
        assert client.get("/health").json()["degraded"] == body["degraded"]
        titles = client.get("/titles")
        assert titles.status_code == 200 and titles.headers["x-snapshot-version"] == NEWEST
        time.sleep(0.5)  # about ten polls of the same bad pointer
    errors = store_errors(caplog)
    assert len(errors) == 1, [r.getMessage() for r in errors]  # one line, not one per poll
    assert needle in errors[0].getMessage() and errors[0].exc_info is None


def test_a_truncated_current_version_falls_back_to_the_previous_one(serving: Path) -> None:
    publish_snapshot(serving, NEWEST)
    truncate(serving, NEWEST)
    with running_api(serving, poll_interval_s=0.05) as client:
        body = client.get("/ready").json()
        assert body["snapshot"] == GOOD, body  # not 503: an older good version exists
        assert f"cannot open snapshot '{NEWEST}'" in body["degraded"]
        assert client.get("/titles/t01").status_code == 200

        # Fixed by publishing a good version: serving it, no longer degraded.
        publish_snapshot(serving, OLD)
        body = wait_for(client, lambda b: b["snapshot"] == OLD, "the fixed pointer")
        assert body["degraded"] is None and body["detail"] is None


def test_every_version_broken_is_a_clear_503_not_an_exit(serving: Path) -> None:
    for version in (OLD, GOOD, NEWEST):
        truncate(serving, version)
    (serving / CURRENT_FILENAME).write_bytes(b"\xff\xff")
    with running_api(serving, poll_interval_s=0.05) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503
        detail = ready.json()["detail"]
        assert "not UTF-8" in detail and "no version on disk opens" in detail
        assert client.get("/titles").status_code == 503

        publish_snapshot(serving, build_snapshot(write_warehouse(serving.parent / "w.duckdb"),
                                                 serving).version)  # fmt: skip
        # The new version is on disk before CURRENT names it, so a poll in between may
        # serve it as the newest that opens, still degraded; then CURRENT catches up.
        body = wait_for(
            client, lambda b: b["ready"] and b["degraded"] is None, "a good snapshot, named"
        )
        assert body["detail"] is None


# --- while running -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pointer", "needle"),
    [(b"\x80\x81\x82", "not UTF-8"), (b"not a version!\n", "does not name a version")],
    ids=["not-utf8", "garbage"],
)
def test_a_bad_pointer_while_running_is_reported_once_and_recovers(
    serving: Path, pointer: bytes, needle: str, caplog: pytest.LogCaptureFixture
) -> None:
    publish_snapshot(serving, GOOD)
    caplog.set_level(logging.INFO, logger="serving.snapshot_store")
    with running_api(serving, poll_interval_s=0.05) as client:
        assert client.get("/ready").json()["degraded"] is None
        set_pointer(serving, pointer)
        body = wait_for(client, lambda b: b["degraded"], "the degraded state")
        assert needle in body["degraded"] and body["snapshot"] == GOOD
        assert "trending_snapshot_degraded 1.0" in client.get("/metrics").text
        time.sleep(1.0)  # twenty polls of the bad pointer
        assert client.get("/titles").headers["x-snapshot-version"] == GOOD
        errors = store_errors(caplog)
        assert len(errors) == 1 and errors[0].exc_info is None, [r.getMessage() for r in errors]
        assert needle in errors[0].getMessage()

        publish_snapshot(serving, NEWEST)  # the pointer is good again
        body = wait_for(client, lambda b: b["snapshot"] == NEWEST, "recovery")
        assert body["degraded"] is None and body["detail"] is None
        assert "trending_snapshot_degraded 0.0" in client.get("/metrics").text
        recovered = [r for r in caplog.records if "recovered" in r.getMessage()]
        assert len(recovered) <= 1  # a swap to NEWEST clears it (or the recovery line does)


def test_admin_reload_reports_the_degraded_state(
    serving: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRENDING_ADMIN_API_KEY", "k" * 16)
    publish_snapshot(serving, NEWEST)
    truncate(serving, NEWEST)
    with running_api(serving, poll_interval_s=10) as client:
        result = client.post("/admin/reload", headers={"X-API-Key": "k" * 16}).json()
        assert result["snapshot"] == GOOD and f"cannot open snapshot '{NEWEST}'" in result["detail"]


@pytest.fixture
def api_process(serving: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """``python -m serving`` (what ``make serve`` runs) in a subprocess."""
    port = free_port()
    env = {
        **os.environ,
        "TRENDING_SERVING_DIR": str(serving),
        "TRENDING_SEARCH_ENCODER": "off",
        "TRENDING_LOG_FORMAT": "text",
        "TRENDING_API_HEADER_TIMEOUT_S": "2",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "serving", "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_make_serve_survives_a_non_utf8_pointer(
    serving: Path, api_process: tuple[subprocess.Popen, str]
) -> None:
    (serving / CURRENT_FILENAME).write_bytes(b"\xfe\xed\xfa\xce\n")
    proc, base_url = api_process
    deadline = time.monotonic() + 60
    body = None
    while body is None:
        assert proc.poll() is None, proc.stdout.read().decode(errors="replace")
        assert time.monotonic() < deadline, "python -m serving did not answer"
        try:
            body = httpx.get(f"{base_url}/ready", timeout=2).json()
        except httpx.TransportError:
            time.sleep(0.2)
    assert body["ready"] is True and body["snapshot"] == NEWEST
    assert "not UTF-8" in body["degraded"]
    # The server it runs on has the limits too.
    big = httpx.get(f"{base_url}/health", headers={"X-Big": "a" * 40_000}, timeout=5)
    assert big.status_code == 431
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    output = proc.communicate(timeout=15)[0].decode(errors="replace")
    assert output.count("not UTF-8") == 1, output  # one line, no traceback loop
    assert "Traceback" not in output, output


# --- the HTTP server: header limits, idle and slow connections -----------------------------

LIMITS = ServerLimits(max_header_bytes=8192, max_headers=30, header_timeout_s=1.0, keep_alive_s=1)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    root = tmp_path_factory.mktemp("limited")
    serving = root / "serving"
    publish_snapshot(serving, build_snapshot(write_warehouse(root / "w.duckdb"), serving).version)
    os.environ["TRENDING_SEARCH_ENCODER"] = "off"
    try:
        with running_app(serving, limits=LIMITS) as client:
            yield client
    finally:
        os.environ.pop("TRENDING_SEARCH_ENCODER", None)


def _address(client: httpx.Client) -> tuple[str, int]:
    return client.base_url.host, client.base_url.port


def _raw(client: httpx.Client) -> socket.socket:
    sock = socket.create_connection(_address(client), timeout=10)
    return sock


def _read_all(sock: socket.socket, timeout: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes; (bytes, seconds until the close)."""
    sock.settimeout(timeout)
    started, data = time.monotonic(), b""
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise AssertionError(f"the server kept the connection open; got {data!r}") from None
        if not chunk:
            return data, time.monotonic() - started
        data += chunk


def test_normal_headers_pass(limited: httpx.Client) -> None:
    headers = {f"X-H{i}": "v" * 100 for i in range(20)}
    assert limited.get("/health", headers=headers).status_code == 200


def test_an_oversize_header_is_431(limited: httpx.Client) -> None:
    response = limited.get("/health", headers={"X-Big": "a" * 20_000})
    assert response.status_code == 431
    assert response.headers["content-type"] == "application/problem+json"
    assert "8192 bytes" in response.json()["detail"]
    # Trickled in small pieces (h11's incomplete-head limit answers), then in one piece
    # (the whole head parsed in one read: the ASGI guard answers).
    for chunk_size in (1024, 1 << 20):
        with _raw(limited) as sock:
            head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 30_000 + b"\r\n\r\n"
            try:
                for i in range(0, len(head), chunk_size):
                    sock.sendall(head[i : i + chunk_size])
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered and closed before the rest arrived
            data, _ = _read_all(sock, 5)
        assert data.startswith(b"HTTP/1.1 431 "), data[:200]


def test_too_many_headers_is_431(limited: httpx.Client) -> None:
    response = limited.get("/titles", headers={f"X-H{i}": "1" for i in range(40)})
    assert response.status_code == 431
    assert "at most 30 header fields" in response.json()["detail"]
    assert limited.get("/titles").status_code == 200  # the server is fine


def test_the_limits_reach_the_server() -> None:
    config = server_config("serving.app:create_app", limits=LIMITS)
    assert config.timeout_keep_alive == LIMITS.keep_alive_s
    assert config.h11_max_incomplete_event_size == LIMITS.max_header_bytes
    assert config.limit_concurrency == LIMITS.limit_concurrency


def test_a_silent_connection_is_closed(limited: httpx.Client) -> None:
    with _raw(limited) as sock:
        data, _ = _read_all(sock, 30)  # raises if the server keeps it open
    assert data == b""


def test_a_slowly_trickled_request_is_cut_off(limited: httpx.Client) -> None:
    with _raw(limited) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        # One header byte every 100 ms, for as long as the server lets us (a minute at
        # most): without the header timeout it would wait for the rest forever.
        cut_by_server = False
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                if select.select([sock], [], [], 0)[0]:  # the server answered or closed
                    cut_by_server = True
                    break
                sock.sendall(b"X")
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            cut_by_server = True
        data, _ = _read_all(sock, 5)
    assert cut_by_server, "the server let a trickling request run on"
    assert data.startswith(b"HTTP/1.1 408 "), data[:200]


def test_an_idle_keep_alive_connection_is_closed(limited: httpx.Client) -> None:
    with _raw(limited) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(5)
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 ")
        _read_all(sock, 30)  # closed after the keep-alive, else this raises


def test_a_kept_alive_connection_serves_several_requests(limited: httpx.Client) -> None:
    with httpx.Client(base_url=limited.base_url, timeout=5) as client:
        for _ in range(3):
            assert client.get("/health").status_code == 200
            time.sleep(0.3)  # under the keep-alive: the same connection is reused


# --- static files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/static/%00index.html", "/static/index.html%00", "/static/app.js/x", "/static/" + "a" * 400],
)
def test_bad_static_paths_are_404(limited: httpx.Client, path: str) -> None:
    response = limited.get(path)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert limited.get("/static/app.js").status_code == 200
