"""Fixtures: one published snapshot and the API serving it, shared by a module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serving_fixtures import running_api, write_warehouse

from trending_assets.lib.snapshot import build_snapshot, publish_snapshot


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A serving dir with the fixture warehouse built and published; (serving_dir, version)."""
    root = tmp_path_factory.mktemp("serving")
    warehouse = write_warehouse(root / "warehouse.duckdb")
    info = build_snapshot(warehouse, root / "serving")
    publish_snapshot(root / "serving", info.version)
    return root / "serving", info.version


@pytest.fixture(scope="module")
def api(published: tuple[Path, str]) -> Iterator[httpx.Client]:
    with running_api(published[0]) as client:
        yield client
