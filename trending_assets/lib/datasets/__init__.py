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
- ``mpst`` — MPST: Movie Plot Synopses with Tags (Kar et al., LREC 2018),
  ``mpst_full_data.csv`` (films by IMDb id, no year; its tags are the genre labels)
- ``aclimdb`` — Stanford Large Movie Review Dataset, ``aclImdb_v1.tar.gz`` or its extracted
  ``aclImdb/`` directory (reviews)

aclImdb review text is returned raw: the ``<br />`` tags stay for staging to clean, as
the contract allows HTML in ``text``. The unlabelled ``unsup`` reviews are skipped.

Modules: ``loader`` (the two entry points), ``fetch`` (URL downloads), ``archives``
(files inside a zip, tar or directory), ``decoding`` (encodings, CSV rows), ``formats``
(the format registry, one parser module per format family), ``rows`` (one cell to a
record value) and ``records`` (record columns, ``LoadResult``, reject rows).
"""

from trending_assets.lib.datasets.fetch import DatasetDownloadError
from trending_assets.lib.datasets.loader import load_listings, load_reviews
from trending_assets.lib.datasets.records import (
    LISTING_COLUMNS,
    REJECT_COLUMNS,
    REVIEW_COLUMNS,
    LoadResult,
)

__all__ = [
    "LISTING_COLUMNS",
    "REJECT_COLUMNS",
    "REVIEW_COLUMNS",
    "DatasetDownloadError",
    "LoadResult",
    "load_listings",
    "load_reviews",
]
