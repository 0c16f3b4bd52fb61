"""The dataset formats the loaders know, and how a file name tells which one it is.

One module per format family parses it: ``tmdb`` (TMDB 5000), ``streaming`` (the
Netflix, Hulu and Disney+ catalogues, and any other platform's ``<platform>_titles.csv`` in
their columns), ``wiki`` (Wikipedia Movie Plots), ``cmu`` (CMU
Movie Summary Corpus), ``mpst`` (MPST: Movie Plot Synopses with Tags) and ``aclimdb``
(Stanford Large Movie Review Dataset).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import PurePosixPath

from trending_assets.lib.datasets.records import Kind


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
    # Another platform's catalogue in the same Kaggle columns (amazon_prime_titles.csv, ...):
    # its source is the platform named before "_titles". Listed after the known platforms.
    "streaming": _Format(
        "listings", ("?*_titles*.csv",), "<platform>_titles.csv in the Netflix catalogue's columns"
    ),
    "wiki_plots": _Format("listings", ("wiki_movie_plots*.csv",), "wiki_movie_plots_deduped.csv"),
    "cmu": _Format(
        "listings",
        ("movie.metadata.tsv", "plot_summaries.txt", "moviesummaries.tar*", "moviesummaries.tgz"),
        "movie.metadata.tsv + plot_summaries.txt, or MovieSummaries.tar.gz",
    ),
    "mpst": _Format("listings", ("mpst_full_data*.csv",), "mpst_full_data.csv"),
    "aclimdb": _Format(
        "reviews", ("aclimdb*.tar*", "aclimdb*.tgz"), "aclImdb_v1.tar.gz or an aclImdb/ directory"
    ),
}
SUPPORTED_FORMATS: tuple[str, ...] = tuple(FORMATS)


def supported() -> str:
    """The supported formats, for error messages."""
    return "; ".join(f"{name} ({fmt.kind}: {fmt.description})" for name, fmt in FORMATS.items())


def classify_name(name: str) -> str | None:
    """The format a file name says it holds, or None."""
    lower = PurePosixPath(name).name.lower()
    for fmt_name, fmt in FORMATS.items():
        if any(fnmatch.fnmatchcase(lower, pattern) for pattern in fmt.patterns):
            return fmt_name
    return None
