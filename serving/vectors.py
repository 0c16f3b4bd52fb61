"""Semantic search's two halves: the snapshot's title vectors and the query encoder.

The vectors come from the published snapshot version's ``title_embeddings`` table,
loaded on first use and cached on that version (``serving.snapshot_cache``). The query
encoder is the one model that is not per version: the same MiniLM the
``text_embeddings`` asset uses, loaded once per process.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

import numpy as np

from serving.snapshot_cache import load_once
from serving.snapshot_store import OpenSnapshot
from trending_assets.settings import get_settings

logger = logging.getLogger(__name__)

ENCODER_ENV = "TRENDING_SEARCH_ENCODER"  # "off" forces keyword search


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
        return load_once(snapshot, "vectors", _load_vectors)
    except Exception:
        return SnapshotVectors([], np.zeros((0, 0), np.float32))


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
                        from trending_assets.lib.ml.embeddings import configured_embedder

                        cls._encoder = configured_embedder(batch_size=8).load()
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
