"""The model registry on a local lake, model cards, and the promotion gate both ways."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from trending_assets.lib.lake import LocalLake
from trending_assets.lib.ml.cards import model_card
from trending_assets.lib.ml.registry import (
    ModelRegistry,
    ModelVersion,
    RegistryError,
    decide_promotion,
)


def _model_dir(tmp_path: Path, name: str = "m", payload: str = "weights") -> Path:
    directory = tmp_path / name
    (directory / "boosters").mkdir(parents=True)
    (directory / "model.json").write_text(json.dumps({"name": name}))
    (directory / "boosters" / "a.ubj").write_text(payload)
    return directory


def _register(
    registry: ModelRegistry, tmp_path: Path, name: str, score: float, payload: str
) -> ModelVersion:
    return registry.register(
        name,
        _model_dir(tmp_path / payload, name, payload),
        metrics={"validation_macro_f1": score, "macro_f1": score - 0.01},
        card=f"# {name}\n",
        fingerprint="f" * 64,
        code_version="abc123",
        extra={"train_seconds": 1.5},
    )


def test_register_list_get_fetch(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path / "lake")
    registry = ModelRegistry(lake)
    first = _register(registry, tmp_path, "logreg", 0.5, "one")
    second = _register(registry, tmp_path, "logreg", 0.6, "two")
    assert first.version < second.version  # sortable by time
    assert first.version.endswith(first.artifact_sha256[:8])
    assert lake.exists(f"models/logreg/{first.version}/model.tar")
    assert lake.exists(f"models/logreg/{first.version}/meta.json")
    assert registry.card(first) == "# logreg\n"
    assert [v.version for v in registry.list_versions("logreg")] == [first.version, second.version]
    assert registry.list_versions("nothing") == []
    got = registry.get("logreg", second.version)
    assert got == second and got.metrics["validation_macro_f1"] == 0.6
    assert got.extra == {"train_seconds": 1.5} and got.code_version == "abc123"
    dest = registry.fetch(second, tmp_path / "fetched")
    assert (dest / "boosters" / "a.ubj").read_text() == "two"
    assert json.loads((dest / "model.json").read_text()) == {"name": "logreg"}
    with pytest.raises(RegistryError):
        registry.get("logreg", "19990101T000000000000Z-deadbeef")


def test_a_version_registered_gzipped_still_fetches(tmp_path: Path) -> None:
    """Versions registered before the artifacts became plain tars are model.tar.gz: each
    version's own artifact_key and checksum name its file, and fetch reads either."""
    import dataclasses
    import gzip
    import hashlib

    lake = LocalLake(tmp_path / "lake")
    registry = ModelRegistry(lake)
    plain = _register(registry, tmp_path, "logreg", 0.5, "old")
    assert lake.read_bytes(plain.artifact_key)[257:262] == b"ustar"  # a plain tar
    gzipped = gzip.compress(lake.read_bytes(plain.artifact_key))
    key = plain.artifact_key.replace("model.tar", "model.tar.gz")
    lake.write_bytes(key, gzipped)
    legacy = dataclasses.replace(
        plain, artifact_key=key, artifact_sha256=hashlib.sha256(gzipped).hexdigest()
    )
    dest = registry.fetch(legacy, tmp_path / "fetched")
    assert (dest / "boosters" / "a.ubj").read_text() == "old"


def test_fetch_refuses_a_tampered_artifact(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path / "lake")
    registry = ModelRegistry(lake)
    version = _register(registry, tmp_path, "keyword", 0.4, "one")
    lake.write_bytes(version.artifact_key, b"not the model")
    with pytest.raises(RegistryError, match="checksum"):
        registry.fetch(version, tmp_path / "out")


def test_champion_pointer_and_history(tmp_path: Path) -> None:
    registry = ModelRegistry(LocalLake(tmp_path / "lake"))
    assert registry.champion() is None
    first = _register(registry, tmp_path, "keyword", 0.40, "one")
    second = _register(registry, tmp_path, "logreg", 0.55, "two")
    registry.set_champion(first, "first model")
    assert registry.champion() == first
    registry.set_champion(second, "beats keyword")
    assert registry.champion() == second
    history = registry.champion_history()
    assert [(h["name"], h["reason"]) for h in history] == [
        ("keyword", "first model"),
        ("logreg", "beats keyword"),
    ]
    assert history[-1]["metrics"]["validation_macro_f1"] == 0.55
    # a fresh registry object on the same lake sees the same champion
    assert ModelRegistry(LocalLake(tmp_path / "lake")).champion() == second


def _version(name: str, score: float | None, version: str = "v1") -> ModelVersion:
    metrics = {} if score is None else {"validation_macro_f1": score}
    return ModelVersion(name, version, metrics, "f", "c", "t", "k", "s", "card")


def test_gate_promotes_a_better_challenger() -> None:
    decision = decide_promotion(_version("keyword", 0.45), _version("logreg", 0.56), floor=0.3)
    assert decision.promote
    assert "0.5600" in decision.reason and "0.4500" in decision.reason


def test_gate_keeps_the_champion_against_a_worse_or_equal_challenger() -> None:
    champion = _version("logreg", 0.56)
    worse = decide_promotion(champion, _version("xgboost", 0.52), floor=0.3)
    assert not worse.promote
    assert "0.5200" in worse.reason and "0.5600" in worse.reason and "kept" in worse.reason
    marginal = decide_promotion(champion, _version("bert", 0.565), floor=0.3, min_improvement=0.01)
    assert not marginal.promote
    assert not decide_promotion(champion, champion, floor=0.3).promote


def test_gate_floor_and_first_champion() -> None:
    assert decide_promotion(None, _version("keyword", 0.45), floor=0.3).promote
    below = decide_promotion(None, _version("keyword", 0.25), floor=0.3)
    assert not below.promote and "below the quality floor 0.3000" in below.reason
    below_better = decide_promotion(_version("a", 0.1), _version("b", 0.2), floor=0.3)
    assert not below_better.promote
    assert not decide_promotion(None, _version("x", None), floor=0.3).promote


def test_model_card_has_every_section() -> None:
    metrics = {
        "macro_f1": 0.5,
        "micro_f1": 0.6,
        "samples_f1": 0.55,
        "validation_macro_f1": 0.52,
        "per_genre": [
            {"genre": "drama", "precision": 0.7, "recall": 0.6, "f1": 0.646, "support": 30}
        ],
        "slices": pd.DataFrame(
            [
                {
                    "slice": "title_type",
                    "value": "tv",
                    "n": 12,
                    "macro_f1": 0.4,
                    "micro_f1": 0.5,
                    "samples_f1": 0.45,
                    "genres_present": 3,
                }
            ]
        ),  # fmt: skip
    }
    summary = {"sizes": {"train": 70, "validation": 15, "test": 15}, "genres": ["drama"],
               "dropped_genres": {"war": 3}, "excluded": {"no_label_after_genre_drop": 2},
               "seed": 42, "fractions": [0.7, 0.15, 0.15]}  # fmt: skip
    card = model_card("logreg", "v1", metrics, summary, "abc", {"C": 4.0}, ["English plots only"])
    for expected in ("# Genre model `logreg`", "| train | 70 |", "war (3)", "`abc`",
                     "| macro_f1 | 0.500 |", "| drama | 0.700 |", "| title_type | tv | 12 |",
                     '"C": 4.0', "- English plots only"):  # fmt: skip
        assert expected in card
