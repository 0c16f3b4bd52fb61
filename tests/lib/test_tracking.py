"""W&B runs, offline, on disk: training curves, test scores, the champion alias."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from trending_assets.lib import tracking


@pytest.fixture
def offline(monkeypatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    for key, folder in {"WANDB_DATA_DIR": "data", "WANDB_CACHE_DIR": "cache",
                        "WANDB_ARTIFACT_DIR": "artifacts", "WANDB_CONFIG_DIR": "config"}.items():  # fmt: skip
        monkeypatch.setenv(key, str(tmp_path / "wandb-home" / folder))
    return tmp_path / "runs"


def records(run: tracking.TrackedRun, *expected: bytes, timeout_s: float = 60) -> bytes:
    """The run's record file (W&B's own binary log, what `wandb sync` uploads). Keys and
    JSON values are stored as text inside it, which is all these checks need.

    W&B's service process writes the file; on a loaded machine it can still be writing when
    ``finish()`` has returned, so wait (bounded) until the ``expected`` records are in it.
    """
    [path] = Path(run.directory).glob("run-*.wandb")
    deadline = time.monotonic() + timeout_s
    while True:
        data = path.read_bytes()
        if all(needle in data for needle in expected) or time.monotonic() > deadline:
            return data
        time.sleep(0.2)


def test_training_evaluation_and_promotion_are_runs_on_disk(offline: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "model.json").write_text("{}")
    history = [
        {"epoch": 0, "train_loss": None, "validation_macro_f1": 0.1},
        {"epoch": 1, "train_loss": 0.7, "validation_macro_f1": 0.3},
        {"epoch": 2, "train_loss": 0.5, "validation_macro_f1": 0.4},
    ]
    trained = tracking.log_training_run(
        project="t", name="bert-abc", group="g", config={"epochs": 2},
        metrics={"validation_macro_f1": 0.4}, artifact_dir=model_dir, history=history,
        artifact_name="genre-model-bert", root=offline,
    )  # fmt: skip
    tested = tracking.log_evaluation_run(
        project="t", name="bert-abc-test", group="g", root=offline,
        metrics={"test_macro_f1": 0.35, "behaviour_failures": 0},
    )  # fmt: skip
    promoted = tracking.alias_champion(
        project="t", group="g", artifact_dir=model_dir, artifact_name="genre-model-bert",
        version="v1", reason="best", root=offline,
    )  # fmt: skip
    assert trained.mode == tested.mode == promoted.mode == "offline"
    runs = sorted(p.name for p in (offline / "wandb").glob("offline-run-*"))
    assert len(runs) == 3
    # A curve point per epoch with a loss (epochs 1 and 2), then the final metrics.
    assert records(trained, b"validation_macro_f1").count(b"train_loss") >= 2
    assert b"validation_macro_f1" in records(trained)
    tested_records = records(tested, b"test_macro_f1")
    assert b"test_macro_f1" in tested_records and b"validation" not in tested_records
    # The champion alias and the registry version travel with the artifact.
    promoted_records = records(promoted, b"champion", b"registry-v1")
    assert b"champion" in promoted_records and b"registry-v1" in promoted_records
    # W&B's staging stays in the folders the environment names, not the user's home.
    assert (tmp_path / "wandb-home" / "data" / "artifacts" / "staging").is_dir()
