"""Training examples for genre classification: plot text plus a multi-hot genre matrix.

Two ways in, one shape out (:class:`GenreExamples`):

- :func:`examples_from_marts` reads the warehouse marts (``titles`` + ``title_genres``),
  which is what the pipeline trains on;
- :func:`examples_from_listing_frame` reads listing records straight from the dataset
  loaders and maps each source's genre labels with the dbt mapping seeds
  (:func:`load_genre_maps`), the same way ``int_listing_genre_labels_mapped`` does; the
  real-data benchmark uses it.

**Known and unknown labels.** A source's genre vocabulary cannot express every canonical
genre (Disney+ has no ``horror`` label, Netflix no ``western``), so for its titles such a
genre is *unknown*, not negative. :class:`GenreExamples` can carry that as ``known``, an
(n, G) bool matrix (None: every cell known); :func:`examples_from_marts` fills it from
the ``titles`` mart's ``genre_vocabularies`` and the genre maps, and the models fit and
tune each genre on its known titles only. A vocabulary of sparse tags rather than genre
labels (``POSITIVE_ONLY_VOCABULARIES``: MPST's 71 tags, where a horror film may lack the
``horror`` tag) expresses no genre as negative: its tags add positives, and a genre it did
not tag stays unknown unless another of the title's vocabularies can express it.

Both exclude, and count by reason, the examples a model should not learn from:
``no_plot``, ``short_plot`` (fewer than ``min_words`` words), ``non_english_text``
(:func:`looks_english`) and ``no_genre``. Excluded titles are still predicted at
serving time; they just do not teach the model.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from trending_assets.lib.taxonomy import label_genres, read_genre_map
from trending_assets.lib.validation import CANONICAL_GENRES

__all__ = [
    "CANONICAL_GENRES",
    "EXCLUSION_REASONS",
    "POSITIVE_ONLY_VOCABULARIES",
    "GenreExamples",
    "PositiveOnlyGenreMap",
    "examples_from_listing_frame",
    "examples_from_marts",
    "expressible_genres",
    "known_genres",
    "load_genre_maps",
    "load_vocabulary_maps",
    "looks_english",
    "vocabulary_maps_from_frame",
]

EXCLUSION_REASONS = ("no_plot", "short_plot", "non_english_text", "no_genre")
# Genre vocabularies whose labels are sparse tags, not a genre list: a tag present is a
# positive, a tag absent says nothing (an MPST horror film often lacks the "horror" tag).
# Their maps are :class:`PositiveOnlyGenreMap`s, which express no genre as negative.
POSITIVE_ONLY_VOCABULARIES: frozenset[str] = frozenset({"mpst"})
DEFAULT_SEEDS_DIR = Path(__file__).resolve().parents[3] / "dbt_project" / "seeds"
META_COLUMNS = ("title_type", "source", "original_language")

# Which title types a canonical genre applies to (dbt_project/seeds/genres.csv,
# column applies_to; a test keeps the two in step).
GENRE_APPLIES_TO: dict[str, str] = {
    **{genre: "both" for genre in CANONICAL_GENRES},
    "tv_movie": "movie",
    "kids": "tv",
    "news": "tv",
    "reality": "tv",
    "soap": "tv",
    "talk": "tv",
}


class PositiveOnlyGenreMap(dict[str, list[str]]):
    """A genre map whose labels only add positives (``POSITIVE_ONLY_VOCABULARIES``):
    :func:`expressible_genres` is empty for it, so a genre it did not give is unknown."""


def _declared(vocabulary: str, mapping: dict[str, list[str]]) -> dict[str, list[str]]:
    """``mapping`` as the map type its vocabulary is declared with."""
    return PositiveOnlyGenreMap(mapping) if vocabulary in POSITIVE_ONLY_VOCABULARIES else mapping


@dataclass
class GenreExamples:
    """Texts with their multi-hot genre labels, index-aligned with ``meta``."""

    ids: list[str]
    texts: list[str]
    labels: np.ndarray  # (n, G) uint8, columns in the order of ``genres``
    genres: list[str]
    meta: pd.DataFrame  # index-aligned (0..n-1): title_type, source, original_language
    # (n, G) bool: True where a 0 in ``labels`` is a real negative (the title's sources
    # could express the genre, or it does not apply to the title's type: known_genres).
    # None: every cell is known. A positive is always known.
    known: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.uint8).reshape(
            len(self.ids), len(self.genres)
        )
        if not (len(self.ids) == len(self.texts) == len(self.meta)):
            raise ValueError("ids, texts, labels and meta must have the same length")
        self.meta = self.meta.reset_index(drop=True)
        if self.known is not None:
            known = np.asarray(self.known, dtype=bool)
            if known.shape != self.labels.shape:
                raise ValueError(f"known is {known.shape}, labels are {self.labels.shape}")
            known = known | self.labels.astype(bool)
            self.known = None if known.all() else known

    def known_mask(self) -> np.ndarray:
        """``known``, or all True when every cell is known."""
        if self.known is None:
            return np.ones(self.labels.shape, dtype=bool)
        return self.known

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, idx: Sequence[int] | np.ndarray) -> GenreExamples:
        """The examples at positions ``idx`` (in that order)."""
        idx = np.asarray(idx, dtype=np.int64)
        return GenreExamples(
            ids=[self.ids[i] for i in idx],
            texts=[self.texts[i] for i in idx],
            labels=self.labels[idx],
            genres=list(self.genres),
            meta=self.meta.iloc[idx].reset_index(drop=True),
            known=None if self.known is None else self.known[idx],
        )

    def with_genres(self, genres: Sequence[str]) -> GenreExamples:
        """The same examples with the label matrix restricted/reordered to ``genres``."""
        columns = [self.genres.index(g) for g in genres]
        return GenreExamples(
            ids=list(self.ids),
            texts=list(self.texts),
            labels=self.labels[:, columns],
            genres=list(genres),
            meta=self.meta.copy(),
            known=None if self.known is None else self.known[:, columns],
        )

    def genre_counts(self) -> dict[str, int]:
        """Positives per genre."""
        return {g: int(c) for g, c in zip(self.genres, self.labels.sum(axis=0), strict=True)}


# --- the English-text heuristic ------------------------------------------------------

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
# fmt: off
# Frequent English function words.
_ENGLISH_STOPWORDS = frozenset(
    [
        "a", "an", "and", "the", "of", "to", "in", "on", "at", "by", "for", "from", "with", "into",
        "about", "after", "before", "over", "under", "is", "are", "was", "were", "be", "been",
        "being", "has", "have", "had", "his", "her", "hers", "he", "she", "him", "they", "them",
        "their", "it", "its", "this", "that", "these", "those", "who", "whom", "whose", "which",
        "what", "when", "where", "while", "as", "but", "or", "not", "no", "one", "must", "will",
        "would", "can", "could", "should", "than", "then", "there", "out", "up", "only", "our",
        "your", "my", "we", "you", "i"
    ]
)
# Frequent function words of the other big Latin-script film languages that are not
# (common) English words.
_OTHER_STOPWORDS = frozenset(
    [
        "le", "la", "les", "des", "du", "et", "est", "une", "dans", "pour", "qui", "que", "sur",
        "avec", "pas", "sont", "ses", "leur", "aux", "el", "los", "las", "del", "y", "por", "con",
        "una", "es", "su", "al", "lo", "se", "más", "como", "pero", "sus", "der", "das", "und",
        "ist", "ein", "eine", "mit", "für", "nicht", "sich", "dem", "den", "auf", "wird", "ihre",
        "il", "di", "che", "per", "della", "non", "gli", "nel", "alla", "sono", "anche", "em", "um",
        "uma", "com", "não", "os", "dos", "pelo", "mais", "seu", "sua"
    ]
)
# fmt: on


def looks_english(text: str) -> bool:
    """Whether ``text`` reads as English, by a cheap heuristic on the text itself.

    ``original_language`` is the title's language, not its synopsis's (an English
    synopsis of a French film is fine), so the text is judged directly:

    1. non-Latin script: more than 30 % of the letters outside Latin blocks
       (code points above U+024F: Cyrillic, CJK, Arabic, Devanagari, ...) -> not English;
    2. other Latin languages: at least two function words of French, Spanish, German,
       Italian or Portuguese and more of them than English ones -> not English;
    3. no English at all: twelve or more words and under 5 % English function words
       -> not English.

    Short English texts without a function word pass (rule 3 needs twelve words).
    """
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return False
    non_latin = sum(1 for ch in letters if ord(ch) > 0x24F)
    if non_latin / len(letters) > 0.3:
        return False
    words = [w.lower() for w in _WORD.findall(text)]
    english = sum(1 for w in words if w in _ENGLISH_STOPWORDS)
    other = sum(1 for w in words if w in _OTHER_STOPWORDS)
    if other >= 2 and other > english:
        return False
    return not (len(words) >= 12 and english / len(words) < 0.05)


def _word_count(text: str) -> int:
    return len(_WORD.findall(text))


# --- building examples ---------------------------------------------------------------


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, Iterable):
        return [
            str(v) for v in value if v is not None and not (isinstance(v, float) and np.isnan(v))
        ]
    return []


def _clean_text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = " ".join(str(value).split())
    return text or None


def _build(
    rows: Iterable[tuple[str, object, set[str], dict[str, object], set[str] | None]],
    *,
    min_words: int,
    excluded: dict[str, int] | None = None,
) -> tuple[GenreExamples, dict[str, int]]:
    """Examples from (id, plot, genre_ids, meta, known genres) rows, excluded by rule in order.

    ``known genres`` None: every genre is known for the row.
    """
    counts = {reason: 0 for reason in EXCLUSION_REASONS}
    if excluded:
        counts.update(excluded)
    genre_index = {g: i for i, g in enumerate(CANONICAL_GENRES)}
    ids: list[str] = []
    texts: list[str] = []
    label_rows: list[np.ndarray] = []
    metas: list[dict[str, object]] = []
    known_rows: list[np.ndarray] = []
    any_unknown = False
    for title_id, plot, genre_ids, meta, known_set in rows:
        text = _clean_text(plot)
        if text is None:
            counts["no_plot"] += 1
            continue
        if _word_count(text) < min_words:
            counts["short_plot"] += 1
            continue
        if not looks_english(text):
            counts["non_english_text"] += 1
            continue
        known = [genre_index[g] for g in genre_ids if g in genre_index]
        if not known:
            counts["no_genre"] += 1
            continue
        row = np.zeros(len(CANONICAL_GENRES), dtype=np.uint8)
        row[known] = 1
        known_row = np.ones(len(CANONICAL_GENRES), dtype=bool)
        if known_set is not None:
            known_row[:] = False
            known_row[[genre_index[g] for g in known_set if g in genre_index]] = True
            any_unknown = any_unknown or not known_row.all()
        ids.append(str(title_id))
        texts.append(text)
        label_rows.append(row)
        metas.append(meta)
        known_rows.append(known_row)
    labels = np.vstack(label_rows) if label_rows else np.zeros((0, len(CANONICAL_GENRES)), np.uint8)
    meta_frame = pd.DataFrame(metas, columns=list(META_COLUMNS))
    known_matrix = np.vstack(known_rows) if any_unknown else None
    examples = GenreExamples(
        ids, texts, labels, list(CANONICAL_GENRES), meta_frame, known=known_matrix
    )
    return examples, counts


def examples_from_marts(
    titles: pd.DataFrame,
    title_genres: pd.DataFrame,
    *,
    min_words: int = 5,
    vocabulary_maps: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
) -> tuple[GenreExamples, dict[str, int]]:
    """Training examples from the ``titles`` and ``title_genres`` marts.

    ``titles``: title_id, title, plot, title_type, original_language, sources (list),
    and for label masks genre_vocabularies (list). ``title_genres``: title_id, genre_id.
    Returns the examples (plot text, canonical genre columns) and the exclusion counts
    by reason (see the module docstring). ``meta.source`` is the title's sources joined
    with ``+`` (``netflix+tmdb_5000``).

    With ``vocabulary_maps`` (``{vocabulary: {label: [genre_id, ...]}}``: the genre
    map seeds as the warehouse applied them, :func:`vocabulary_maps_from_frame`), the
    examples carry ``known``: :func:`known_genres` of the title's ``genre_vocabularies``
    and type. A vocabulary missing from the maps expresses nothing. Without the maps,
    every genre is known.
    """
    genres_by_title: dict[str, set[str]] = {}
    for title_id, genre_id in zip(title_genres["title_id"], title_genres["genre_id"], strict=True):
        genres_by_title.setdefault(str(title_id), set()).add(str(genre_id))
    if vocabulary_maps is not None and "genre_vocabularies" not in titles.columns:
        raise ValueError("label masks need the titles mart's genre_vocabularies column")
    cache: dict[tuple[tuple[str, ...], object], set[str]] = {}

    def known_for(vocabularies: list[str], title_type: object) -> set[str] | None:
        if vocabulary_maps is None:
            return None
        key = (tuple(vocabularies), title_type)
        if key not in cache:
            mappings = [vocabulary_maps.get(vocabulary, {}) for vocabulary in vocabularies]
            cache[key] = known_genres(mappings, str(title_type))
        return cache[key]

    def rows() -> Iterable[tuple[str, object, set[str], dict[str, object], set[str] | None]]:
        for record in titles.to_dict("records"):
            title_id = str(record["title_id"])
            meta = {
                "title_type": record.get("title_type"),
                "source": "+".join(sorted(_as_list(record.get("sources")))) or None,
                "original_language": record.get("original_language"),
            }
            known = known_for(_as_list(record.get("genre_vocabularies")), record.get("title_type"))
            yield title_id, record.get("plot"), genres_by_title.get(title_id, set()), meta, known

    return _build(rows(), min_words=min_words)


def load_genre_maps(seeds_dir: Path | str = DEFAULT_SEEDS_DIR) -> dict[str, dict[str, list[str]]]:
    """``{source: {label key: [genre_id, ...]}}`` from the dbt seeds (keys: ``taxonomy.label_key``).

    ``source_registry.csv`` names each source's genre vocabulary and
    ``genre_map_<vocabulary>.csv`` maps its labels; a label listed with an empty
    ``genre_id`` maps to ``[]`` (known, mapped to nothing). Sources without a
    vocabulary are left out.
    """
    seeds_dir = Path(seeds_dir)
    vocab_maps = load_vocabulary_maps(seeds_dir)
    maps: dict[str, dict[str, list[str]]] = {}
    with (seeds_dir / "source_registry.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            vocabulary = (row.get("genre_vocabulary") or "").strip()
            if vocabulary in vocab_maps:
                maps[row["source"].strip()] = vocab_maps[vocabulary]
    return maps


def vocabulary_maps_from_frame(frame: pd.DataFrame) -> dict[str, dict[str, list[str]]]:
    """``{vocabulary: {label key: [genre_id, ...]}}`` from ``int_genre_maps_unioned`` rows.

    Columns genre_vocabulary, source_genre_key, genre_id (null: the label maps to nothing):
    the genre maps as the warehouse applied them.
    """
    maps: dict[str, dict[str, list[str]]] = {}
    for vocabulary, label, genre_id in zip(
        frame["genre_vocabulary"], frame["source_genre_key"], frame["genre_id"], strict=True
    ):
        if not isinstance(vocabulary, str) or not isinstance(label, str):
            continue
        targets = maps.setdefault(vocabulary, {}).setdefault(label, [])
        if isinstance(genre_id, str) and genre_id and genre_id not in targets:
            targets.append(genre_id)
    return {vocabulary: _declared(vocabulary, mapping) for vocabulary, mapping in maps.items()}


def load_vocabulary_maps(
    seeds_dir: Path | str = DEFAULT_SEEDS_DIR,
) -> dict[str, dict[str, list[str]]]:
    """``{vocabulary: {label key: [genre_id, ...]}}`` from the ``genre_map_*`` seeds
    (``taxonomy.read_genre_map``: keys are label keys, spellings with one key one label;
    a ``POSITIVE_ONLY_VOCABULARIES`` map is a :class:`PositiveOnlyGenreMap`)."""
    maps: dict[str, dict[str, list[str]]] = {}
    for path in sorted(Path(seeds_dir).rglob("genre_map_*.csv")):
        vocabulary = path.stem.removeprefix("genre_map_")
        maps[vocabulary] = _declared(vocabulary, read_genre_map(path))
    return maps


def map_genre_labels(
    labels: Iterable[str], mapping: dict[str, list[str]], title_type: str | None
) -> set[str]:
    """Canonical genres for a listing's labels, as dbt maps them.

    Labels match on their ``taxonomy.label_key``, bare key, parts or last words
    (:func:`label_genres`); then the title type's rules apply (:func:`genres_for_type`).
    """
    return genres_for_type(
        (genre for label in labels for genre in label_genres(label, mapping) or []), title_type
    )


def genres_for_type(genres: Iterable[str], title_type: str | None) -> set[str]:
    """Mapped genres as a title of ``title_type`` carries them: ``kids`` on a movie becomes
    ``family``; a genre that does not apply to the type (``genres.applies_to``) is dropped."""
    out: set[str] = set()
    for genre in genres:
        if genre == "kids" and title_type == "movie":
            genre = "family"
        if GENRE_APPLIES_TO.get(genre) in ("both", title_type):
            out.add(genre)
    return out


def known_genres(
    mappings: Iterable[Mapping[str, Sequence[str]]], title_type: str | None
) -> set[str]:
    """Genres whose label is known for a title of ``title_type`` labelled with ``mappings``.

    Known: what one of the vocabularies can express for the type
    (:func:`expressible_genres`), and every genre that does not apply to the type (a
    movie is never ``reality``: a real negative, whatever the vocabulary). The rest is
    unknown: the title's labels could not have said it.
    """
    known = {
        genre
        for genre, applies_to in GENRE_APPLIES_TO.items()
        if applies_to not in ("both", title_type)
    }
    for mapping in mappings:
        known |= expressible_genres(mapping, title_type)
    return known


def expressible_genres(mapping: Mapping[str, Sequence[str]], title_type: str | None) -> set[str]:
    """Canonical genres a vocabulary's genre map can produce for a title of ``title_type``.

    Every genre the map names, through the title type's rules (:func:`genres_for_type`:
    ``kids`` on a movie becomes ``family``, genres that do not apply to the type are
    dropped), so it agrees with how the labels were made. Empty for a
    :class:`PositiveOnlyGenreMap` (sparse tags: an absent tag is no negative).
    """
    if isinstance(mapping, PositiveOnlyGenreMap):
        return set()
    return genres_for_type((genre for genres in mapping.values() for genre in genres), title_type)


def examples_from_listing_frame(
    frame: pd.DataFrame,
    genre_maps: dict[str, dict[str, list[str]]],
    *,
    min_words: int = 5,
    dedupe: bool = True,
) -> tuple[GenreExamples, dict[str, int]]:
    """Training examples from listing records (``trending_assets.lib.datasets`` frames).

    Each listing's ``genres`` are mapped with its source's map (:func:`map_genre_labels`).
    With ``dedupe`` (default), listings of the same title across sources (same
    lower-cased title, year and type) become one example, as the warehouse resolves
    them: the longest plot, the union of the mapped genres, sources joined with ``+``;
    merged listings are counted under ``duplicate``. This is a simpler key than dbt's
    title resolution, enough to keep one title out of two splits. ids are
    ``<source>:<source_title_id>`` of the kept listing.
    """
    groups: dict[tuple[object, ...], dict[str, object]] = {}
    duplicates = 0
    for position, record in enumerate(frame.to_dict("records")):
        source = str(record["source"])
        title_type = record.get("title_type")
        genres = map_genre_labels(
            _as_list(record.get("genres")), genre_maps.get(source, {}), title_type
        )
        plot = _clean_text(record.get("plot"))
        year = record.get("year")
        year = None if year is None or pd.isna(year) else int(year)
        key: tuple[object, ...] = (
            (" ".join(str(record.get("title") or "").lower().split()), year, title_type)
            if dedupe
            else (position,)
        )
        language = record.get("original_language")
        language = None if language is None or pd.isna(language) else str(language)
        if key not in groups:
            groups[key] = {
                "id": f"{source}:{record['source_title_id']}",
                "plot": plot,
                "genres": set(genres),
                "sources": {source},
                "title_type": title_type,
                "original_language": language,
            }
            continue
        duplicates += 1
        group = groups[key]
        group["genres"] |= genres  # type: ignore[operator]
        group["sources"].add(source)  # type: ignore[union-attr]
        if plot and len(plot) > len(str(group["plot"] or "")):
            group["plot"], group["id"] = plot, f"{source}:{record['source_title_id']}"
        if group["original_language"] is None:
            group["original_language"] = language

    def rows() -> Iterable[tuple[str, object, set[str], dict[str, object], None]]:
        for group in groups.values():
            meta = {
                "title_type": group["title_type"],
                "source": "+".join(sorted(group["sources"])),  # type: ignore[arg-type]
                "original_language": group["original_language"],
            }
            yield str(group["id"]), group["plot"], group["genres"], meta, None  # type: ignore[misc]

    return _build(
        rows(), min_words=min_words, excluded={"duplicate": duplicates} if dedupe else None
    )
