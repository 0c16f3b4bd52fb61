"""Fixtures: one published snapshot and the API serving it, shared by a module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serving_fixtures import publish_fixture_snapshot, running_api


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A serving dir with the fixture snapshot (trending, embeddings, model) published."""
    root = tmp_path_factory.mktemp("serving")
    info = publish_fixture_snapshot(root)
    return root / "serving", info.version


@pytest.fixture(scope="module")
def api(published: tuple[Path, str]) -> Iterator[httpx.Client]:
    with running_api(published[0]) as client:
        yield client
