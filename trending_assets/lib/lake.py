"""The lake: raw files and Parquet under string keys, on a local directory or S3.

Keys are POSIX-style relative paths (``raw/listings/crawl_date=2026-11-20/listings.parquet``).
Every write is atomic: a reader sees the old object or the new one, never half of one.
Locally that is a temporary file in the same directory and ``os.replace``; on S3 a
single ``put_object`` is already all-or-nothing.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import pandas as pd


def _check_key(key: str) -> str:
    path = PurePosixPath(key)
    if not key or path.is_absolute() or ".." in path.parts:
        raise ValueError(f"lake key must be a relative path without '..': {key!r}")
    return str(path)


@dataclass(frozen=True)
class LakeObject:
    """One listed object: its key, size and a version tag that changes when it is rewritten.

    ``version`` is the ETag on S3 and the modification time (ns) locally: together with
    the size it is a cheap fingerprint, good enough to tell "unchanged since last seen".
    """

    key: str
    size: int
    version: str

    @property
    def fingerprint(self) -> str:
        return f"{self.size}:{self.version}"


class Lake(Protocol):
    def write_bytes(self, key: str, data: bytes) -> str: ...
    def read_bytes(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def list_keys(self, prefix: str = "") -> list[str]: ...
    def list_objects(self, prefix: str = "") -> list[LakeObject]: ...
    def uri(self, key: str) -> str: ...


class LocalLake:
    """A lake on the local file system, rooted at ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def write_bytes(self, key: str, data: bytes) -> str:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return self.uri(key)

    def read_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list_keys(self, prefix: str = "") -> list[str]:
        base = self.root / prefix if prefix else self.root
        if not base.exists():
            return []
        paths: Iterator[Path] = base.rglob("*") if base.is_dir() else iter([base])
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in paths
            if p.is_file() and not p.name.startswith(".")
        )

    def list_objects(self, prefix: str = "") -> list[LakeObject]:
        objects: list[LakeObject] = []
        for key in self.list_keys(prefix):
            try:
                stat = self._path(key).stat()
            except FileNotFoundError:  # removed between the listing and the stat
                continue
            objects.append(LakeObject(key, stat.st_size, str(stat.st_mtime_ns)))
        return objects

    def uri(self, key: str) -> str:
        return str(self._path(key))


class S3Lake:
    """A lake under ``s3://bucket/prefix``; ``client`` is a boto3 S3 client."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def _object_key(self, key: str) -> str:
        key = _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def write_bytes(self, key: str, data: bytes) -> str:
        self.client.put_object(Bucket=self.bucket, Key=self._object_key(key), Body=data)
        return self.uri(key)

    def read_bytes(self, key: str) -> bytes:
        response = self.client.get_object(Bucket=self.bucket, Key=self._object_key(key))
        return response["Body"].read()

    def exists(self, key: str) -> bool:
        response = self.client.list_objects_v2(
            Bucket=self.bucket, Prefix=self._object_key(key), MaxKeys=1
        )
        return any(obj["Key"] == self._object_key(key) for obj in response.get("Contents", []))

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._object_key(key))

    def list_keys(self, prefix: str = "") -> list[str]:
        return [obj.key for obj in self.list_objects(prefix)]

    def list_objects(self, prefix: str = "") -> list[LakeObject]:
        full_prefix = (
            self._object_key(prefix) if prefix else (f"{self.prefix}/" if self.prefix else "")
        )
        strip = len(self.prefix) + 1 if self.prefix else 0
        objects: list[LakeObject] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix):
            objects.extend(
                LakeObject(
                    obj["Key"][strip:], int(obj["Size"]), str(obj.get("ETag", "")).strip('"')
                )
                for obj in page.get("Contents", [])
            )
        return sorted(objects, key=lambda obj: obj.key)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._object_key(key)}"


def write_parquet(lake: Lake, key: str, frame: pd.DataFrame) -> str:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return lake.write_bytes(key, buffer.getvalue())


def read_parquet(lake: Lake, key: str) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(lake.read_bytes(key)))


def upload_file(lake: Lake, key: str, path: Path) -> str:
    return lake.write_bytes(key, Path(path).read_bytes())
