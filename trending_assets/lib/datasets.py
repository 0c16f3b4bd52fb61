"""Loaders for public movie/TV datasets, read in the formats their publishers distribute.

Users point the pipeline at a real download (a file, a directory of files, a zip or tar
archive, or an http(s) URL), so the loaders accept exactly those layouts rather than a
pre-cleaned copy. Every loader returns listing records or review records
(docs/contracts.md) plus a ``dataset`` column naming the file they came from; the caller
adds ``ingested_at``.

A row that cannot be read (bad JSON in a genres cell, no title, an unparseable year, a
CSV row with the wrong number of fields) never crashes a load and never disappears: it
comes back in ``LoadResult.rejects`` (columns ``dataset``, ``reason``, ``record``: the raw
row as a JSON object that also names the dataset, file and line) for the quarantine table.
Reasons are short and stable so they can be counted; the offending values are in ``record``
(strings in it are clipped to ``coercion.RECORD_VALUE_CHARS``: the full row stays in the
dataset file).

What a loader decides on a value (docs/contracts.md, "Raw values"): a year or a date that
cannot be read, is impossible ("2001-02-30", a month 13) or is implausible rejects the row
with the reason (``unparseable year``, ``unparseable release_date``, ``implausible year
(...)``); nothing is rolled over or guessed. The CMU corpus publishes many release dates
as a year or a year and month only: the year is kept in ``year`` and ``release_date`` is
null (the day is not invented). The values the loaders pass on are then read and bounded
by the ingest step like every source's (``lib/coercion.py``): an oversize plot is
truncated there with a counted reason.

A spec that holds only the other kind (``load_reviews`` on a listings CSV) loads empty,
since the pipeline asks every spec for both; a spec with nothing recognisable in it is a
``ValueError`` naming the supported formats. Within one source, a repeated id gets a
``~2``, ``~3`` suffix (the Wikipedia plots list a few pages twice) so that
``(source, source_title_id)`` stays a key and no row is lost.

Supported formats (the name is what a ``format:`` prefix forces):

- ``tmdb_5000`` — Kaggle "TMDB 5000 Movie Dataset", ``tmdb_5000_movies.csv``
- ``netflix``, ``hulu``, ``disney_plus`` — Kaggle streaming catalogues, ``<platform>_titles.csv``
- ``wiki_plots`` — Kaggle "Wikipedia Movie Plots", ``wiki_movie_plots_deduped.csv``
- ``cmu`` — CMU Movie Summary Corpus, ``movie.metadata.tsv`` + ``plot_summaries.txt``
  (loose or inside ``MovieSummaries.tar.gz``)
- ``aclimdb`` — Stanford Large Movie Review Dataset, ``aclImdb_v1.tar.gz`` or its extracted
  ``aclImdb/`` directory (reviews)

aclImdb review text is returned raw: the ``<br />`` tags stay for staging to clean, as
the contract allows HTML in ``text``. The unlabelled ``unsup`` reviews are skipped.
"""

from __future__ import annotations

import bz2
import csv
import fnmatch
import gzip
import io
import json
import logging
import lzma
import os
import re
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx
import pandas as pd

from trending_assets.lib.coercion import MIN_YEAR, RECORD_VALUE_CHARS, clip_value

log = logging.getLogger(__name__)

LISTING_COLUMNS: list[str] = [
    "source", "source_title_id", "url", "title", "year", "title_type", "plot", "genres",
    "original_language", "release_date",
]  # fmt: skip
REVIEW_COLUMNS: list[str] = [
    "source", "source_review_id", "source_title_id", "author", "rating", "review_date", "text",
]  # fmt: skip
REJECT_COLUMNS: list[str] = ["dataset", "reason", "record"]

Kind = Literal["listings", "reviews"]


@dataclass(frozen=True)
class _Format:
    kind: Kind
    patterns: tuple[str, ...]  # fnmatch patterns on the lower-cased file name
    description: str


FORMATS: dict[str, _Format] = {
    "tmdb_5000": _Format("listings", ("tmdb_5000_movies*.csv",), "tmdb_5000_movies.csv"),
    "netflix": _Format("listings", ("netflix_titles*.csv",), "netflix_titles.csv"),
    "hulu": _Format("listings", ("hulu_titles*.csv",), "hulu_titles.csv"),
    "disney_plus": _Format("listings", ("disney_plus_titles*.csv",), "disney_plus_titles.csv"),
    "wiki_plots": _Format("listings", ("wiki_movie_plots*.csv",), "wiki_movie_plots_deduped.csv"),
    "cmu": _Format(
        "listings",
        ("movie.metadata.tsv", "plot_summaries.txt", "moviesummaries.tar*", "moviesummaries.tgz"),
        "movie.metadata.tsv + plot_summaries.txt, or MovieSummaries.tar.gz",
    ),
    "aclimdb": _Format(
        "reviews", ("aclimdb*.tar*", "aclimdb*.tgz"), "aclImdb_v1.tar.gz or an aclImdb/ directory"
    ),
}
SUPPORTED_FORMATS: tuple[str, ...] = tuple(FORMATS)

_ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
_ARCHIVE_ERRORS = (
    tarfile.TarError, zipfile.BadZipFile, EOFError, gzip.BadGzipFile, zlib.error, lzma.LZMAError,
)  # fmt: skip
_ACL_REVIEW = re.compile(r"(?:^|/)(train|test)/(pos|neg)/([^/]+)$")
_ACL_REVIEW_NAME = re.compile(r"^(\d+)_(\d+)\.txt$")
_ACL_URLS = re.compile(r"(?:^|/)(train|test)/urls_(pos|neg)\.txt$")
_IMDB_ID = re.compile(r"/title/(tt\d+)")
_YEAR = re.compile(r"^(\d{4})(?:\.0+)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CMU_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")

# Freebase language names (CMU) for the languages most films list; others stay unknown.
_CMU_LANGUAGES: dict[str, str] = {
    "english": "en", "hindi": "hi", "french": "fr", "spanish": "es", "italian": "it",
    "german": "de", "japanese": "ja", "tamil": "ta", "malayalam": "ml", "telugu": "te",
    "korean": "ko", "russian": "ru", "cantonese": "zh", "mandarin chinese": "zh",
    "standard mandarin": "zh", "chinese": "zh", "portuguese": "pt", "swedish": "sv",
    "danish": "da", "dutch": "nl", "polish": "pl", "turkish": "tr", "bengali": "bn",
    "kannada": "kn", "marathi": "mr", "greek": "el", "czech": "cs", "finnish": "fi",
    "norwegian": "no", "hungarian": "hu", "arabic": "ar", "persian": "fa", "hebrew": "he",
    "thai": "th", "urdu": "ur", "punjabi": "pa", "tagalog": "tl", "filipino": "tl",
    "indonesian": "id", "romanian": "ro", "serbian": "sr", "croatian": "hr",
}  # fmt: skip


@dataclass
class LoadResult:
    """Records in a contract shape, and the rows that could not be read (never dropped)."""

    frame: pd.DataFrame
    rejects: pd.DataFrame = field(default_factory=lambda: _empty_rejects())

    @staticmethod
    def concat(results: Iterable[LoadResult], columns: list[str]) -> LoadResult:
        """One result from several, keeping the column set even when all are empty."""
        results = list(results)
        frames = [r.frame for r in results if len(r.frame)]
        rejects = [r.rejects for r in results if len(r.rejects)]
        frame = _typed(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(), columns)
        reject_frame = pd.concat(rejects, ignore_index=True) if rejects else _empty_rejects()
        return LoadResult(frame, reject_frame)


class DatasetDownloadError(OSError):
    """A dataset URL could not be fetched (the message says which URL and why)."""


class RowError(ValueError):
    """One row cannot be read; the message is the reject reason."""


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


def _columns(kind: Kind) -> list[str]:
    return [*(LISTING_COLUMNS if kind == "listings" else REVIEW_COLUMNS), "dataset"]


def _supported() -> str:
    return "; ".join(f"{name} ({fmt.kind}: {fmt.description})" for name, fmt in FORMATS.items())


def _split_spec(spec: str | os.PathLike[str]) -> tuple[str | None, str]:
    text = os.fspath(spec)
    match = re.match(r"^([A-Za-z][A-Za-z0-9_]*):(.+)$", text)
    if not match or match.group(1).lower() in {"http", "https"} or len(match.group(1)) == 1:
        return None, text  # a URL, a plain path, or a Windows drive letter
    forced, rest = match.group(1).lower(), match.group(2)
    if forced not in FORMATS:
        raise ValueError(f"unknown dataset format {forced!r}; supported formats: {_supported()}")
    return forced, rest


def _load(spec: str | os.PathLike[str], kind: Kind, timeout: float) -> LoadResult:
    forced, location = _split_spec(spec)
    if forced and FORMATS[forced].kind != kind:
        log.info("%s is forced to %s, which holds no %s", location, forced, kind)
        return LoadResult(_typed(pd.DataFrame(), _columns(kind)))
    if urlsplit(location).scheme in {"http", "https"}:
        with tempfile.TemporaryDirectory(prefix="dataset-") as tmp:
            path = _download(location, Path(tmp), timeout)
            return _load_path(path, kind, forced)
    return _load_path(Path(location), kind, forced)


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
            if served and not _classify_name(name):
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


def _is_archive(path: Path) -> bool:
    return path.name.lower().endswith(_ARCHIVE_SUFFIXES)


def _classify_name(name: str) -> str | None:
    lower = PurePosixPath(name).name.lower()
    for fmt_name, fmt in FORMATS.items():
        if any(fnmatch.fnmatchcase(lower, pattern) for pattern in fmt.patterns):
            return fmt_name
    return None


@dataclass
class _Collected:
    """The parts of a spec that matter for one kind, gathered in a single pass."""

    csv_files: list[tuple[str, str, bytes]] = field(default_factory=list)  # format, name, data
    cmu: dict[str, dict[str, bytes]] = field(default_factory=dict)  # dir -> role -> data
    acl: dict[str, _AclParts] = field(default_factory=dict)  # root -> parts
    seen: set[str] = field(default_factory=set)  # every known format met, of either kind


@dataclass
class _AclParts:
    reviews: list[tuple[str, str, str, bytes]] = field(default_factory=list)  # split, label, name
    urls: dict[tuple[str, str], list[str]] = field(default_factory=dict)


def _load_path(path: Path, kind: Kind, forced: str | None) -> LoadResult:
    if not path.exists():
        raise FileNotFoundError(f"dataset not found: {path}")
    named = _classify_name(path.name) if _is_archive(path) else None
    if named and FORMATS[named].kind != kind:
        log.info("%s is a %s archive, holding no %s", path.name, named, kind)
        return LoadResult(_typed(pd.DataFrame(), _columns(kind)))
    if path.is_dir() or _is_archive(path):
        collected = _Collected()
        entries = _dir_entries(path) if path.is_dir() else _archive_entries(path)
        try:
            for name, read in entries:
                _collect(collected, name, read, kind, forced)
        except (
            tarfile.TarError,
            zipfile.BadZipFile,
            EOFError,
            gzip.BadGzipFile,
            zlib.error,
        ) as exc:
            raise ValueError(f"{path.name} is not a readable archive: {exc}") from exc
        results = _run_loaders(collected, None if path.is_dir() else path.name)
        if path.is_dir():
            for archive, fmt in _nested_archives(path):
                collected.seen.add(fmt)
                if FORMATS[fmt].kind == kind and forced in (None, fmt):
                    results.append(_load_path(archive, kind, forced))
        if not collected.seen:
            raise ValueError(f"no known dataset found in {path}; supported formats: {_supported()}")
        if not results:
            log.info("%s holds no %s (found %s)", path, kind, ", ".join(sorted(collected.seen)))
    else:
        results = [_load_single_file(path, kind, forced)]
    result = LoadResult.concat(results, _columns(kind))
    if kind == "listings":
        result.frame = _unique_ids(result.frame, "source_title_id")
    log.info(
        "loaded %d %s (%d rejected) from %s", len(result.frame), kind, len(result.rejects), path
    )
    return result


def _load_single_file(path: Path, kind: Kind, forced: str | None) -> LoadResult:
    fmt = forced or _classify_name(path.name)
    if fmt is None:
        raise ValueError(
            f"cannot tell the dataset format of {path.name!r} from its name; prefix the path "
            f"with a format (e.g. tmdb_5000:{path}). Supported formats: {_supported()}"
        )
    if FORMATS[fmt].kind != kind:
        log.info("%s is a %s file, holding no %s", path.name, fmt, kind)
        return LoadResult(_typed(pd.DataFrame(), _columns(kind)))
    if fmt == "aclimdb":
        raise ValueError(
            f"aclimdb is read from its .tar.gz or extracted directory, not {path.name}"
        )
    if fmt != "cmu":
        return _CSV_LOADERS[fmt](path.read_bytes(), path.name)
    data = path.read_bytes()
    role = _cmu_role(path.name) or _cmu_role_from_content(data[:4096])
    partner = path.with_name("plot_summaries.txt" if role == "metadata" else "movie.metadata.tsv")
    other_data = partner.read_bytes() if partner.exists() else None
    if role == "metadata":
        return _load_cmu(data, other_data, path.name)
    return _load_cmu(other_data, data, partner.name)


Entry = tuple[str, Callable[[], bytes]]


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            yield Path(dirpath, filename)


def _dir_entries(root: Path) -> Iterator[Entry]:
    """Files under ``root`` (archives aside), named relative to its parent so
    ``aclImdb/train/...`` keeps its shape."""
    for full in _walk(root):
        if not _is_archive(full):
            yield full.relative_to(root.parent).as_posix(), full.read_bytes


def _nested_archives(root: Path) -> list[tuple[Path, str]]:
    """Archives in a directory whose names say which dataset they hold."""
    found = []
    for full in _walk(root):
        fmt = _classify_name(full.name) if _is_archive(full) else None
        if fmt:
            found.append((full, fmt))
    return found


def _archive_entries(path: Path) -> Iterator[Entry]:
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


def _collect(
    into: _Collected, name: str, read: Callable[[], bytes], kind: Kind, forced: str | None
) -> None:
    """Keep ``name``'s bytes if it belongs to a format of ``kind`` (and to ``forced``, if set)."""
    acl_urls = _ACL_URLS.search(name)
    acl_review = None if acl_urls else _ACL_REVIEW.search(name)
    fmt = "aclimdb" if acl_urls or acl_review else _classify_name(name)
    if fmt is None:
        return
    into.seen.add(fmt)
    if (forced and fmt != forced) or FORMATS[fmt].kind != kind:
        return
    if acl_urls:
        parts = into.acl.setdefault(name[: acl_urls.start()], _AclParts())
        text = read().decode("utf-8", errors="replace")
        parts.urls[(acl_urls.group(1), acl_urls.group(2))] = text.splitlines()
    elif acl_review:
        parts = into.acl.setdefault(name[: acl_review.start()], _AclParts())
        split, label, file_name = acl_review.groups()
        parts.reviews.append((split, label, file_name, read()))
    elif fmt == "cmu":
        role = _cmu_role(name)
        if role:
            into.cmu.setdefault(str(PurePosixPath(name).parent), {})[role] = read()
    elif fmt != "aclimdb":  # an aclImdb tarball nested in another archive is not opened
        into.csv_files.append((fmt, PurePosixPath(name).name, read()))


def _run_loaders(collected: _Collected, container: str | None) -> list[LoadResult]:
    """Run each format's loader; an archive lends its file name to the multi-file formats."""
    results = [_CSV_LOADERS[fmt](data, name) for fmt, name, data in collected.csv_files]
    for parts in collected.cmu.values():
        dataset = container or "movie.metadata.tsv"
        results.append(_load_cmu(parts.get("metadata"), parts.get("plots"), dataset))
    for root, parts in collected.acl.items():
        dataset = container or PurePosixPath(root).name or "aclImdb"
        results.append(_load_aclimdb(parts, dataset))
    return results


def _decode(data: bytes, dataset: str) -> str:
    """UTF-8 (with or without BOM); a file saved by Excel on Windows falls back to cp1252."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        log.warning("%s is not UTF-8; reading it as cp1252", dataset)
        return data.decode("cp1252", errors="replace")


def _reject(dataset: str, reason: str, record: dict[str, Any]) -> dict[str, str]:
    """A reject row. ``reason`` stays short and stable (it is counted in asset metadata);
    where it happened (file, line) goes into ``record``, which also names the dataset
    because the quarantine table keeps only reason and record."""

    def clipped(value: Any) -> Any:
        if isinstance(value, list):
            return [clipped(v) for v in value]
        return clip_value(value, RECORD_VALUE_CHARS)

    plain = {key: clipped(value) for key, value in record.items()}
    return {
        "dataset": dataset,
        "reason": reason,
        "record": json.dumps({"dataset": dataset, **plain}, ensure_ascii=False, default=str),
    }


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype="object") for column in REJECT_COLUMNS})


def _typed(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Exactly ``columns``, with nullable Int64 numbers and None (not NaN) for missing values."""
    out = pd.DataFrame(index=range(len(frame)))
    for column in columns:
        values = frame[column].tolist() if column in frame.columns else [None] * len(frame)
        if column in {"year", "rating"}:
            out[column] = pd.array(values, dtype="Int64")
        else:
            out[column] = pd.Series(values, dtype="object")
    return out


def _build(records: list[dict[str, Any]], rejects: list[dict[str, str]], kind: Kind) -> LoadResult:
    columns = _columns(kind)
    frame = _typed(pd.DataFrame.from_records(records, columns=columns), columns)
    reject_frame = pd.DataFrame(rejects, columns=REJECT_COLUMNS) if rejects else _empty_rejects()
    return LoadResult(frame, reject_frame)


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


def _text(value: str | None) -> str | None:
    """The value as published, or None when it is empty or only whitespace."""
    if value is None or not value.strip():
        return None
    return value


def _required(row: dict[str, str], column: str, what: str | None = None) -> str:
    value = (row.get(column) or "").strip()
    if not value:
        raise RowError(f"missing {what or column}")
    return value


def _year(value: str | None) -> int | None:
    text = (value or "").strip()
    if not text:
        return None
    match = _YEAR.match(text)
    if not match:
        raise RowError("unparseable year")
    return _plausible(int(match.group(1)))


def _plausible(year: int) -> int:
    if not MIN_YEAR <= year <= date.today().year + 10:
        raise RowError(f"implausible year (outside {MIN_YEAR}..{date.today().year + 10})")
    return year


def _iso_date(value: str | None) -> date | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        if not _ISO_DATE.match(text):
            raise ValueError
        parsed = date.fromisoformat(text)
    except ValueError:
        raise RowError("unparseable release_date") from None
    _plausible(parsed.year)
    return parsed


def _labels(parts: Iterable[str]) -> list[str]:
    """Stripped, non-empty, first-seen-order labels."""
    seen: dict[str, None] = {}
    for part in parts:
        label = part.strip()
        if label:
            seen.setdefault(label, None)
    return list(seen)


def _json_names(value: str | None, column: str) -> list[str]:
    """Names from a TMDb-style JSON array of ``{"id", "name"}`` objects."""
    text = (value or "").strip()
    if not text:
        return []
    try:
        items = json.loads(text)
    except json.JSONDecodeError:
        raise RowError(f"{column} is not valid JSON") from None
    if not isinstance(items, list) or not all(
        isinstance(item, dict) and isinstance(item.get("name"), str) for item in items
    ):
        raise RowError(f"{column} is not a JSON array of {{id, name}} objects")
    return _labels(item["name"] for item in items)


def _json_dict_values(value: str | None, column: str) -> list[str]:
    """Values from a Freebase-style JSON object ``{"/m/…": "name"}`` (CMU)."""
    text = (value or "").strip()
    if not text:
        return []
    try:
        items = json.loads(text)
    except json.JSONDecodeError:
        raise RowError(f"{column} is not valid JSON") from None
    if not isinstance(items, dict) or not all(isinstance(v, str) for v in items.values()):
        raise RowError(f"{column} is not a JSON object of names")
    return _labels(items.values())


def _csv_rows(
    data: bytes, dataset: str, required: list[str], rejects: list[dict[str, str]]
) -> Iterator[dict[str, str]]:
    """Rows of a CSV as dicts; rows with the wrong number of fields become rejects."""
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 26))
    reader = csv.reader(io.StringIO(_decode(data, dataset), newline=""))
    header = [column.strip() for column in next(reader, [])]
    missing = [column for column in required if column not in header]
    if missing:
        raise ValueError(f"{dataset}: missing columns {missing}; found {header}")
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            reason = f"expected {len(header)} fields, found {len(row)}"
            rejects.append(_reject(dataset, reason, {"line": reader.line_num, "fields": row}))
            continue
        yield dict(zip(header, row, strict=True))


def _convert_csv(
    data: bytes,
    dataset: str,
    required: list[str],
    convert: Callable[[dict[str, str]], dict[str, Any]],
) -> LoadResult:
    records: list[dict[str, Any]] = []
    rejects: list[dict[str, str]] = []
    for row in _csv_rows(data, dataset, required, rejects):
        try:
            record = convert(row)
        except RowError as exc:
            rejects.append(_reject(dataset, str(exc), row))
            continue
        record["dataset"] = dataset
        records.append(record)
    return _build(records, rejects, "listings")


def _tmdb_5000_row(row: dict[str, str]) -> dict[str, Any]:
    title_id = _required(row, "id")
    if not title_id.isdigit():
        raise RowError("non-numeric id")
    title = _text(row["title"])
    if title is None:
        raise RowError("missing title")
    release_date = _iso_date(row["release_date"])
    return {
        "source": "tmdb_5000",
        "source_title_id": title_id,
        "url": f"https://www.themoviedb.org/movie/{title_id}",
        "title": title,
        "year": release_date.year if release_date else None,
        "title_type": "movie",
        "plot": _text(row["overview"]),
        "genres": _json_names(row["genres"], "genres"),
        "original_language": _text(row["original_language"].strip()),
        "release_date": release_date,
    }


_STREAMING_TYPES = {"movie": "movie", "tv show": "tv"}


def _streaming_row(source: str) -> Callable[[dict[str, str]], dict[str, Any]]:
    def convert(row: dict[str, str]) -> dict[str, Any]:
        show_id = _required(row, "show_id")
        title = _text(row["title"])
        if title is None:
            raise RowError("missing title")
        kind = row["type"].strip().lower()
        if kind not in _STREAMING_TYPES:
            raise RowError("unknown type (expected Movie or TV Show)")
        return {
            "source": source,
            "source_title_id": show_id,
            "url": None,
            "title": title,
            "year": _year(row["release_year"]),
            "title_type": _STREAMING_TYPES[kind],
            "plot": _text(row["description"]),
            "genres": _labels(row["listed_in"].split(",")),
            "original_language": None,
            "release_date": None,
        }

    return convert


def _wiki_page_id(url: str) -> str:
    """The article name from a Wikipedia URL (``…/wiki/Bob%27s_Baby`` -> ``Bob's_Baby``)."""
    parts = urlsplit(url.strip())
    if "/wiki/" not in parts.path:
        raise RowError("Wiki Page is not a Wikipedia article URL")
    page = unquote(parts.path.split("/wiki/", 1)[1])
    if not page:
        raise RowError("Wiki Page has no article name")
    return f"{page}#{unquote(parts.fragment)}" if parts.fragment else page


def _wiki_row(row: dict[str, str]) -> dict[str, Any]:
    title = _text(row["Title"])
    if title is None:
        raise RowError("missing title")
    page = _required(row, "Wiki Page")
    genres = [
        label for label in _labels(re.split(r"[,/]", row["Genre"])) if label.lower() != "unknown"
    ]
    return {
        "source": "wiki_plots",
        "source_title_id": _wiki_page_id(page),
        "url": page,
        "title": title,
        "year": _year(row["Release Year"]),
        "title_type": "movie",
        "plot": _text(row["Plot"]),
        "genres": genres,
        "original_language": None,
        "release_date": None,
    }


def _load_tmdb_5000(data: bytes, dataset: str) -> LoadResult:
    required = ["id", "title", "genres", "overview", "release_date", "original_language"]
    return _convert_csv(data, dataset, required, _tmdb_5000_row)


def _streaming_loader(source: str) -> Callable[[bytes, str], LoadResult]:
    required = ["show_id", "type", "title", "release_year", "listed_in", "description"]
    return lambda data, dataset: _convert_csv(data, dataset, required, _streaming_row(source))


def _load_wiki_plots(data: bytes, dataset: str) -> LoadResult:
    required = ["Release Year", "Title", "Genre", "Wiki Page", "Plot"]
    return _convert_csv(data, dataset, required, _wiki_row)


_CSV_LOADERS: dict[str, Callable[[bytes, str], LoadResult]] = {
    "tmdb_5000": _load_tmdb_5000,
    "netflix": _streaming_loader("netflix"),
    "hulu": _streaming_loader("hulu"),
    "disney_plus": _streaming_loader("disney_plus"),
    "wiki_plots": _load_wiki_plots,
}


def _cmu_role(name: str) -> str | None:
    lower = PurePosixPath(name).name.lower()
    return {"movie.metadata.tsv": "metadata", "plot_summaries.txt": "plots"}.get(lower)


def _cmu_role_from_content(head: bytes) -> str:
    first = head.decode("utf-8", errors="replace").split("\n", 1)[0]
    return "metadata" if first.count("\t") >= 8 else "plots"


_CMU_FIELDS = ["wiki_id", "freebase_id", "name", "release_date", "revenue", "runtime",
               "languages", "countries", "genres"]  # fmt: skip


def _cmu_date(value: str) -> tuple[int | None, date | None]:
    text = value.strip()
    if not text:
        return None, None
    match = _CMU_DATE.match(text)
    if not match:
        raise RowError("unparseable release date")
    year = _plausible(int(match.group(1)))
    if match.group(2) and not 1 <= int(match.group(2)) <= 12:
        raise RowError("unparseable release date")  # an impossible month is not skipped
    if match.group(3):
        try:
            return year, date.fromisoformat(text)
        except ValueError:
            raise RowError("unparseable release date") from None
    return year, None


def _cmu_language(languages: list[str]) -> str | None:
    for name in languages:
        code = _CMU_LANGUAGES.get(name.lower().removesuffix(" language").strip())
        if code:
            return code
    return None


def _cmu_row(row: dict[str, str], plot: str | None) -> dict[str, Any]:
    wiki_id = _required(row, "wiki_id")
    if not wiki_id.isdigit():
        raise RowError("non-numeric Wikipedia id")
    title = _text(row["name"])
    if title is None:
        raise RowError("missing title")
    year, release_date = _cmu_date(row["release_date"])
    return {
        "source": "cmu",
        "source_title_id": wiki_id,
        "url": f"https://en.wikipedia.org/?curid={wiki_id}",
        "title": title,
        "year": year,
        "title_type": "movie",
        "plot": _text(plot),
        "genres": _json_dict_values(row["genres"], "genres"),
        "original_language": _cmu_language(_json_dict_values(row["languages"], "languages")),
        "release_date": release_date,
    }


def _load_cmu(metadata: bytes | None, plots: bytes | None, dataset: str) -> LoadResult:
    """Join the corpus's metadata (titles, dates, genres) with its plot summaries by Wikipedia id.

    Films without a summary are kept with a null plot; a summary whose id has no metadata
    row cannot become a listing (no title) and is rejected with that reason.
    """
    if metadata is None:
        raise ValueError(
            "CMU plot_summaries.txt needs movie.metadata.tsv beside it: titles and genres "
            "live there (the corpus ships both in MovieSummaries.tar.gz)"
        )
    rejects: list[dict[str, str]] = []
    plot_by_id: dict[str, str] = {}
    if plots is None:
        log.warning("%s: no plot_summaries.txt found; CMU plots will be null", dataset)
    else:
        for number, line in enumerate(_decode(plots, dataset).splitlines(), start=1):
            if not line.strip():
                continue
            wiki_id, sep, plot = line.partition("\t")
            if not sep or not wiki_id.strip().isdigit():
                reason = "plot_summaries.txt: expected <wikipedia id><tab><plot>"
                rejects.append(_reject(dataset, reason, {"line": number, "text": line}))
            elif wiki_id.strip() in plot_by_id:
                reason = "plot_summaries.txt: a second plot for the same Wikipedia id"
                rejects.append(_reject(dataset, reason, {"line": number, "text": line}))
            else:
                plot_by_id[wiki_id.strip()] = plot
    records: list[dict[str, Any]] = []
    used: set[str] = set()
    for number, line in enumerate(_decode(metadata, dataset).splitlines(), start=1):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != len(_CMU_FIELDS):
            reason = f"movie.metadata.tsv: expected {len(_CMU_FIELDS)} fields, found {len(cells)}"
            rejects.append(_reject(dataset, reason, {"line": number, "fields": cells}))
            continue
        row = dict(zip(_CMU_FIELDS, cells, strict=True))
        wiki_id = row["wiki_id"].strip()
        plot = plot_by_id.get(wiki_id)
        used.add(wiki_id)
        try:
            record = _cmu_row(row, plot)
        except RowError as exc:
            rejects.append(_reject(dataset, str(exc), {**row, "plot": plot}))
            continue
        record["dataset"] = dataset
        records.append(record)
    for wiki_id, plot in plot_by_id.items():
        if wiki_id not in used:
            reason = "plot summary has no movie.metadata.tsv row (no title)"
            rejects.append(_reject(dataset, reason, {"wiki_id": wiki_id, "plot": plot}))
    return _build(records, rejects, "listings")


def _acl_order(review: tuple[str, str, str, bytes]) -> tuple[bool, bool, int, str]:
    """train before test, pos before neg, then by numeric id: a stable output order."""
    split, label, name, _ = review
    match = _ACL_REVIEW_NAME.match(name)
    return split != "train", label != "pos", int(match.group(1)) if match else -1, name


def _load_aclimdb(parts: _AclParts, dataset: str) -> LoadResult:
    """Reviews named ``<split>/<pos|neg>/<id>_<rating>.txt``; line ``id`` of ``urls_<label>.txt``
    is the reviewed title's IMDb URL."""
    records: list[dict[str, Any]] = []
    rejects: list[dict[str, str]] = []
    title_ids: dict[tuple[str, str], list[str | None]] = {
        key: [(m.group(1) if (m := _IMDB_ID.search(url)) else None) for url in urls]
        for key, urls in parts.urls.items()
    }
    for split, label, name, data in sorted(parts.reviews, key=_acl_order):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        where = f"{split}/{label}/{name}"
        match = _ACL_REVIEW_NAME.match(name)
        if not match:
            reason = "review file name is not <id>_<rating>.txt"
            rejects.append(_reject(dataset, reason, {"file": where, "text": text}))
            continue
        review_id, rating = int(match.group(1)), int(match.group(2))
        urls = title_ids.get((split, label))
        title_id = urls[review_id] if urls is not None and review_id < len(urls) else None
        problem = None
        if urls is None:
            problem = f"no urls_{label}.txt for this split (the reviewed title is unknown)"
        elif title_id is None:
            problem = f"no IMDb title URL at the review's line of urls_{label}.txt"
        elif not 1 <= rating <= 10:
            problem = f"rating {rating} is outside 1..10"
        elif not text.strip():
            problem = "empty review"
        if problem:
            urls_file = f"{split}/urls_{label}.txt"
            record = {
                "file": where,
                "urls_file": urls_file,
                "urls_line_index": review_id,
                "text": text,
            }
            rejects.append(_reject(dataset, problem, record))
            continue
        records.append(
            {
                "source": "aclimdb",
                "source_review_id": f"{split}_{label}_{review_id}",
                "source_title_id": title_id,
                "author": None,
                "rating": rating,
                "review_date": None,
                "text": text,
                "dataset": dataset,
            }
        )
    return _build(records, rejects, "reviews")
