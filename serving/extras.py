"""What the API computes with, besides SQL: title vectors, the query encoder, the champion.

All of it comes from the published snapshot version (its ``title_embeddings`` table and
its ``model/`` directory), loaded on first use and cached on that version, so a swap
brings its own vectors and model along and a request never mixes two versions.
The query encoder is the one model that is not per version: the same MiniLM the
``text_embeddings`` asset uses, loaded once per process.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serving.snapshot_store import OpenSnapshot
from trending_assets.settings import get_settings

logger = logging.getLogger(__name__)

MODEL_DIRNAME = "model"
DETAIL_CACHE_MAX = 50_000  # encoded GET /titles/{id} answers kept per snapshot version
ENCODER_ENV = "TRENDING_SEARCH_ENCODER"  # "off" forces keyword search


class ModelUnavailableError(RuntimeError):
    """The snapshot carries no usable genre model."""


def cached_detail(snapshot: OpenSnapshot, title_id: str) -> bytes | None:
    """The encoded detail answer of ``title_id`` on this version, if already built."""
    details = snapshot.extras.get("details")
    return details.get(title_id) if details is not None else None


def remember_detail(snapshot: OpenSnapshot, title_id: str, body: bytes) -> bytes:
    """Keep ``body`` for the version's lifetime (bounded: the oldest entry goes first)."""
    details = snapshot.extras.setdefault("details", {})
    if len(details) >= DETAIL_CACHE_MAX:
        with contextlib.suppress(StopIteration, RuntimeError):  # raced by another thread
            details.pop(next(iter(details)), None)
    details[title_id] = body
    return body


class SnapshotVectors:
    """Unit-length title vectors of one snapshot version, for cosine nearest neighbours."""

    def __init__(self, ids: list[str], matrix: np.ndarray) -> None:
        norms = np.linalg.norm(matrix, axis=1, keepdims=True) if len(matrix) else matrix
        keep = (norms[:, 0] > 0) if len(matrix) else np.zeros(0, dtype=bool)
        self.ids = [i for i, k in zip(ids, keep, strict=True) if k]
        self.matrix = (
            (matrix[keep] / norms[keep]).astype(np.float32)
            if keep.any()
            else np.zeros((0, 0), np.float32)
        )
        self.row = {title_id: n for n, title_id in enumerate(self.ids)}

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1]) if self.matrix.size else 0

    def __len__(self) -> int:
        return len(self.ids)

    def nearest(
        self, vector: np.ndarray, k: int, exclude: str | None = None
    ) -> list[tuple[str, float]]:
        """The ``k`` titles closest to ``vector`` by cosine similarity, best first."""
        if not len(self.ids):
            return []
        norm = float(np.linalg.norm(vector))
        if norm == 0:
            return []
        scores = self.matrix @ (np.asarray(vector, dtype=np.float32) / norm)
        if exclude is not None and exclude in self.row:
            scores[self.row[exclude]] = -np.inf
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((np.array([self.ids[i] for i in top]), -scores[top]))]
        return [(self.ids[i], round(float(scores[i]), 4)) for i in top if np.isfinite(scores[i])]

    def vector_of(self, title_id: str) -> np.ndarray | None:
        row = self.row.get(title_id)
        return None if row is None else self.matrix[row]


def _cached(snapshot: OpenSnapshot, name: str, load: Any) -> Any:
    """``load(snapshot)`` once per snapshot version; a failure is cached too (as the exception)."""
    extras = snapshot.extras
    if name in extras:
        value = extras[name]
    else:
        with snapshot.extras_lock:
            if name not in extras:
                try:
                    extras[name] = load(snapshot)
                except Exception as exc:  # remembered: no retry storm on every request
                    logger.warning("snapshot %s: %s unavailable: %s", snapshot.version, name, exc)
                    extras[name] = exc
            value = extras[name]
    if isinstance(value, Exception):
        raise value
    return value


def _load_vectors(snapshot: OpenSnapshot) -> SnapshotVectors:
    with snapshot.cursor_lock:
        cur = snapshot.connection.cursor()
    try:
        rows = cur.execute(
            "select title_id, embedding from title_embeddings order by title_id"
        ).fetchall()
    finally:
        cur.close()
    if not rows:
        return SnapshotVectors([], np.zeros((0, 0), np.float32))
    return SnapshotVectors([r[0] for r in rows], np.asarray([r[1] for r in rows], dtype=np.float32))


def vectors_for(snapshot: OpenSnapshot) -> SnapshotVectors:
    """The snapshot's title vectors; empty when it has none or they cannot be read (the
    reason is logged once): search and similar titles then fall back, never fail."""
    try:
        return _cached(snapshot, "vectors", _load_vectors)
    except Exception:
        return SnapshotVectors([], np.zeros((0, 0), np.float32))


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

    def predict(self, text: str) -> pd.DataFrame:
        from trending_assets.lib.ml.lifecycle import predict_titles

        with self._lock:  # models keep scratch state (tokenizers, torch modules)
            return predict_titles(self.model, ["input"], [text])


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
        return _cached(snapshot, "model", _load_model)
    except ModelUnavailableError:
        raise
    except Exception as exc:
        raise ModelUnavailableError(f"the snapshot's model could not be loaded: {exc}") from exc


class QueryEncoder:
    """MiniLM for query texts, loaded once per process (the app loads it at startup)."""

    _lock = threading.Lock()
    _encoder: Any = None
    _error: str | None = None

    @classmethod
    def disabled(cls) -> bool:
        return not get_settings().search_encoder

    @classmethod
    def get(cls) -> Any | None:
        """The encoder, or None (disabled, or it failed to load: the reason is logged once)."""
        if cls.disabled():
            return None
        if cls._encoder is None and cls._error is None:
            with cls._lock:
                if cls._encoder is None and cls._error is None:
                    try:
                        from trending_assets.lib.ml.embeddings import SentenceEmbedder

                        cls._encoder = SentenceEmbedder(batch_size=8)
                    except Exception as exc:
                        cls._error = f"{type(exc).__name__}: {exc}"
                        logger.warning("semantic search disabled, keyword fallback: %s", cls._error)
        return cls._encoder

    @classmethod
    def encode(cls, text: str) -> np.ndarray | None:
        """The query's vector; repeated queries come from a small per-process memo."""
        if cls.get() is None:
            return None
        try:
            return cls._encode_memo(text)
        except Exception:  # a failing encoder degrades search to keywords, never to a 500
            logger.exception("query encoding failed; answering with keyword search")
            return None

    @classmethod
    @functools.lru_cache(maxsize=2048)  # noqa: B019 - a class-level memo, on purpose
    def _encode_memo(cls, text: str) -> np.ndarray:
        with cls._lock:
            vector = np.asarray(cls._encoder.encode([text])[0], dtype=np.float32)
        vector.setflags(write=False)  # shared between requests
        return vector
