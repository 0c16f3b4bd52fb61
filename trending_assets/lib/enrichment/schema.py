"""The enrichment contract: what a provider must return for one title, and what it is given.

``Enrichment`` is the validated output (the same for the ``openai`` and ``local``
providers); ``enrichment_json_schema()`` is its JSON schema in the shape OpenAI's strict
structured outputs accept (every property required, ``additionalProperties: false``).
``EnrichmentInput`` is one title with its reviews; ``input_hash()`` is the content hash the
cache is keyed by, stable under review order and whitespace/Unicode variations.

Two content rules hold whatever the provider (and for cached answers too: the cache
re-validates every row it returns):

- a summary never says the same sentence twice: exact and near-identical sentences (same
  words once case, whitespace and punctuation are ignored, or a token Jaccard of at least
  ``NEAR_DUPLICATE_JACCARD``) are kept once (``dedupe_sentences``);
- vibe tags agree with the vibe score: a clearly low score (at most ``LOW_SCORE_MAX``) gets no
  positive-only reception tag ("feel-good", "masterpiece"), a clearly high one (at least
  ``HIGH_SCORE_MIN``) no negative-only one ("boring", "disappointing"); descriptive tags
  ("slow burn", "dark") fit any score (``tag_polarity``, ``tags_fitting_score``). A
  contradicting tag is dropped (logged) while enough tags remain; an answer that would be
  left with fewer than ``MIN_TAGS`` is invalid (the OpenAI provider re-asks with the reason).

Bump ``SCHEMA_VERSION`` whenever a field or a rule changes: it is part of every cache key
and of every output row, so a change re-enriches everything.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
import unicodedata
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trending_assets.lib.taxonomy import label_genres, vocabulary_map
from trending_assets.lib.validation import CANONICAL_GENRES

log = logging.getLogger(__name__)

# Not bumped for the two content rules above: they normalise (drop a repeated sentence or a
# contradicting tag) and the cache re-validates on read, so cached answers are fixed without
# being paid for again; one they cannot fix fails validation there and is enriched again.
SCHEMA_VERSION = "1"

MIN_GENRES, MAX_GENRES = 1, 4
MIN_TAGS, MAX_TAGS = 3, 6
SUMMARY_MAX_WORDS = 60  # what the prompt asks for
SUMMARY_HARD_MAX_WORDS = 75  # what validation tolerates before a re-ask
TAG_MAX_CHARS = 32
TAG_MAX_WORDS = 3

# Display names and common spellings that mean a canonical id.
_GENRE_ALIASES = {
    "sci-fi": "science_fiction",
    "scifi": "science_fiction",
    "sci_fi": "science_fiction",
    "science-fiction": "science_fiction",
    "tv-movie": "tv_movie",
    "children": "kids",
    "musical": "music",
    "romcom": "romance",
}
_TAG_ALLOWED = re.compile(r"[^a-z0-9' -]+")
_SPACES = re.compile(r"\s+")
_HTML_TAG = re.compile(r"<[^>]{0,200}>")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREVIATION = re.compile(r"(?:\b[A-Z]|\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|vs|etc|Vol|No|Mt|Lt))\.$")
_NOT_WORD = re.compile(r"[^a-z0-9]+")

# Two sentences whose word sets overlap at least this much (Jaccard) say the same thing.
NEAR_DUPLICATE_JACCARD = 0.8

# Scores that are clearly low / clearly high: tags of the opposite polarity contradict them.
LOW_SCORE_MAX = 4
HIGH_SCORE_MIN = 7
# fmt: off
# Reception tags that only fit one end of the score, keyed as ``polarity_key`` spells them
# (lower case, hyphens as spaces). Anything not listed is descriptive and fits any score.
POSITIVE_TAGS = frozenset({
    "feel good", "heartwarming", "uplifting", "inspiring", "charming", "delightful",
    "touching", "moving", "hilarious", "witty", "clever", "brilliant", "masterpiece",
    "masterful", "must watch", "must see", "well acted", "great acting", "great soundtrack",
    "entertaining", "fun", "enjoyable", "gripping", "riveting", "captivating", "engaging",
    "compelling", "powerful", "thought provoking", "intelligent", "underrated", "excellent",
    "amazing", "outstanding", "superb", "wonderful", "perfect", "fantastic", "loved",
    "crowd pleaser", "crowd pleasing", "instant classic", "well made", "well liked",
    "mostly liked", "highly recommended", "binge worthy", "bingeworthy", "unmissable",
})
NEGATIVE_TAGS = frozenset({
    "boring", "dull", "disappointing", "disappointment", "letdown", "let down", "awful",
    "terrible", "dreadful", "horrible", "bad", "worst", "poorly acted", "bad acting",
    "poorly written", "poorly made", "forgettable", "overrated", "pretentious", "tedious",
    "bland", "mediocre", "uninspired", "lackluster", "lacklustre", "derivative", "lazy",
    "messy", "weak", "stale", "unwatchable", "painful", "cringe", "cringeworthy",
    "cringe worthy", "waste of time", "not worth it", "skip it", "poorly received",
})
# fmt: on
Polarity = Literal["positive", "negative"]


def normalise_text(text: str | None) -> str:
    """NFC, HTML tags (``<br />``) and entities removed, whitespace collapsed."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", html.unescape(_HTML_TAG.sub(" ", str(text))))
    return _SPACES.sub(" ", text).strip()


def normalise_genre(value: str) -> str:
    """``"Science Fiction"`` -> ``science_fiction``; unknown names come back slugged."""
    slug = _SPACES.sub(" ", str(value).strip().lower())
    slug = _GENRE_ALIASES.get(slug, slug)
    return _GENRE_ALIASES.get(slug.replace(" ", "_"), slug.replace(" ", "_").replace("-", "_"))


def canonical_genres(value: str) -> list[str]:
    """The canonical ids a genre name stands for: itself normalised when it is one
    (``"Science Fiction"``), else what the generic vocabulary reads it as, as a site's
    label (``"Sci-Fi & Fantasy"`` -> science_fiction, fantasy; ``"Crime Thriller"``,
    ``"TV Comedies"``: :func:`taxonomy.label_genres`). ``[]`` when it names none."""
    slug = normalise_genre(value)
    if slug in CANONICAL_GENRES:
        return [slug]
    mapped = label_genres(str(value), vocabulary_map("generic")) or []
    return [genre for genre in mapped if genre in CANONICAL_GENRES]


def normalise_tag(value: str) -> str:
    """Lower-case, ASCII-folded, punctuation except ``'`` and ``-`` dropped, spaces collapsed."""
    folded = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode()
    cleaned = _TAG_ALLOWED.sub(" ", folded.lower().replace("_", " "))
    return _SPACES.sub(" ", cleaned).strip(" -'")


def split_sentences(text: str) -> list[str]:
    """Sentences of a normalised text (punctuation kept; each is a verbatim substring)."""
    text = normalise_text(text)
    if not text:
        return []
    out, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if _ABBREVIATION.search(text, 0, match.start()):
            continue  # "D.W. Griffith", "Mr. Smith": not a sentence end
        piece = text[start : match.start() + len(match.group(0).rstrip())].strip()
        if piece:
            out.append(piece)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def sentence_key(sentence: str) -> str:
    """What a sentence says, for duplicate checks: lower case, ASCII-folded, punctuation
    dropped, whitespace collapsed (``"Great  film!"`` and ``"great film."`` share a key)."""
    folded = unicodedata.normalize("NFKD", normalise_text(sentence)).encode("ascii", "ignore")
    return _NOT_WORD.sub(" ", folded.decode().lower()).strip()


def near_duplicate_sentences(a: str, b: str, *, jaccard: float = NEAR_DUPLICATE_JACCARD) -> bool:
    """The same sentence up to case/whitespace/punctuation, or word sets overlapping at least
    ``jaccard`` (Jaccard index of the two sets of words)."""
    key_a, key_b = sentence_key(a), sentence_key(b)
    if key_a == key_b:
        return True
    words_a, words_b = set(key_a.split()), set(key_b.split())
    if not words_a or not words_b:
        return False
    return len(words_a & words_b) / len(words_a | words_b) >= jaccard


def dedupe_sentences(sentences: Sequence[str]) -> list[str]:
    """``sentences`` in order, each dropped when it near-duplicates one kept before it."""
    kept: list[str] = []
    for sentence in sentences:
        if not any(near_duplicate_sentences(sentence, other) for other in kept):
            kept.append(sentence)
    return kept


def dedupe_summary(text: str) -> str:
    """``text`` with repeated (near-identical) sentences said once; unchanged when none."""
    sentences = split_sentences(text)
    kept = dedupe_sentences(sentences)
    return text if len(kept) == len(sentences) else " ".join(kept)


def polarity_key(tag: str) -> str:
    return normalise_tag(tag).replace("-", " ")


def tag_polarity(tag: str) -> Polarity | None:
    """``"positive"``/``"negative"`` for a reception tag that fits only one end of the vibe
    score; ``None`` for a descriptive one ("dark", "slow burn") that fits any score."""
    key = polarity_key(tag)
    if key in POSITIVE_TAGS:
        return "positive"
    if key in NEGATIVE_TAGS:
        return "negative"
    return None


def tag_fits_score(tag: str, score: int | None) -> bool:
    """False only for a positive tag on a clearly low score or a negative one on a clearly
    high score (no score: everything fits)."""
    if score is None:
        return True
    polarity = tag_polarity(tag)
    if polarity == "positive":
        return score > LOW_SCORE_MAX
    if polarity == "negative":
        return score < HIGH_SCORE_MIN
    return True


def tags_fitting_score(tags: Sequence[str], score: int | None) -> tuple[list[str], list[str]]:
    """``(kept, dropped)``: ``tags`` split by ``tag_fits_score``, order kept."""
    kept = [tag for tag in tags if tag_fits_score(tag, score)]
    dropped = [tag for tag in tags if not tag_fits_score(tag, score)]
    return kept, dropped


class Enrichment(BaseModel):
    """One title's enrichment. Validation normalises what it safely can and rejects the rest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    genres: list[str] = Field(min_length=MIN_GENRES, max_length=MAX_GENRES)
    summary: str = Field(min_length=1)
    vibe_score: int = Field(ge=1, le=10)
    vibe_tags: list[str] = Field(min_length=MIN_TAGS, max_length=MAX_TAGS)

    @field_validator("genres", mode="before")
    @classmethod
    def _genres(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            return value
        out: list[str] = []
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f"genre {item!r} is not a string")
            genres = canonical_genres(item)
            if not genres:
                raise ValueError(f"genre {item!r} is not in the canonical taxonomy")
            out += [genre for genre in genres if genre not in out]
        return out

    @field_validator("summary", mode="before")
    @classmethod
    def _summary(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = dedupe_summary(_SPACES.sub(" ", value).strip())
        words = len(text.split())
        if words > SUMMARY_HARD_MAX_WORDS:
            raise ValueError(f"summary has {words} words; at most {SUMMARY_MAX_WORDS} wanted")
        return text

    @field_validator("vibe_score", mode="before")
    @classmethod
    def _score(cls, value: Any) -> Any:
        # Accept 7.0 (some endpoints emit floats for integers) but not 7.5 or "7".
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool):
            raise ValueError("vibe_score must be an integer")
        return value

    @field_validator("vibe_tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            return value
        out: list[str] = []
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f"tag {item!r} is not a string")
            tag = normalise_tag(item)
            if not tag:
                continue
            if len(tag) > TAG_MAX_CHARS or len(tag.split()) > TAG_MAX_WORDS:
                raise ValueError(f"tag {item!r} is too long (at most {TAG_MAX_WORDS} words)")
            if tag not in out:
                out.append(tag)
        return out

    @model_validator(mode="after")
    def _tags_fit_score(self) -> Enrichment:
        kept, dropped = tags_fitting_score(self.vibe_tags, self.vibe_score)
        if not dropped:
            return self
        if len(kept) < MIN_TAGS:
            raise ValueError(
                f"vibe_tags {dropped} contradict vibe_score {self.vibe_score}: a score of "
                f"{LOW_SCORE_MAX} or less takes no praise tags, {HIGH_SCORE_MIN} or more no "
                f"criticism tags; at least {MIN_TAGS} fitting tags wanted"
            )
        log.info("vibe tags %s dropped: they contradict vibe score %d", dropped, self.vibe_score)
        # frozen model: replace the validated field in place, before anyone sees the instance
        object.__setattr__(self, "vibe_tags", kept)
        return self


def enrichment_json_schema() -> dict[str, Any]:
    """The JSON schema sent as ``response_format`` (strict-compatible, hand-written so it
    stays within the subset strict structured outputs accept)."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["genres", "summary", "vibe_score", "vibe_tags"],
        "properties": {
            "genres": {
                "type": "array",
                "description": "1-4 genre ids from the canonical taxonomy, most fitting first.",
                "items": {"type": "string", "enum": list(CANONICAL_GENRES)},
                "minItems": MIN_GENRES,
                "maxItems": MAX_GENRES,
            },
            "summary": {
                "type": "string",
                "description": f"What reviewers say, at most {SUMMARY_MAX_WORDS} words.",
            },
            "vibe_score": {
                "type": "integer",
                "description": "Overall reviewer sentiment, 1 (hated) to 10 (loved).",
                "minimum": 1,
                "maximum": 10,
            },
            "vibe_tags": {
                "type": "array",
                "description": "3-6 short lower-case descriptive tags.",
                "items": {"type": "string"},
                "minItems": MIN_TAGS,
                "maxItems": MAX_TAGS,
            },
        },
    }


class EnrichmentInput(BaseModel):
    """One title as the providers see it. ``reviews`` holds ``(text, rating-or-None)``."""

    model_config = ConfigDict(frozen=True)

    title_id: str
    title: str
    title_type: str = "movie"
    plot: str | None = None
    reviews: list[tuple[str, int | None]] = Field(default_factory=list)

    def clean_reviews(self) -> list[tuple[str, int | None]]:
        """Normalised, non-empty reviews in a canonical order (independent of input order)."""
        cleaned = [(normalise_text(text), rating) for text, rating in self.reviews]
        kept = [(text, rating) for text, rating in cleaned if text]
        return sorted(kept, key=lambda item: (_digest(item[0]), -1 if item[1] is None else item[1]))

    def input_hash(self) -> str:
        """sha256 of the normalised content: changes exactly when what a provider sees changes."""
        payload = {
            "title_id": self.title_id,
            "title": normalise_text(self.title),
            "title_type": self.title_type.strip().lower(),
            "plot": normalise_text(self.plot),
            "reviews": [[text, rating] for text, rating in self.clean_reviews()],
        }
        canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def observed_mean_rating(self) -> float | None:
        ratings = [rating for _, rating in self.reviews if rating is not None]
        return sum(ratings) / len(ratings) if ratings else None


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def inputs_from_frames(
    titles: Any, reviews: Any, *, max_reviews_per_title: int | None = None
) -> list[EnrichmentInput]:
    """``EnrichmentInput`` per row of the ``titles`` mart, with its rows of the ``reviews`` mart.

    ``titles`` needs title_id, title, title_type, plot; ``reviews`` title_id, text, rating
    (pandas frames). ``max_reviews_per_title`` keeps a deterministic subset (by text hash)
    so one very popular title cannot blow the prompt or the embedding time.
    """
    grouped: dict[str, list[tuple[str, int | None]]] = {}
    if reviews is not None and len(reviews):
        for title_id, text, rating in zip(
            reviews["title_id"], reviews["text"], reviews["rating"], strict=True
        ):
            if not isinstance(text, str) or not text.strip():
                continue
            grouped.setdefault(str(title_id), []).append((text, _rating(rating)))
    inputs = []
    for row in titles[["title_id", "title", "title_type", "plot"]].itertuples(index=False):
        title_reviews = grouped.get(str(row.title_id), [])
        if max_reviews_per_title is not None and len(title_reviews) > max_reviews_per_title:
            title_reviews = sorted(title_reviews, key=lambda r: _digest(r[0]))
            title_reviews = title_reviews[:max_reviews_per_title]
        inputs.append(
            EnrichmentInput(
                title_id=str(row.title_id),
                title=str(row.title),
                title_type=str(row.title_type or "movie"),
                plot=row.plot if isinstance(row.plot, str) else None,
                reviews=title_reviews,
            )
        )
    return inputs


def _rating(value: Any) -> int | None:
    try:
        if value is None or value != value:  # None or NaN
            return None
        rating = int(value)
    except (TypeError, ValueError):
        return None
    return rating if 1 <= rating <= 10 else None


def genres_in_taxonomy(genres: Sequence[str]) -> list[str]:
    """Canonical ids among ``genres`` (normalised, deduplicated, order kept)."""
    out: list[str] = []
    for genre in genres:
        out += [slug for slug in canonical_genres(genre) if slug not in out]
    return out
