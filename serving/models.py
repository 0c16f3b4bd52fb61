"""The genre model the API predicts with: the champion copied into the snapshot.

It comes from the published snapshot version's ``model/`` directory, loaded on first use
and cached on that version (``serving.snapshot_cache``), so a swap brings its own model.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pandas as pd

from serving.snapshot_cache import load_once
from serving.snapshot_store import OpenSnapshot

MODEL_DIRNAME = "model"


class ModelUnavailableError(RuntimeError):
    """The snapshot carries no usable genre model."""


class ChampionModel:
    """The snapshot's copy of the champion, predicting through the training code path."""

    def __init__(self, directory: Path, fingerprint: str | None = None) -> None:
        from trending_assets.lib.ml.models import load_model, read_model_json

        if not (directory / "model.json").is_file():
            raise ModelUnavailableError(
                "this snapshot was published without a champion model; materialise "
                "champion_model, then serving_snapshot"
            )
        meta = read_model_json(directory)
        self.model = load_model(directory)
        # The fingerprint build_snapshot recorded: "<registry name>@<registry version>".
        name, _, version = (fingerprint or "").partition("@")
        self.name = name or str(meta.get("name", self.model.name))
        self.version = version or "unknown"
        self._lock = threading.Lock()

    def predict(self, text: str, title_type: str | None = None) -> pd.DataFrame:
        """One row per genre for ``text``; ``title_type`` "movie" / "tv" / None (unknown)."""
        from trending_assets.lib.ml.lifecycle import predict_titles

        types = None if title_type is None else [title_type]
        with self._lock:  # models keep scratch state (tokenizers, torch modules)
            return predict_titles(self.model, ["input"], [text], types)


def _load_model(snapshot: OpenSnapshot) -> ChampionModel:
    with snapshot.cursor_lock:
        cur = snapshot.connection.cursor()
    try:
        (attachments,) = cur.execute("select attachments from snapshot_info").fetchone()
    finally:
        cur.close()
    fingerprint = json.loads(attachments).get(MODEL_DIRNAME)
    return ChampionModel(snapshot.path.parent / MODEL_DIRNAME, fingerprint)


def model_for(snapshot: OpenSnapshot) -> ChampionModel:
    try:
        return load_once(snapshot, "model", _load_model)
    except ModelUnavailableError:
        raise
    except Exception as exc:
        raise ModelUnavailableError(f"the snapshot's model could not be loaded: {exc}") from exc
