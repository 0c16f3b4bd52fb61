"""The ``local`` provider: the same ``Enrichment`` with no network and no LLM.

- genres: from the caller's ``genre_predictor`` (the champion genre model's predictions:
  a callable ``EnrichmentInput -> genre ids`` or a mapping ``title_id -> genre ids``); when
  it has nothing for a title, the keyword lexicon of the rules baseline over title + plot,
  then ``drama``;
- summary: extractive. The reviews are split into sentences; candidates (6-40 words, mostly
  letters, no questions, none opening on "but"/"and"/"so"... that needs the sentence before
  it) are embedded with MiniLM (a batch of titles per call in ``run``), scored by centrality (cosine with the mean embedding,
  i.e. how typical of what all reviewers say a sentence is), and taken greedily, skipping
  near-duplicates, until ``summary_max_sentences`` or the word budget. A near-duplicate is
  a sentence that says the same as one already taken: the same words once case, whitespace
  and punctuation are ignored, a word-set Jaccard of at least ``NEAR_DUPLICATE_JACCARD``, or
  an embedding cosine above ``near_duplicate``; the text checks hold even when the
  embedder gives nothing useful (zero vectors), so no summary says a sentence twice.
  Sentences are copied verbatim from the (HTML-cleaned) reviews: nothing is invented. No
  reviews: the same over the plot; neither: a fixed "No reviews yet.";
- vibe score: ``ReviewRatingModel`` predictions averaged per title (see ``rating_model``);
- tags: a curated vibe vocabulary matched in the reviews (negated mentions such as "not
  funny" do not count), weighted by how many reviews use the term times its background idf;
  topped up with the title's most distinctive review words (tf-idf) and, if still short,
  its genre names, so there are always 3-6 lower-case tags. Every tag agrees with the vibe
  score (``schema.tag_fits_score``): no praise tag such as "feel-good" on a score of 4 or
  less, no criticism tag such as "boring" on 7 or more.

Deterministic: the same input, models and embedder give the same output.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from trending_assets.lib.enrichment.cache import CacheKey, EnrichmentCache
from trending_assets.lib.enrichment.rating_model import ReviewRatingModel, title_vibe_score
from trending_assets.lib.enrichment.results import (
    EnrichmentRun,
    RunStats,
    TitleResult,
    percentiles_ms,
    tally,
)
from trending_assets.lib.enrichment.schema import (
    MAX_GENRES,
    MAX_TAGS,
    MIN_TAGS,
    SCHEMA_VERSION,
    SUMMARY_MAX_WORDS,
    Enrichment,
    EnrichmentInput,
    genres_in_taxonomy,
    near_duplicate_sentences,
    normalise_tag,
    normalise_text,
    sentence_key,
    split_sentences,
    tag_fits_score,
)
from trending_assets.lib.progress import Progress

PROVIDER = "local"
# The extractive method's version: plays the prompt version's role (part of every cache
# key). v2: near-duplicate sentences removed as text too; tags agree with the vibe score.
LOCAL_VERSION = "local-v2"
NO_REVIEWS = "No reviews yet."

GenrePredictor = Callable[[EnrichmentInput], Sequence[str] | None] | Mapping[str, Sequence[str]]


class Embedder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


# fmt: off
# Vibe vocabulary: tag -> regex (None: the tag itself, whole words). Mood, pace, style and
# reception words reviewers actually use; genre names are left to the genres field.
VIBE_VOCABULARY: dict[str, str | None] = {
    "heartwarming": r"heart-?warming", "feel-good": r"feel-?good", "touching": None,
    "moving": None, "emotional": None, "uplifting": None, "inspiring": None, "sweet": None,
    "charming": None, "funny": None, "hilarious": None, "witty": None, "clever": None,
    "quirky": None, "silly": None, "goofy": None, "campy": r"campy|camp classic",
    "cheesy": None, "over the top": r"over[- ]the[- ]top", "dark": None, "bleak": None,
    "gritty": None, "disturbing": None, "creepy": None, "scary": None, "terrifying": None,
    "suspenseful": None, "tense": None, "gripping": None, "thrilling": None,
    "action-packed": r"action-?packed", "fast-paced": r"fast-?paced", "slow": r"slow|slow-paced",
    "slow burn": r"slow[- ]burn", "boring": None, "dull": None, "predictable": None,
    "confusing": None, "pretentious": None, "atmospheric": None, "beautiful": None,
    "stunning": None, "visually striking": r"visually (?:striking|stunning)", "stylish": None,
    "epic": None, "intense": None, "violent": None, "gory": r"gory|gore", "romantic": None,
    "nostalgic": None, "thought-provoking": r"thought-?provoking", "intelligent": None,
    "original": None, "realistic": None, "powerful": None, "haunting": None, "brilliant": None,
    "masterpiece": None, "underrated": None, "overrated": None, "forgettable": None,
    "well acted": r"well[- ]acted|great acting|superb acting|fine performances?",
    "poorly acted": r"poorly acted|bad acting|terrible acting|awful acting",
    "great soundtrack": r"great (?:soundtrack|score|music)", "entertaining": None, "fun": None,
    "awful": None, "terrible": None, "ridiculous": None, "absurd": None, "melancholic":
    r"melanchol(?:y|ic)", "family-friendly": r"family-?friendly", "low budget": r"low[- ]budget",
    "cult classic": r"cult classic", "tearjerker": r"tear-?jerker", "satirical": r"satir(?:e|ical)",
}
_STOPWORD_TEXT = """
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is it
its itself just me more most my myself no nor not now of off on once only or other our ours
out over own same she should so some such than that the their theirs them themselves then
there these they this those through to too under until up very was we were what when where
which while who whom why will with would you your yours yourself movie movies film films one
like even good bad really much see seen get got make made way time story plot characters
character scene scenes acting actors actor people watch watching well first know think
still many ever never something thing things little lot back another br would could
"""
# fmt: on
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_NEGATION = re.compile(r"\b(?:not|never|no|hardly|isn't|wasn't|aren't|n't)\s+(?:\w+\s+)?$")
_WORD = re.compile(r"[a-z][a-z'-]+[a-z]")
_LETTERS = re.compile(r"[A-Za-z]")
_DANGLING = re.compile(r"(?:but|and|also|so|or|however|which|because|then|as well)\b", re.I)


def _candidate(sentence: str, min_words: int = 6, max_words: int = 40) -> bool:
    """A sentence that can stand alone in a summary: not too short or long, mostly words,
    not a question, not opening on a connective that needs the sentence before it."""
    words = len(sentence.split())
    if not min_words <= words <= max_words or sentence.endswith("?"):
        return False
    if _DANGLING.match(sentence) or "spoiler" in sentence.lower():
        return False
    return len(_LETTERS.findall(sentence)) >= 0.6 * len(sentence)


@dataclass(frozen=True)
class LocalConfig:
    summary_max_words: int = SUMMARY_MAX_WORDS
    summary_max_sentences: int = 3
    near_duplicate: float = 0.85
    max_candidates: int = 64  # sentences embedded per title (round-robin over reviews)
    observed_weight: float = 0.0  # see rating_model.title_vibe_score
    max_tags: int = 5
    batch_titles: int = 32  # titles whose summary candidates are embedded in one call


class TagExtractor:
    """Vibe tags from a title's reviews. ``fit`` learns background document frequencies."""

    def __init__(self, vocabulary: Mapping[str, str | None] | None = None) -> None:
        vocab = VIBE_VOCABULARY if vocabulary is None else vocabulary
        self.patterns = {
            tag: re.compile(rf"\b(?:{pattern or re.escape(tag)})\b", re.IGNORECASE)
            for tag, pattern in vocab.items()
        }
        self.documents = 0
        self.tag_df: Counter[str] = Counter()
        self.word_df: Counter[str] = Counter()

    def fit(self, texts: Sequence[str]) -> TagExtractor:
        for text in texts:
            clean = normalise_text(text)
            self.tag_df.update(self._tags_in(clean))
            self.word_df.update(set(_WORD.findall(clean.lower())))
        self.documents += len(texts)
        return self

    def fingerprint(self) -> str:
        """Short hash of the vocabulary and the fitted frequencies (part of the cache key)."""
        state = json.dumps(
            [sorted((t, p.pattern) for t, p in self.patterns.items()), self.documents,
             sorted(self.tag_df.items()), len(self.word_df), sum(self.word_df.values())]
        )  # fmt: skip
        return hashlib.sha256(state.encode()).hexdigest()[:8]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """JSON (vocabulary + background frequencies), written atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        vocabulary = {t: p.pattern for t, p in self.patterns.items()}
        state = {"vocabulary": vocabulary, "documents": self.documents,
                 "tag_df": dict(self.tag_df), "word_df": dict(self.word_df)}  # fmt: skip
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TagExtractor:
        state = json.loads(Path(path).read_text(encoding="utf-8"))
        tagger = cls.__new__(cls)
        tagger.patterns = {t: re.compile(p, re.IGNORECASE) for t, p in state["vocabulary"].items()}
        tagger.documents = state["documents"]
        tagger.tag_df = Counter(state["tag_df"])
        tagger.word_df = Counter(state["word_df"])
        return tagger

    def _idf(self, df: int) -> float:
        if not self.documents:
            return 1.0
        return math.log((1 + self.documents) / (1 + df)) + 1.0

    def _tags_in(self, text: str) -> set[str]:
        found = set()
        for tag, pattern in self.patterns.items():
            for match in pattern.finditer(text):
                if not _NEGATION.search(text[max(match.start() - 30, 0) : match.start()].lower()):
                    found.add(tag)
                    break
        return found

    def extract(
        self,
        texts: Sequence[str],
        *,
        exclude: Sequence[str] = (),
        fallback: Sequence[str] = (),
        limit: int = MAX_TAGS,
        score: int | None = None,
    ) -> list[str]:
        """Tags for one title's ``texts``; with a ``score``, only tags that agree with it
        (``schema.tag_fits_score``: no "feel-good" on a 2/10, no "boring" on a 9/10)."""
        limit = max(min(limit, MAX_TAGS), MIN_TAGS)
        clean = [normalise_text(t) for t in texts if t]
        n = max(len(clean), 1)
        df: Counter[str] = Counter()
        for text in clean:
            df.update(t for t in self._tags_in(text) if tag_fits_score(t, score))
        weighted = sorted(
            ((count / n) * self._idf(self.tag_df[tag]), tag) for tag, count in df.items()
        )
        tags = [tag for _, tag in sorted(weighted, key=lambda p: (-p[0], p[1]))][:limit]
        if len(tags) < MIN_TAGS:
            tags += self._top_terms(
                clean, set(tags) | {w.lower() for w in exclude}, MIN_TAGS - len(tags), score
            )
        for extra in fallback:
            if len(tags) >= MIN_TAGS:
                break
            tag = normalise_tag(extra)
            if tag and tag not in tags and tag_fits_score(tag, score):
                tags.append(tag)
        for filler in ("catalogue title", "untagged", "new entry"):  # last resort only
            if len(tags) >= MIN_TAGS:
                break
            if filler not in tags:
                tags.append(filler)
        return [normalise_tag(t) for t in tags]

    def _top_terms(
        self, texts: list[str], skip: set[str], count: int, score: int | None = None
    ) -> list[str]:
        tf: Counter[str] = Counter()
        for text in texts:
            tf.update(w for w in _WORD.findall(text.lower()) if len(w) >= 4)
        scored = [
            (freq * self._idf(self.word_df[word]), word)
            for word, freq in tf.items()
            if word not in _STOPWORDS
            and word not in skip
            and word not in self.patterns  # vocabulary words come only negation-aware
            and freq >= (2 if len(texts) > 2 else 1)
            and tag_fits_score(word, score)
        ]
        return [word for _, word in sorted(scored, key=lambda p: (-p[0], p[1]))[:count]]


class LocalEnricher:
    """``run(inputs, cache)`` -> ``EnrichmentRun``, like ``OpenAIEnricher``, with no network."""

    def __init__(
        self,
        rating_model: ReviewRatingModel,
        *,
        genre_predictor: GenrePredictor | None = None,
        genre_source: str = "keywords",
        embedder: Embedder | None = None,
        tagger: TagExtractor | None = None,
        config: LocalConfig | None = None,
    ) -> None:
        if not rating_model.fitted:
            raise ValueError("the local provider needs a fitted ReviewRatingModel")
        self.rating_model = rating_model
        self.genre_predictor = genre_predictor
        self.genre_source = genre_source  # part of the cache key: name the champion version
        self._embedder = embedder
        self.tagger = tagger or TagExtractor()
        self.config = config or LocalConfig()

    @property
    def model_id(self) -> str:
        return (
            f"minilm-extractive+rating-{self.rating_model.method}-{self.rating_model.version}"
            f"+tags-{self.tagger.fingerprint()}+genres-{self.genre_source}"
        )

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from trending_assets.lib.ml.embeddings import configured_embedder

            self._embedder = configured_embedder()
        return self._embedder

    def cache_key(self, item: EnrichmentInput) -> CacheKey:
        return CacheKey(PROVIDER, self.model_id, LOCAL_VERSION, SCHEMA_VERSION, item.input_hash())

    # -- the four fields ----------------------------------------------------------------

    def genres(self, item: EnrichmentInput) -> list[str]:
        predicted: Sequence[str] | None = None
        if isinstance(self.genre_predictor, Mapping):
            predicted = self.genre_predictor.get(item.title_id)
        elif self.genre_predictor is not None:
            predicted = self.genre_predictor(item)
        genres = genres_in_taxonomy(list(predicted or []))[:MAX_GENRES]
        return genres or keyword_genres(f"{item.title}. {item.plot or ''}") or ["drama"]

    def candidate_sentences(self, item: EnrichmentInput) -> list[str]:
        """Summary candidates: review sentences round-robin over the reviews (the first
        sentence of each, then the second ...), repeats dropped (the same words once case,
        whitespace and punctuation are ignored), at most ``max_candidates``; the plot's
        sentences when the reviews have none."""
        reviews = [text for text, _ in item.clean_reviews()]
        candidates = self._round_robin(
            [[s for s in split_sentences(t) if _candidate(s)] for t in reviews]
        )
        if not candidates and item.plot:
            sentences = split_sentences(item.plot)
            candidates = self._round_robin([[s for s in sentences if _candidate(s, min_words=3)]])
        return candidates

    def _round_robin(self, per_text: list[list[str]]) -> list[str]:
        candidates: list[str] = []
        seen: set[str] = set()
        for depth in range(max((len(s) for s in per_text), default=0)):
            for sentences in per_text:
                if depth < len(sentences) and sentence_key(sentences[depth]) not in seen:
                    seen.add(sentence_key(sentences[depth]))
                    candidates.append(sentences[depth])
        return candidates[: self.config.max_candidates]

    def embed(self, sentences: Sequence[str]) -> np.ndarray:
        if not len(sentences):
            return np.zeros((0, 1))
        vectors = np.asarray(self.embedder.encode(list(sentences)), dtype=np.float64)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)

    def select_summary(self, candidates: Sequence[str], vectors: np.ndarray) -> str | None:
        """Most central candidates, near-duplicates skipped, within the word budget.

        A candidate is skipped when it says what a chosen one says: as text
        (``schema.near_duplicate_sentences``: same words, or a word-set Jaccard of at least
        ``NEAR_DUPLICATE_JACCARD``) or as meaning (cosine above ``near_duplicate``)."""
        if not len(candidates):
            return None
        config = self.config
        centrality = vectors @ vectors.mean(axis=0)
        order = sorted(range(len(candidates)), key=lambda i: (-round(float(centrality[i]), 9), i))
        chosen: list[int] = []
        words = 0
        for index in order:
            length = len(candidates[index].split())
            if words + length > config.summary_max_words:
                continue
            if any(
                float(vectors[index] @ vectors[j]) > config.near_duplicate
                or near_duplicate_sentences(candidates[index], candidates[j])
                for j in chosen
            ):
                continue
            chosen.append(index)
            words += length
            if len(chosen) >= config.summary_max_sentences:
                break
        return " ".join(candidates[i] for i in chosen) if chosen else None

    def summary(
        self,
        item: EnrichmentInput,
        candidates: Sequence[str] | None = None,
        vectors: np.ndarray | None = None,
    ) -> str:
        """The extractive summary; ``run`` passes candidates embedded for a whole batch."""
        if candidates is None:
            candidates = self.candidate_sentences(item)
        if vectors is None:
            vectors = self.embed(candidates)
        return self.select_summary(candidates, vectors) or NO_REVIEWS

    def text_score(self, item: EnrichmentInput) -> float | None:
        texts = [text for text, _ in item.clean_reviews()]
        return self.rating_model.title_score(texts) if texts else None

    def vibe_score(self, item: EnrichmentInput) -> int:
        return title_vibe_score(
            self.text_score(item),
            [rating for _, rating in item.reviews],
            observed_weight=self.config.observed_weight,
        )

    def tags(self, item: EnrichmentInput, genres: Sequence[str], score: int | None = None):
        """Vocabulary tags, then distinctive words, then genre names and the reception;
        all of them agree with ``score`` when it is given."""
        reviews = [text for text, _ in item.clean_reviews()]
        fallback = [g.replace("_", " ") for g in genres]
        if reviews and score is not None:
            fallback.append(reception(score))
        return self.tagger.extract(
            reviews or [normalise_text(item.plot)],
            exclude=[*item.title.lower().split(), *genres],
            fallback=fallback,
            limit=self.config.max_tags,
            score=score,
        )

    def enrich_one(
        self,
        item: EnrichmentInput,
        candidates: Sequence[str] | None = None,
        vectors: np.ndarray | None = None,
    ) -> Enrichment:
        genres = self.genres(item)
        score = self.vibe_score(item)
        return Enrichment(
            genres=genres,
            summary=self.summary(item, candidates, vectors),
            vibe_score=score,
            vibe_tags=self.tags(item, genres, score),
        )

    # -- a batch ------------------------------------------------------------------------

    def run(
        self,
        inputs: Sequence[EnrichmentInput],
        cache: EnrichmentCache | None = None,
        progress: Progress | None = None,
    ) -> EnrichmentRun:
        """Enrich ``inputs``; summary candidates of ``batch_titles`` titles at a time go
        through the embedder in one call (much faster than one call per title)."""
        started = time.monotonic()
        results: list[TitleResult] = []
        todo: list[tuple[TitleResult, EnrichmentInput, CacheKey]] = []
        for item in inputs:
            key = self.cache_key(item)
            hit = cache.get(key) if cache is not None else None
            result = TitleResult(
                title_id=item.title_id, status="ok", provider=PROVIDER, model=key.model,
                prompt_version=LOCAL_VERSION, schema_version=SCHEMA_VERSION,
                input_hash=key.input_hash, enrichment=hit, cached=hit is not None,
            )  # fmt: skip
            results.append(result)
            if hit is None:
                todo.append((result, item, key))
        latencies: list[float] = []
        size = max(self.config.batch_titles, 1)
        if progress is not None:
            progress.total, progress.unit = len(todo), "titles"
            progress.milestone(f"{len(todo)} of {len(inputs)} titles to enrich, the rest cached")
        for offset in range(0, len(todo), size):
            batch = todo[offset : offset + size]
            t0 = time.monotonic()
            candidates = [self.candidate_sentences(item) for _, item, _ in batch]
            vectors = self.embed([s for group in candidates for s in group])
            share = (time.monotonic() - t0) / len(batch)  # the batch's embedding, shared out
            start = 0
            for (result, item, key), group in zip(batch, candidates, strict=True):
                t1 = time.monotonic()
                own = vectors[start : start + len(group)]
                start += len(group)
                try:
                    result.enrichment = self.enrich_one(item, group, own)
                except ValueError as exc:  # a rule the output broke: keep it, with why
                    result.status, result.reason = "quarantined", f"local output invalid: {exc}"
                latencies.append(share + time.monotonic() - t1)
                if cache is not None and result.enrichment is not None:
                    cache.put(key, item.title_id, result.enrichment)
            if progress is not None:
                progress.update(min(offset + size, len(todo)))
        stats = RunStats(
            provider=PROVIDER, model=self.model_id, prompt_version=LOCAL_VERSION,
            schema_version=SCHEMA_VERSION, **percentiles_ms(latencies),
        )  # fmt: skip
        tally(stats, results)
        stats.wall_seconds = time.monotonic() - started
        return EnrichmentRun(results, stats)


def reception(score: int) -> str:
    """A tag for the score band, used only when the reviews give too few tags."""
    if score >= 8:
        return "well liked"
    if score >= 6:
        return "mostly liked"
    return "mixed reception" if score >= 4 else "poorly received"


def keyword_genres(text: str, limit: int = 3) -> list[str]:
    """Genres whose rules-baseline seed terms occur most in ``text`` (empty when none)."""
    lexicon = _seed_lexicon()
    counts = []
    for genre, pattern in lexicon.items():
        hits = len(pattern.findall(text))
        if hits:
            counts.append((-hits, genre))
    return [genre for _, genre in sorted(counts)[:limit]]


_LEXICON: dict[str, re.Pattern[str]] | None = None


def _seed_lexicon() -> dict[str, re.Pattern[str]]:
    global _LEXICON
    if _LEXICON is None:
        try:  # the rules baseline's hand-written lexicon (imported late: its module is heavy)
            from trending_assets.lib.ml.keyword import SEED_LEXICON
        except ImportError:  # pragma: no cover
            SEED_LEXICON = {}
        _LEXICON = {
            genre: re.compile(rf"\b(?:{'|'.join(terms)})\b", re.IGNORECASE)
            for genre, terms in SEED_LEXICON.items()
        }
    return _LEXICON
