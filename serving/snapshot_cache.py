"""What the API keeps on one published snapshot version, besides its connection.

Values loaded on first use (``load_once``: the title vectors, the champion model) and
the bounded cache of encoded detail answers live in the version's ``extras``, so a swap
brings its own along and a request never mixes two versions.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from serving.snapshot_store import OpenSnapshot

logger = logging.getLogger(__name__)

DETAIL_CACHE_MAX = 50_000  # encoded GET /titles/{id} answers kept per snapshot version


def load_once(snapshot: OpenSnapshot, name: str, load: Any) -> Any:
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
