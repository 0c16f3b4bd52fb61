"""Suite-wide settings: nothing a test starts may phone home or download models."""

import os
import socket

import httpx
import pytest

for _key, _value in {
    "DO_NOT_TRACK": "1",
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "WANDB_MODE": "offline",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    # The suite crawls fixed days of the demo catalog, from its first day on (a user's
    # partitions start at their first crawl day; tests/pipeline/test_first_crawl_day.py).
    "TRENDING_PARTITIONS_START": "2026-09-24",
}.items():
    os.environ.setdefault(_key, _value)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def moto_endpoint(monkeypatch: pytest.MonkeyPatch):
    """A real S3 API (moto's server) on loopback, with throwaway credentials."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # moto keeps its buckets in this process's memory, across servers: start empty.
    httpx.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    yield endpoint
    httpx.post(f"{endpoint}/moto-api/reset", timeout=10)
    server.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slow files (those that materialise the asset graph) first, in their usual order.

    `make test` hands whole files to its workers in collection order
    (``--no-loadscope-reorder``: xdist's default orders files by their number of tests); the
    longest ones started last would end the run alone while the other worker idles."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
