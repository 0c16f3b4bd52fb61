"""Asset outputs on the lake: one store for every value an asset hands to the next one.

A value is kept under its asset's key (``assets/<key path>[/partition=<key>]/``) as

- ``value-<sha16>.parquet`` when it is a pandas DataFrame (the embeddings frame), or
- ``value-<sha16>.joblib`` for any other Python object (the training split, the fitted
  TF-IDF featuriser, the trained-model records, the evaluations, the champion's version,
  the review-rating model), written with :func:`joblib.dump`, plus
- ``manifest.json``: ``{"format", "type", "file", "sha256", "bytes", "written_at",
  "python", "libraries"}``.

The manifest is written last and names its data file, whose name carries its digest, so a
reader never pairs a new manifest with an old file (or the reverse): it sees the previous
value or the new one. A digest that does not match is an :class:`ArtifactError`, never a
half-read value. Data files older than the one before the current are removed.

Joblib files are pickles: load them only from a lake you trust (the platform's own). The
trained models themselves are not here: the model registry (``lib/ml/registry.py``) keeps
them on the same lake, and the records here point at their registry versions.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import joblib
import pandas as pd

from trending_assets.lib.lake import Lake

MANIFEST = "manifest.json"
# Library versions recorded with each value, to explain a load that fails after an upgrade.
RECORDED_LIBRARIES = ("pandas", "pyarrow", "scikit-learn", "numpy", "joblib", "torch")


class ArtifactError(RuntimeError):
    """A stored asset value is missing, corrupt or not what its manifest says."""


@dataclass(frozen=True)
class StoredArtifact:
    key: str  # the data file's lake key
    uri: str
    format: str  # parquet | joblib | none
    bytes: int
    sha256: str


def _library_versions() -> dict[str, str]:
    versions = {}
    for name in RECORDED_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _type_name(obj: Any) -> str:
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"


class ArtifactStore:
    """Save and load asset values under ``prefix`` on a lake (local directory or S3)."""

    def __init__(self, lake: Lake, prefix: str = "assets") -> None:
        self.lake = lake
        self.prefix = prefix.strip("/")

    def folder(self, path: Sequence[str], partition: str | None = None) -> str:
        parts = [self.prefix, *path]
        if partition is not None:
            parts.append(f"partition={partition}")
        return "/".join(parts)

    def save(self, path: Sequence[str], obj: Any, partition: str | None = None) -> StoredArtifact:
        folder = self.folder(path, partition)
        if obj is None:
            fmt, suffix, data = "none", None, b""
        elif isinstance(obj, pd.DataFrame):
            buffer = io.BytesIO()
            obj.to_parquet(buffer, index=False)
            fmt, suffix, data = "parquet", "parquet", buffer.getvalue()
        else:
            buffer = io.BytesIO()
            joblib.dump(obj, buffer)
            fmt, suffix, data = "joblib", "joblib", buffer.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        data_key = f"{folder}/value-{digest[:16]}.{suffix}" if suffix else None
        if data_key is not None:
            self.lake.write_bytes(data_key, data)
        manifest = {
            "format": fmt,
            "type": _type_name(obj),
            "file": data_key.rsplit("/", 1)[1] if data_key else None,
            "sha256": digest,
            "bytes": len(data),
            "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "libraries": _library_versions(),
        }
        manifest_key = f"{folder}/{MANIFEST}"
        previous = self._read_manifest(manifest_key, missing_ok=True)
        self.lake.write_bytes(manifest_key, json.dumps(manifest, indent=2).encode())
        self._prune(folder, keep={manifest["file"], (previous or {}).get("file")})
        key = data_key or manifest_key
        return StoredArtifact(key, self.lake.uri(key), fmt, len(data), digest)

    def load(self, path: Sequence[str], partition: str | None = None) -> Any:
        folder = self.folder(path, partition)
        manifest = self._read_manifest(f"{folder}/{MANIFEST}", missing_ok=False)
        fmt = manifest.get("format")
        if fmt == "none":
            return None
        if fmt not in ("parquet", "joblib") or not manifest.get("file"):
            raise ArtifactError(f"{self.lake.uri(folder)}: unknown stored format {fmt!r}")
        data_key = f"{folder}/{manifest['file']}"
        try:
            data = self.lake.read_bytes(data_key)
        except (FileNotFoundError, OSError) as exc:
            raise ArtifactError(
                f"{self.lake.uri(data_key)} is missing (its manifest names it): {exc}"
            ) from exc
        except Exception as exc:  # S3: botocore's NoSuchKey and friends
            raise ArtifactError(f"{self.lake.uri(data_key)} could not be read: {exc}") from exc
        if hashlib.sha256(data).hexdigest() != manifest.get("sha256"):
            raise ArtifactError(
                f"{self.lake.uri(data_key)} does not match its manifest's sha256: "
                "the file is corrupt; materialise the asset again"
            )
        if fmt == "parquet":
            return pd.read_parquet(io.BytesIO(data))
        value = joblib.load(io.BytesIO(data))
        if _type_name(value) != manifest.get("type"):
            raise ArtifactError(
                f"{self.lake.uri(data_key)} holds {_type_name(value)}, "
                f"its manifest says {manifest.get('type')}"
            )
        return value

    def _read_manifest(self, key: str, *, missing_ok: bool) -> dict[str, Any] | None:
        try:
            raw = self.lake.read_bytes(key)
        except Exception as exc:
            if not self.lake.exists(key):
                if missing_ok:
                    return None
                raise ArtifactError(
                    f"no stored value at {self.lake.uri(key)}: materialise the asset first"
                ) from exc
            raise ArtifactError(f"{self.lake.uri(key)} could not be read: {exc}") from exc
        try:
            manifest = json.loads(raw)
        except ValueError as exc:
            if missing_ok:  # a corrupt manifest is replaced by the one being written
                return None
            raise ArtifactError(f"{self.lake.uri(key)} is not valid JSON: {exc}") from exc
        if not isinstance(manifest, dict):
            if missing_ok:
                return None
            raise ArtifactError(f"{self.lake.uri(key)} is not a manifest object")
        return manifest

    def _prune(self, folder: str, keep: set[str | None]) -> None:
        for key in self.lake.list_keys(f"{folder}/"):
            name = key.rsplit("/", 1)[-1]
            if name.startswith("value-") and name not in keep and "/" not in key[len(folder) + 1 :]:
                self.lake.delete(key)
