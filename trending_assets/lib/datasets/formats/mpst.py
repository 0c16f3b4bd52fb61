"""MPST: Movie Plot Synopses with Tags (Kar et al., LREC 2018; Kaggle ``mpst_full_data.csv``)
to listing records.

Columns ``imdb_id,title,plot_synopsis,tags,split,synopsis_source``. Every row is a film
keyed by its IMDb title id; the file carries no year. ``tags`` is a comma-separated list
of some of MPST's 71 lower-case tags (genres, moods and themes: "cult, horror, gothic,
murder"), kept as the listing's genre labels; ``genre_map_mpst`` says which of them name
a canonical genre. ``split`` (the authors' train/val/test) and ``synopsis_source`` (imdb
or wikipedia) are not kept: the pipeline makes its own split.
"""

from __future__ import annotations

import re
from typing import Any

from trending_assets.lib.datasets.decoding import convert_csv
from trending_assets.lib.datasets.records import LoadResult
from trending_assets.lib.datasets.rows import RowError, labels, optional_text, required_text

_IMDB_ID = re.compile(r"^tt\d+$")


def _mpst_row(row: dict[str, str]) -> dict[str, Any]:
    imdb_id = required_text(row, "imdb_id")
    if not _IMDB_ID.match(imdb_id):
        raise RowError("imdb_id is not an IMDb title id (tt<digits>)")
    title = optional_text(row["title"])
    if title is None:
        raise RowError("missing title")
    return {
        "source": "mpst",
        "source_title_id": imdb_id,
        "url": f"https://www.imdb.com/title/{imdb_id}/",
        "title": title,
        "year": None,
        "title_type": "movie",
        "plot": optional_text(row["plot_synopsis"]),
        "genres": labels(row["tags"].split(",")),
        "original_language": None,
        "release_date": None,
    }


def load_mpst(data: bytes, dataset: str) -> LoadResult:
    """Listings from the bytes of ``mpst_full_data.csv``."""
    required = ["imdb_id", "title", "plot_synopsis", "tags"]
    return convert_csv(data, dataset, required, _mpst_row)
