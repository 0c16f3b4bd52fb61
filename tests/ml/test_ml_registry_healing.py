"""A registry that heals: corrupt ``champion.json``, ``meta.json`` and artifacts on disk.

Each case writes real damage into a real registry in a local lake, then runs the code the
pipeline runs (``choose_champion``, ``champion``, ``list_versions``): the run goes on, the
corrupt file is moved aside as ``<file>.corrupt-<timestamp>`` and named in a warning, and
nothing corrupt is returned or promoted.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from trending_assets.lib.lake import LocalLake
from trending_assets.lib.ml.lifecycle import choose_champion
from trending_assets.lib.ml.registry import (
    ModelRegistry,
    ModelVersion,
    RegistryCorruptError,
    RegistryError,
)


def _register(registry: ModelRegistry, tmp_path: Path, name: str, score: float) -> ModelVersion:
    directory = tmp_path / "src" / f"{name}-{score}"
    directory.mkdir(parents=True)
    (directory / "model.json").write_text(json.dumps({"name": name, "score": score}))
    return registry.register(
        name, directory, metrics={"validation_macro_f1": score}, card=f"# {name}\n",
        fingerprint="f" * 64, code_version="c1",
    )  # fmt: skip


@pytest.fixture
def lake(tmp_path: Path) -> LocalLake:
    return LocalLake(tmp_path / "lake")


@pytest.fixture
def registry(lake: LocalLake) -> ModelRegistry:
    return ModelRegistry(lake)


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def _aside(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".corrupt-*"))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 3], id="truncated"),
        pytest.param(lambda data: b"\xff\xfe not utf-8 \x00", id="not-utf8"),
        pytest.param(lambda data: b"[1, 2, 3]", id="a-list"),
        pytest.param(lambda data: b'{"current": {"name": "logreg"}}', id="no-version"),
        pytest.param(lambda data: b'{"current": null, "history": "x"}', id="bad-history"),
    ],
)
def test_corrupt_champion_json_is_moved_aside_and_the_gate_goes_on(
    registry, lake, tmp_path, caplog, damage
):
    first = _register(registry, tmp_path, "keyword", 0.40)
    registry.set_champion(first, "first")
    pointer = Path(lake.uri("models/champion.json"))
    broken = damage(pointer.read_bytes())
    pointer.write_bytes(broken)

    with caplog.at_level(logging.WARNING):
        assert registry.champion() is None  # no exception, nothing corrupt returned
    [aside] = _aside(pointer)
    assert aside.read_bytes() == broken and not pointer.exists()
    assert any(str(pointer) in w and "moved aside" in w for w in _warnings(caplog))

    # The next gate run promotes a challenger and writes a good pointer again.
    challenger = _register(registry, tmp_path, "logreg", 0.55)
    champion, decision, _ = choose_champion(registry, [challenger], floor=0.3)
    assert decision.promote and champion == challenger
    assert registry.champion() == challenger
    assert [h["name"] for h in registry.champion_history()] == ["logreg"]


def test_malformed_history_entries_are_dropped(registry, lake, tmp_path, caplog):
    first = _register(registry, tmp_path, "keyword", 0.40)
    registry.set_champion(first, "first")
    pointer = Path(lake.uri("models/champion.json"))
    data = json.loads(pointer.read_text())
    data["history"].insert(0, {"garbage": True})
    data["history"].insert(0, "not an entry")
    pointer.write_text(json.dumps(data))
    with caplog.at_level(logging.WARNING):
        assert registry.champion() == first
        assert [h["name"] for h in registry.champion_history()] == ["keyword"]
    assert any(str(pointer) in w and "2 malformed" in w for w in _warnings(caplog))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(b'{"name": "logreg", "vers', id="truncated"),
        pytest.param(b"\x00\x01\x02garbage", id="garbage"),
        pytest.param(b'{"name": "logreg"}', id="missing-fields"),
    ],
)
def test_corrupt_meta_of_the_champion_falls_back_to_the_previous_champion(
    registry, lake, tmp_path, caplog, damage
):
    first = _register(registry, tmp_path, "keyword", 0.40)
    second = _register(registry, tmp_path, "logreg", 0.55)
    registry.set_champion(first, "first")
    registry.set_champion(second, "better")
    meta = Path(lake.uri(f"models/logreg/{second.version}/meta.json"))
    meta.write_bytes(damage)

    with caplog.at_level(logging.WARNING):
        assert registry.champion() == first
    assert len(_aside(meta)) == 1 and not meta.exists()
    assert any(str(meta) in w for w in _warnings(caplog))
    assert registry.list_versions("logreg") == []  # the corrupt version is gone
    with pytest.raises(RegistryError):
        registry.get("logreg", second.version)


def test_list_versions_skips_a_corrupt_version_and_names_its_file(registry, lake, tmp_path):
    good = _register(registry, tmp_path, "xgboost", 0.5)
    bad = _register(registry, tmp_path, "xgboost", 0.6)
    meta = Path(lake.uri(f"models/xgboost/{bad.version}/meta.json"))
    data = json.loads(meta.read_text())
    data["artifact_sha256"] = "not-a-sha"
    meta.write_text(json.dumps(data))
    with pytest.raises(RegistryCorruptError, match=str(meta)):
        registry.get("xgboost", bad.version)
    meta.write_text(json.dumps(data))  # corrupt again (get moved it aside)
    assert registry.list_versions("xgboost") == [good]


def test_nan_metric_is_dropped_so_it_cannot_block_the_gate(registry, lake, tmp_path, caplog):
    stuck = _register(registry, tmp_path, "keyword", 0.40)
    registry.set_champion(stuck, "first")
    meta = Path(lake.uri(f"models/keyword/{stuck.version}/meta.json"))
    text = meta.read_text()
    assert '"validation_macro_f1": 0.4' in text
    meta.write_text(text.replace('"validation_macro_f1": 0.4', '"validation_macro_f1": NaN'))
    with caplog.at_level(logging.WARNING):
        champion = registry.champion()
    assert champion is not None and "validation_macro_f1" not in champion.metrics
    assert any(str(meta) in w and "non-finite" in w for w in _warnings(caplog))
    challenger = _register(registry, tmp_path, "logreg", 0.45)
    _, decision, _ = choose_champion(registry, [challenger], floor=0.3)
    assert decision.promote  # a NaN champion would have kept it for ever


def test_a_champion_whose_artifact_is_corrupt_is_not_kept(registry, lake, tmp_path, caplog):
    first = _register(registry, tmp_path, "keyword", 0.40)
    second = _register(registry, tmp_path, "logreg", 0.90)
    registry.set_champion(first, "first")
    registry.set_champion(second, "better")
    artifact = Path(lake.uri(second.artifact_key))
    artifact.write_bytes(artifact.read_bytes()[:40])  # a torn copy

    with pytest.raises(RegistryCorruptError, match=str(artifact)):
        registry.fetch(second, tmp_path / "out")
    challenger = _register(registry, tmp_path, "xgboost", 0.50)
    with caplog.at_level(logging.WARNING):
        champion, decision, _ = choose_champion(registry, [challenger], floor=0.3)
    # The broken 0.90 champion no longer stands in the way: 0.50 beats the previous 0.40.
    assert decision.promote and champion == challenger
    assert "0.4000" in decision.reason
    assert len(_aside(artifact)) == 1
    assert any(str(artifact) in w for w in _warnings(caplog))
    assert registry.list_versions("logreg") == []


def test_set_champion_over_a_corrupt_pointer_starts_a_new_history(registry, lake, tmp_path):
    first = _register(registry, tmp_path, "keyword", 0.40)
    pointer = Path(lake.uri("models/champion.json"))
    pointer.parent.mkdir(parents=True, exist_ok=True)
    pointer.write_bytes(b"{{{{")
    registry.set_champion(first, "first")
    assert registry.champion() == first
    assert len(registry.champion_history()) == 1 and len(_aside(pointer)) == 1
