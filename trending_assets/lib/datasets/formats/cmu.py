"""CMU Movie Summary Corpus (``movie.metadata.tsv`` + ``plot_summaries.txt``) to listings.

Many release dates are published as a year or a year and month only: the year is kept
in ``year`` and ``release_date`` is null (the day is not invented).
"""

from __future__ import annotations

import logging
import re
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from trending_assets.lib.datasets.decoding import decode
from trending_assets.lib.datasets.records import LoadResult, build, reject
from trending_assets.lib.datasets.rows import (
    RowError,
    json_dict_values,
    optional_text,
    plausible_year,
    required_text,
)

log = logging.getLogger(__name__)

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

_CMU_FIELDS = ["wiki_id", "freebase_id", "name", "release_date", "revenue", "runtime",
               "languages", "countries", "genres"]  # fmt: skip


def cmu_role(name: str) -> str | None:
    """``"metadata"`` or ``"plots"`` for the corpus's two file names, else None."""
    lower = PurePosixPath(name).name.lower()
    return {"movie.metadata.tsv": "metadata", "plot_summaries.txt": "plots"}.get(lower)


def _cmu_role_from_content(head: bytes) -> str:
    first = head.decode("utf-8", errors="replace").split("\n", 1)[0]
    return "metadata" if first.count("\t") >= 8 else "plots"


def _cmu_date(value: str) -> tuple[int | None, date | None]:
    text = value.strip()
    if not text:
        return None, None
    match = _CMU_DATE.match(text)
    if not match:
        raise RowError("unparseable release date")
    year = plausible_year(int(match.group(1)))
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
    wiki_id = required_text(row, "wiki_id")
    if not wiki_id.isdigit():
        raise RowError("non-numeric Wikipedia id")
    title = optional_text(row["name"])
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
        "plot": optional_text(plot),
        "genres": json_dict_values(row["genres"], "genres"),
        "original_language": _cmu_language(json_dict_values(row["languages"], "languages")),
        "release_date": release_date,
    }


def load_cmu(metadata: bytes | None, plots: bytes | None, dataset: str) -> LoadResult:
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
        for number, line in enumerate(decode(plots, dataset).splitlines(), start=1):
            if not line.strip():
                continue
            wiki_id, sep, plot = line.partition("\t")
            if not sep or not wiki_id.strip().isdigit():
                reason = "plot_summaries.txt: expected <wikipedia id><tab><plot>"
                rejects.append(reject(dataset, reason, {"line": number, "text": line}))
            elif wiki_id.strip() in plot_by_id:
                reason = "plot_summaries.txt: a second plot for the same Wikipedia id"
                rejects.append(reject(dataset, reason, {"line": number, "text": line}))
            else:
                plot_by_id[wiki_id.strip()] = plot
    records: list[dict[str, Any]] = []
    used: set[str] = set()
    for number, line in enumerate(decode(metadata, dataset).splitlines(), start=1):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != len(_CMU_FIELDS):
            reason = f"movie.metadata.tsv: expected {len(_CMU_FIELDS)} fields, found {len(cells)}"
            rejects.append(reject(dataset, reason, {"line": number, "fields": cells}))
            continue
        row = dict(zip(_CMU_FIELDS, cells, strict=True))
        wiki_id = row["wiki_id"].strip()
        plot = plot_by_id.get(wiki_id)
        used.add(wiki_id)
        try:
            record = _cmu_row(row, plot)
        except RowError as exc:
            rejects.append(reject(dataset, str(exc), {**row, "plot": plot}))
            continue
        record["dataset"] = dataset
        records.append(record)
    for wiki_id, plot in plot_by_id.items():
        if wiki_id not in used:
            reason = "plot summary has no movie.metadata.tsv row (no title)"
            rejects.append(reject(dataset, reason, {"wiki_id": wiki_id, "plot": plot}))
    return build(records, rejects, "listings")


def load_cmu_file(path: Path) -> LoadResult:
    """One loose corpus file, joined with its partner file when that lies beside it."""
    data = path.read_bytes()
    role = cmu_role(path.name) or _cmu_role_from_content(data[:4096])
    partner = path.with_name("plot_summaries.txt" if role == "metadata" else "movie.metadata.tsv")
    other_data = partner.read_bytes() if partner.exists() else None
    if role == "metadata":
        return load_cmu(data, other_data, path.name)
    return load_cmu(other_data, data, partner.name)
