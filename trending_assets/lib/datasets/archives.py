"""The files inside a dataset container (a zip or tar archive, plain or gz/bz2/xz
compressed, or a directory) as ``(name, read)`` entries, read lazily and never extracted."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from trending_assets.lib.datasets.formats import classify_name

_ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")

# What reading a damaged archive raises (a loader reports it as an unreadable archive).
ARCHIVE_READ_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError, gzip.BadGzipFile, zlib.error)

Entry = tuple[str, Callable[[], bytes]]


def is_archive(path: Path) -> bool:
    """Whether the file name is that of a zip or (compressed) tar archive."""
    return path.name.lower().endswith(_ARCHIVE_SUFFIXES)


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            yield Path(dirpath, filename)


def dir_entries(root: Path) -> Iterator[Entry]:
    """Files under ``root`` (archives aside), named relative to its parent so
    ``aclImdb/train/...`` keeps its shape."""
    for full in _walk(root):
        if not is_archive(full):
            yield full.relative_to(root.parent).as_posix(), full.read_bytes


def nested_archives(root: Path) -> list[tuple[Path, str]]:
    """Archives in a directory whose names say which dataset they hold."""
    found = []
    for full in _walk(root):
        fmt = classify_name(full.name) if is_archive(full) else None
        if fmt:
            found.append((full, fmt))
    return found


def archive_entries(path: Path) -> Iterator[Entry]:
    """Members of a zip or tar archive; tar is streamed, never extracted to disk."""
    if path.name.lower().endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    yield info.filename, lambda info=info: archive.read(info)
        return
    with _decompressed(path) as raw, tarfile.open(fileobj=raw, mode="r|") as archive:
        for member in archive:
            if member.isfile():

                def read(member: tarfile.TarInfo = member) -> bytes:
                    handle = archive.extractfile(member)
                    return handle.read() if handle else b""

                yield member.name, read
        # tarfile stops quietly at a truncated header; reading the compressed stream to
        # its end makes gzip/bz2/xz check their trailer, so a cut-off download fails loudly.
        while raw.read(1 << 20):
            pass


def _decompressed(path: Path) -> BinaryIO:
    lower = path.name.lower()
    if lower.endswith((".gz", ".tgz")):
        return gzip.open(path, "rb")
    if lower.endswith((".bz2", ".tbz2")):
        return bz2.open(path, "rb")
    if lower.endswith((".xz", ".txz")):
        return lzma.open(path, "rb")
    return path.open("rb")
