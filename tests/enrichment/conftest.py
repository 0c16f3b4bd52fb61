"""Fixtures for the enrichment tests: the fake OpenAI-compatible server on loopback."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


def _load_fake_module():
    name = "enrichment_fake_openai"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("fake_openai.py")
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


fake_openai = _load_fake_module()


@pytest.fixture
def fake_server() -> Iterator[fake_openai.FakeOpenAI]:
    with fake_openai.FakeOpenAI(api_key="sk-test-SECRET-0123456789") as server:
        yield server


@pytest.fixture
def fake():
    """The fake server's module (action constructors: ok, slow, rate_limited, ...)."""
    return fake_openai
