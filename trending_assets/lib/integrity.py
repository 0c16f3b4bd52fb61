"""Validate on read, heal on failure: the shared pieces of the caches and registries.

A cache or registry file that cannot be read is never propagated: it is *moved aside*
(renamed ``<file>.corrupt-<UTC timestamp>``, kept for a post-mortem) with one warning that
names it and says why, and the caller carries on as if the file were not there (the
entries are recomputed). A corrupt *entry* in a readable file is dropped the same way,
with a warning naming the file.

Works on a local lake (a rename) and on S3 (copy, then delete); nothing here imports
Dagster.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

log = logging.getLogger("trending_assets.integrity")

CORRUPT_MARK = ".corrupt-"


def corrupt_name(name: str, when: datetime | None = None) -> str:
    """``<name>.corrupt-<UTC timestamp>`` (microseconds, so two in a row do not collide)."""
    when = when or datetime.now(UTC)
    return f"{name}{CORRUPT_MARK}{when:%Y%m%dT%H%M%S%fZ}"


def move_aside_path(path: str | os.PathLike[str], reason: str) -> Path | None:
    """Rename a corrupt local file to ``<file>.corrupt-<timestamp>`` and warn, naming it.

    Returns the new path, or None when the file was already gone (another process moved it).
    """
    path = Path(path)
    target = path.with_name(corrupt_name(path.name))
    try:
        os.replace(path, target)
    except FileNotFoundError:
        return None
    log.warning("%s is corrupt (%s): moved aside to %s; its entries will be recomputed",
                path, reason, target.name)  # fmt: skip
    return target


def local_path(lake: Any, key: str) -> Path | None:
    """The local file behind ``key`` when ``lake`` is a local lake, else None."""
    root = getattr(lake, "root", None)
    if root is None:
        return None
    return Path(lake.uri(key))


def remove_key(lake: Any, key: str) -> None:
    """Delete ``key`` from the lake (missing is fine)."""
    path = local_path(lake, key)
    if path is not None:
        path.unlink(missing_ok=True)
        return
    client = getattr(lake, "client", None)
    if client is not None and hasattr(lake, "_object_key"):
        client.delete_object(Bucket=lake.bucket, Key=lake._object_key(key))


def move_aside_key(lake: Any, key: str, reason: str) -> str | None:
    """Move a corrupt lake object to ``<key>.corrupt-<timestamp>`` and warn, naming it.

    Returns the new key (None when the object was already gone). On S3 the bytes are copied
    under the new key, then the original is deleted.
    """
    new_key = str(PurePosixPath(key).with_name(corrupt_name(PurePosixPath(key).name)))
    path = local_path(lake, key)
    if path is not None:
        moved = move_aside_path(path, reason)
        return None if moved is None else str(PurePosixPath(key).with_name(moved.name))
    try:
        data = lake.read_bytes(key)
    except Exception:  # noqa: BLE001 - unreadable: nothing to keep, just drop it
        data = None
    if data is not None:
        lake.write_bytes(new_key, data)
    remove_key(lake, key)
    log.warning("%s is corrupt (%s): moved aside to %s; its entries will be recomputed",
                lake.uri(key), reason, new_key)  # fmt: skip
    return new_key


def vector_problem(
    vector: Any,
    dim: int,
    *,
    unit_norm: bool | None = None,
    max_norm: float = 1e3,
    norm_tolerance: float = 1e-2,
) -> str | None:
    """Why ``vector`` may not be cached or served, or None when it is fine.

    It must be a float vector of shape ``(dim,)``, every value finite, its norm above zero
    and at most ``max_norm``; with ``unit_norm`` within ``norm_tolerance`` of 1.
    """
    try:
        array = np.asarray(vector, dtype=np.float64)
    except (TypeError, ValueError):
        return "not a numeric vector"
    if array.shape != (dim,):
        return f"shape {array.shape}, expected ({dim},)"
    if not np.isfinite(array).all():
        return "non-finite values (NaN or Inf)"
    norm = float(np.linalg.norm(array))
    if not norm > 0:
        return "zero vector"
    if norm > max_norm:
        return f"norm {norm:.3g} above {max_norm:g}"
    if unit_norm and abs(norm - 1.0) > norm_tolerance:
        return f"norm {norm:.4g}, expected 1 (L2-normalised)"
    return None
