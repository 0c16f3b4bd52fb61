"""``load_listings`` / ``load_reviews``: a dataset spec to records and rejects.

Resolves the spec (``format:`` prefix, URL or path), walks a directory or archive once
collecting the files each format needs, runs the format parsers, and makes repeated
ids unique within a source.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pandas as pd

from trending_assets.lib.datasets.archives import (
    ARCHIVE_READ_ERRORS,
    archive_entries,
    dir_entries,
    is_archive,
    nested_archives,
)
from trending_assets.lib.datasets.fetch import local_path
from trending_assets.lib.datasets.formats import FORMATS, classify_name, supported
from trending_assets.lib.datasets.formats.aclimdb import (
    REVIEW_PATH,
    URLS_PATH,
    AclParts,
    load_aclimdb,
)
from trending_assets.lib.datasets.formats.cmu import cmu_role, load_cmu, load_cmu_file
from trending_assets.lib.datasets.formats.mpst import load_mpst
from trending_assets.lib.datasets.formats.streaming import (
    load_other_platform,
    looks_like_catalogue,
    streaming_loader,
)
from trending_assets.lib.datasets.formats.tmdb import load_tmdb_5000
from trending_assets.lib.datasets.formats.wiki import load_wiki_plots
from trending_assets.lib.datasets.records import Kind, LoadResult, columns_of, typed

log = logging.getLogger(__name__)

_CSV_LOADERS: dict[str, Callable[[bytes, str], LoadResult]] = {
    "tmdb_5000": load_tmdb_5000,
    "netflix": streaming_loader("netflix"),
    "hulu": streaming_loader("hulu"),
    "disney_plus": streaming_loader("disney_plus"),
    "streaming": load_other_platform,
    "wiki_plots": load_wiki_plots,
    "mpst": load_mpst,
}


def load_listings(spec: str | os.PathLike[str], *, timeout: float = 120.0) -> LoadResult:
    """Listing records from a dataset path, directory, archive or http(s) URL.

    ``spec`` may carry a ``format:`` prefix (``tmdb_5000:/data/movies.csv``) when the
    file name does not say what it is. Columns: the listing record plus ``dataset``.
    """
    return _load(spec, "listings", timeout)


def load_reviews(spec: str | os.PathLike[str], *, timeout: float = 120.0) -> LoadResult:
    """Review records (aclImdb) from a path, directory, archive or http(s) URL.

    Columns: the review record plus ``dataset``.
    """
    return _load(spec, "reviews", timeout)


def _split_spec(spec: str | os.PathLike[str]) -> tuple[str | None, str]:
    text = os.fspath(spec)
    match = re.match(r"^([A-Za-z][A-Za-z0-9_]*):(.+)$", text)
    if not match or match.group(1).lower() in {"http", "https"} or len(match.group(1)) == 1:
        return None, text  # a URL, a plain path, or a Windows drive letter
    forced, rest = match.group(1).lower(), match.group(2)
    if forced not in FORMATS:
        raise ValueError(f"unknown dataset format {forced!r}; supported formats: {supported()}")
    return forced, rest


def _load(spec: str | os.PathLike[str], kind: Kind, timeout: float) -> LoadResult:
    forced, location = _split_spec(spec)
    if forced and FORMATS[forced].kind != kind:
        log.info("%s is forced to %s, which holds no %s", location, forced, kind)
        return LoadResult(typed(pd.DataFrame(), columns_of(kind)))
    with local_path(location, timeout) as path:
        return _load_path(path, kind, forced)


@dataclass
class _Collected:
    """The parts of a spec that matter for one kind, gathered in a single pass."""

    csv_files: list[tuple[str, str, bytes]] = field(default_factory=list)  # format, name, data
    cmu: dict[str, dict[str, bytes]] = field(default_factory=dict)  # dir -> role -> data
    acl: dict[str, AclParts] = field(default_factory=dict)  # root -> parts
    seen: set[str] = field(default_factory=set)  # every known format met, of either kind


def _load_path(path: Path, kind: Kind, forced: str | None) -> LoadResult:
    if not path.exists():
        raise FileNotFoundError(f"dataset not found: {path}")
    named = classify_name(path.name) if is_archive(path) else None
    if named and FORMATS[named].kind != kind:
        log.info("%s is a %s archive, holding no %s", path.name, named, kind)
        return LoadResult(typed(pd.DataFrame(), columns_of(kind)))
    if path.is_dir() or is_archive(path):
        collected = _Collected()
        entries = dir_entries(path) if path.is_dir() else archive_entries(path)
        try:
            for name, read in entries:
                _collect(collected, name, read, kind, forced)
        except ARCHIVE_READ_ERRORS as exc:
            raise ValueError(f"{path.name} is not a readable archive: {exc}") from exc
        results = _run_loaders(collected, None if path.is_dir() else path.name)
        if path.is_dir():
            for archive, fmt in nested_archives(path):
                collected.seen.add(fmt)
                if FORMATS[fmt].kind == kind and forced in (None, fmt):
                    results.append(_load_path(archive, kind, forced))
        if not collected.seen:
            raise ValueError(f"no known dataset found in {path}; supported formats: {supported()}")
        if not results:
            log.info("%s holds no %s (found %s)", path, kind, ", ".join(sorted(collected.seen)))
    else:
        results = [_load_single_file(path, kind, forced)]
    result = LoadResult.concat(results, columns_of(kind))
    if kind == "listings":
        result.frame = _unique_ids(result.frame, "source_title_id")
    log.info(
        "loaded %d %s (%d rejected) from %s", len(result.frame), kind, len(result.rejects), path
    )
    return result


def _load_single_file(path: Path, kind: Kind, forced: str | None) -> LoadResult:
    fmt = forced or classify_name(path.name)
    if fmt is None:
        raise ValueError(
            f"cannot tell the dataset format of {path.name!r} from its name; prefix the path "
            f"with a format (e.g. tmdb_5000:{path}). Supported formats: {supported()}"
        )
    if FORMATS[fmt].kind != kind:
        log.info("%s is a %s file, holding no %s", path.name, fmt, kind)
        return LoadResult(typed(pd.DataFrame(), columns_of(kind)))
    if fmt == "aclimdb":
        raise ValueError(
            f"aclimdb is read from its .tar.gz or extracted directory, not {path.name}"
        )
    if fmt != "cmu":
        return _CSV_LOADERS[fmt](path.read_bytes(), path.name)
    return load_cmu_file(path)


def _collect(
    into: _Collected, name: str, read: Callable[[], bytes], kind: Kind, forced: str | None
) -> None:
    """Keep ``name``'s bytes if it belongs to a format of ``kind`` (and to ``forced``, if set)."""
    acl_urls = URLS_PATH.search(name)
    acl_review = None if acl_urls else REVIEW_PATH.search(name)
    fmt = "aclimdb" if acl_urls or acl_review else classify_name(name)
    if fmt is None:
        return
    into.seen.add(fmt)
    if (forced and fmt != forced) or FORMATS[fmt].kind != kind:
        return
    if acl_urls:
        parts = into.acl.setdefault(name[: acl_urls.start()], AclParts())
        text = read().decode("utf-8", errors="replace")
        parts.urls[(acl_urls.group(1), acl_urls.group(2))] = text.splitlines()
    elif acl_review:
        parts = into.acl.setdefault(name[: acl_review.start()], AclParts())
        split, label, file_name = acl_review.groups()
        parts.reviews.append((split, label, file_name, read()))
    elif fmt == "cmu":
        role = cmu_role(name)
        if role:
            into.cmu.setdefault(str(PurePosixPath(name).parent), {})[role] = read()
    elif fmt == "streaming" and not forced:
        # "<anything>_titles.csv" in a folder or archive may be some other table: taken
        # only when it has a streaming catalogue's columns (a file named on its own, or
        # forced, is read and its missing columns named as an error)
        data = read()
        if looks_like_catalogue(data):
            into.csv_files.append((fmt, PurePosixPath(name).name, data))
        else:
            log.info("%s: not a streaming catalogue's columns; skipped", name)
    elif fmt != "aclimdb":  # an aclImdb tarball nested in another archive is not opened
        into.csv_files.append((fmt, PurePosixPath(name).name, read()))


def _run_loaders(collected: _Collected, container: str | None) -> list[LoadResult]:
    """Run each format's loader; an archive lends its file name to the multi-file formats."""
    results = [_CSV_LOADERS[fmt](data, name) for fmt, name, data in collected.csv_files]
    for parts in collected.cmu.values():
        dataset = container or "movie.metadata.tsv"
        results.append(load_cmu(parts.get("metadata"), parts.get("plots"), dataset))
    for root, parts in collected.acl.items():
        dataset = container or PurePosixPath(root).name or "aclImdb"
        results.append(load_aclimdb(parts, dataset))
    return results


def _unique_ids(frame: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """Suffix repeated ids (``~2``, ``~3``) so (source, id) stays a key without losing a row.

    The Wikipedia plots dataset lists some pages twice (one film under two years).
    """
    if frame.empty:
        return frame
    occurrence = frame.groupby(["source", id_column]).cumcount()
    repeated = occurrence > 0
    if repeated.any():
        log.warning(
            "%d rows repeat an id already seen in the same source; suffixed", repeated.sum()
        )
        frame = frame.copy()
        frame.loc[repeated, id_column] = (
            frame.loc[repeated, id_column] + "~" + (occurrence[repeated] + 1).astype(str)
        )
    return frame
