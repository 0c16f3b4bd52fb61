"""Fixtures shared by the deployment tests (see deploy_support.py)."""

from __future__ import annotations

import pytest
from deploy_support import DeployHome, deploy_home


@pytest.fixture(scope="module")
def pg_home(tmp_path_factory: pytest.TempPathFactory) -> DeployHome:
    """A throwaway PostgreSQL database behind deploy/dagster.yaml, for one test module."""
    with deploy_home(tmp_path_factory.mktemp("deploy")) as home:
        yield home
