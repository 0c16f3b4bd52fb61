"""Bytes to text and CSV rows: file encodings, and a CSV file to records row by row."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from trending_assets.lib.datasets.records import LoadResult, build, reject
from trending_assets.lib.datasets.rows import RowError

log = logging.getLogger(__name__)


def decode(data: bytes, dataset: str) -> str:
    """UTF-8 (with or without BOM); a file saved by Excel on Windows falls back to cp1252."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        log.warning("%s is not UTF-8; reading it as cp1252", dataset)
        return data.decode("cp1252", errors="replace")


def _missing(header: list[str], required: Sequence[str]) -> list[str]:
    return [column for column in required if column not in header]


def has_columns(data: bytes, required: Sequence[str]) -> bool:
    """Whether a CSV's header line names every ``required`` column, as :func:`csv_rows`
    reads it (without decoding the rest of the file)."""
    first_line = data.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace")
    header = [column.strip() for column in next(csv.reader([first_line]), [])]
    return not _missing(header, required)


def csv_rows(
    data: bytes, dataset: str, required: list[str], rejects: list[dict[str, str]]
) -> Iterator[dict[str, str]]:
    """Rows of a CSV as dicts; rows with the wrong number of fields become rejects."""
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 26))
    reader = csv.reader(io.StringIO(decode(data, dataset), newline=""))
    header = [column.strip() for column in next(reader, [])]
    missing = _missing(header, required)
    if missing:
        raise ValueError(f"{dataset}: missing columns {missing}; found {header}")
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            reason = f"expected {len(header)} fields, found {len(row)}"
            rejects.append(reject(dataset, reason, {"line": reader.line_num, "fields": row}))
            continue
        yield dict(zip(header, row, strict=True))


def convert_csv(
    data: bytes,
    dataset: str,
    required: list[str],
    convert: Callable[[dict[str, str]], dict[str, Any]],
) -> LoadResult:
    """Listing records from a CSV, one ``convert(row)`` each; a ``RowError`` rejects the row."""
    records: list[dict[str, Any]] = []
    rejects: list[dict[str, str]] = []
    for row in csv_rows(data, dataset, required, rejects):
        try:
            record = convert(row)
        except RowError as exc:
            rejects.append(reject(dataset, str(exc), row))
            continue
        record["dataset"] = dataset
        records.append(record)
    return build(records, rejects, "listings")
