"""Where a dataset spec's bytes live: a local path as given, or an http(s) URL downloaded
to a temporary directory for the length of a load."""

from __future__ import annotations

import contextlib
import logging
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from trending_assets.lib.datasets.formats import classify_name

log = logging.getLogger(__name__)


class DatasetDownloadError(OSError):
    """A dataset URL could not be fetched (the message says which URL and why)."""


@contextlib.contextmanager
def local_path(location: str, timeout: float) -> Iterator[Path]:
    """``location`` as a local path; an http(s) URL is downloaded first, and the download
    is deleted when the block ends."""
    if urlsplit(location).scheme in {"http", "https"}:
        with tempfile.TemporaryDirectory(prefix="dataset-") as tmp:
            yield _download(location, Path(tmp), timeout)
    else:
        yield Path(location)


def _redact(url: str) -> str:
    """The URL without credentials or query string, which may hold tokens."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _download(url: str, dest: Path, timeout: float) -> Path:
    """Stream ``url`` into ``dest`` under the name the URL (or server) gives it."""
    shown = _redact(url)
    name = PurePosixPath(unquote(urlsplit(url).path)).name or "download"
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=timeout) as response:
            if response.status_code >= 400:
                raise DatasetDownloadError(
                    f"could not download dataset {shown}: HTTP {response.status_code}"
                )
            disposition = response.headers.get("content-disposition", "")
            served = re.search(r'filename="?([^";]+)"?', disposition)
            if served and not classify_name(name):
                name = PurePosixPath(served.group(1)).name
            target = dest / name
            with target.open("wb") as out:
                for chunk in response.iter_bytes(1 << 20):
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise DatasetDownloadError(
            f"could not download dataset {shown}: {type(exc).__name__}: {exc}"
        ) from None
    log.info("downloaded %s (%d bytes)", shown, target.stat().st_size)
    return target
