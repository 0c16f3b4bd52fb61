"""The local provider on its own: rating model, extractive summary, tags, schema."""

from __future__ import annotations

import hashlib
import re

import jsonschema
import numpy as np
import pytest

from trending_assets.lib.enrichment.cache import EnrichmentCache
from trending_assets.lib.enrichment.local_provider import (
    NO_REVIEWS,
    LocalConfig,
    LocalEnricher,
    TagExtractor,
    split_sentences,
)
from trending_assets.lib.enrichment.rating_model import ReviewRatingModel, title_vibe_score
from trending_assets.lib.enrichment.schema import (
    Enrichment,
    EnrichmentInput,
    enrichment_json_schema,
    normalise_text,
)
from trending_assets.lib.progress import Progress

POSITIVE = [
    "A wonderful, heartwarming film with brilliant acting.",
    "I loved every minute; the cast is superb and the story is moving.",
    "Beautiful photography and a touching, funny script.",
    "One of the best films of the decade, a true masterpiece.",
    "Great fun from start to finish, and the ending is perfect.",
]
NEGATIVE = [
    "A boring, awful mess with terrible acting.",
    "I hated it; the plot is stupid and the dialogue is dreadful.",
    "Dull, predictable and far too long, a waste of time.",
    "The worst film I have seen this year, truly bad.",
    "Cheap effects, wooden actors and no story at all.",
]


class HashingEmbedder:
    """Deterministic stand-in for MiniLM: hashed bag of words, L2-normalised."""

    def encode(self, texts):
        out = np.zeros((len(texts), 384))
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 384] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


@pytest.fixture(scope="module")
def rating_model() -> ReviewRatingModel:
    texts, ratings = [], []
    for i in range(12):
        for j, text in enumerate(POSITIVE):
            texts.append(f"{text} Review {i}.")
            ratings.append(8 + (i + j) % 3)
        for j, text in enumerate(NEGATIVE):
            texts.append(f"{text} Review {i}.")
            ratings.append(1 + (i + j) % 3)
    return ReviewRatingModel(min_df=1).fit(texts, ratings)


@pytest.fixture
def enricher(rating_model) -> LocalEnricher:
    return LocalEnricher(
        rating_model,
        genre_predictor={"good": ["Comedy", "drama"], "bad": ["horror"]},
        genre_source="test",
        embedder=HashingEmbedder(),
        tagger=TagExtractor().fit(POSITIVE + NEGATIVE),
    )


def title(title_id: str, reviews: list[str], rating: int | None = None) -> EnrichmentInput:
    return EnrichmentInput(
        title_id=title_id,
        title=f"The {title_id.title()} One",
        plot="A family drives across the country. They argue. They make up in the end.",
        reviews=[
            (f"{r}<br /><br />It has its moments, as most films do.", rating) for r in reviews
        ],
    )


def test_rating_model_follows_sentiment_and_round_trips(rating_model, tmp_path):
    pos = rating_model.predict(["A wonderful, touching and brilliant film."])
    neg = rating_model.predict(["An awful, boring and terrible film."])
    assert pos[0] > 6 > neg[0]
    predictions = rating_model.predict(POSITIVE + NEGATIVE)
    assert ((predictions >= 1) & (predictions <= 10)).all()
    loaded = ReviewRatingModel.load(rating_model.save(tmp_path / "rating.joblib"))
    assert loaded.version == rating_model.version
    np.testing.assert_allclose(loaded.predict(NEGATIVE), rating_model.predict(NEGATIVE))
    metrics = rating_model.evaluate(POSITIVE + NEGATIVE, [9] * 5 + [2] * 5)
    assert metrics["spearman"] > 0.5 and metrics["mae"] < 3


def test_title_vibe_score_rounds_clips_and_blends():
    assert title_vibe_score(7.5) == 8 and title_vibe_score(12.0) == 10 and title_vibe_score(-3) == 1
    assert title_vibe_score(None) == 5 and title_vibe_score(None, [2, 4]) == 3
    assert title_vibe_score(8.0, [2, 2, 2, 2, 2]) == 8  # observed ignored by default
    blended = title_vibe_score(8.0, [2] * 5, observed_weight=1.0)  # weight 5/10
    assert blended == 5


def test_score_moves_with_sentiment(enricher):
    good = enricher.enrich_one(title("good", POSITIVE))
    bad = enricher.enrich_one(title("bad", NEGATIVE))
    assert good.vibe_score > bad.vibe_score
    assert good.vibe_score >= 7 and bad.vibe_score <= 4
    assert good.genres == ["comedy", "drama"] and bad.genres == ["horror"]


def test_summary_sentences_are_verbatim_from_reviews(enricher):
    item = title("good", POSITIVE)
    summary = enricher.enrich_one(item).summary
    cleaned = [normalise_text(text) for text, _ in item.reviews]
    sentences = split_sentences(summary)
    assert 1 <= len(sentences) <= enricher.config.summary_max_sentences
    assert len(summary.split()) <= enricher.config.summary_max_words
    for sentence in sentences:
        assert any(sentence in review for review in cleaned), sentence
    # The sentence every review repeats is taken at most once (near-duplicate removal).
    assert summary.count("It has its moments") <= 1


def test_tags_are_lower_case_three_to_six_and_skip_negations(enricher):
    tags = enricher.enrich_one(title("good", POSITIVE)).vibe_tags
    assert 3 <= len(tags) <= 6 and all(t == t.lower() and t.strip() == t for t in tags)
    assert {"heartwarming", "touching"} & set(tags)
    fitted = TagExtractor().fit(POSITIVE + NEGATIVE)
    assert "funny" in fitted.extract(["Really funny.", "So funny and sweet."])
    extractor = TagExtractor()
    assert "funny" not in extractor.extract(["It is not funny at all.", "Never funny, just long."])
    assert "funny" in extractor.extract(["Really funny.", "So funny and sweet."])


def test_output_validates_against_the_json_schema(enricher):
    for item in (title("good", POSITIVE), title("bad", NEGATIVE), title("none", [])):
        enrichment = enricher.enrich_one(item)
        jsonschema.validate(enrichment.model_dump(), enrichment_json_schema())
        assert Enrichment.model_validate(enrichment.model_dump()) == enrichment


def test_title_without_reviews_uses_the_plot_and_a_neutral_score(enricher):
    enrichment = enricher.enrich_one(title("none", []))
    plot = normalise_text(title("none", []).plot)
    assert all(sentence in plot for sentence in split_sentences(enrichment.summary))
    assert enrichment.vibe_score == 5 and 3 <= len(enrichment.vibe_tags) <= 6
    bare = EnrichmentInput(title_id="bare", title="Bare", reviews=[])
    assert enricher.enrich_one(bare).summary == NO_REVIEWS


def test_run_is_deterministic_and_cached(enricher):
    items = [title("good", POSITIVE), title("bad", NEGATIVE)]
    cache = EnrichmentCache()
    first = enricher.run(items, cache)
    again = enricher.run(list(reversed(items)), None)
    assert first.by_title()["good"].enrichment == again.by_title()["good"].enrichment
    cached = enricher.run(items, cache)
    assert cached.stats.cached == 2 and cached.stats.calls == 0 and cached.stats.ok == 2
    assert set(first.results_frame()["provider"]) == {"local"}


def test_a_run_reports_its_progress_and_what_the_cache_saved(enricher):
    items = [title("good", POSITIVE), title("bad", NEGATIVE)]
    cache = EnrichmentCache()
    lines: list[str] = []
    enricher.run(items, cache, progress=Progress(lines.append, "llm_enrichments"))
    assert lines[0].startswith("llm_enrichments: 2 of 2 titles to enrich, the rest cached")
    assert lines[-1].startswith("llm_enrichments: 2/2 titles (100%)")
    lines.clear()
    enricher.run(items, cache, progress=Progress(lines.append, "llm_enrichments"))
    assert lines[0].startswith("llm_enrichments: 0 of 2 titles to enrich")


def test_genre_fallback_when_the_predictor_has_nothing(rating_model):
    enricher = LocalEnricher(rating_model, genre_predictor=lambda item: ["not-a-genre"],
                             embedder=HashingEmbedder())  # fmt: skip
    item = EnrichmentInput(title_id="x", title="Ghost House",
                           plot="A haunted house, a ghost and a demon terrify a family.")  # fmt: skip
    genres = enricher.genres(item)
    assert genres and "horror" in genres
    unknown = EnrichmentInput(title_id="y", title="Zzz", plot="Qqq.")
    assert enricher.genres(unknown) == ["drama"]


def test_batched_run_matches_one_by_one_and_skips_unfit_sentences(rating_model):
    enricher = LocalEnricher(
        rating_model, embedder=HashingEmbedder(), config=LocalConfig(batch_titles=2)
    )
    items = [title("good", POSITIVE), title("bad", NEGATIVE), title("none", [])]
    batched = enricher.run(items).by_title()
    for item in items:
        assert batched[item.title_id].enrichment == enricher.enrich_one(item)
    odd = EnrichmentInput(
        title_id="odd",
        title="Odd",
        reviews=[("Was it worth the long wait for fans of the show? But it never quite lands "
                  "the way the trailer promised it would. The score is lovely and the "
                  "cast looks like they had a great time.", 7)],
    )  # fmt: skip
    assert enricher.candidate_sentences(odd) == [
        "The score is lovely and the cast looks like they had a great time."
    ]


def test_tagger_round_trips_and_is_part_of_the_cache_key(rating_model, tmp_path):
    tagger = TagExtractor().fit(POSITIVE + NEGATIVE)
    loaded = TagExtractor.load(tagger.save(tmp_path / "tags.json"))
    assert loaded.fingerprint() == tagger.fingerprint() != TagExtractor().fingerprint()
    texts = POSITIVE[:3]
    assert loaded.extract(texts) == tagger.extract(texts)
    a = LocalEnricher(rating_model, embedder=HashingEmbedder(), tagger=tagger)
    b = LocalEnricher(rating_model, embedder=HashingEmbedder())
    assert a.model_id != b.model_id


def test_sentence_split_keeps_initials_and_titles_together():
    text = "D.W. Griffith made it. Mr. Keaton stars! Does it work? Yes."
    assert split_sentences(text) == [
        "D.W. Griffith made it.",
        "Mr. Keaton stars!",
        "Does it work?",
        "Yes.",
    ]


def test_the_rating_models_version_names_its_data_not_the_order_it_was_read() -> None:
    texts = ["loved every minute", "boring and long", "fine, nothing special", "a joy"] * 3
    ratings = [9, 2, 5, 10] * 3
    order = [5, 2, 11, 0, 7, 3, 9, 1, 10, 4, 8, 6]
    first = ReviewRatingModel(min_df=1).fit(texts, ratings)
    shuffled = ReviewRatingModel(min_df=1).fit(
        [texts[i] for i in order], [ratings[i] for i in order]
    )
    assert first.version == shuffled.version
    changed = ReviewRatingModel(min_df=1).fit(texts, [9, 2, 5, 9] * 3)
    assert changed.version != first.version


class CountingEmbedder(HashingEmbedder):
    """The hashing stand-in, recording every text it is asked to embed."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def encode(self, texts):
        self.texts.extend(texts)
        return super().encode(texts)


def test_summary_sentences_are_embedded_once_and_reused_from_their_cache(rating_model):
    """Each distinct review sentence goes through the encoder once, across batches; a title
    enriched again later (new reviews, a new rating model) reads its old sentences' vectors
    from the cache the first run left, and its summary is the same."""
    from trending_assets.lib.ml.embeddings import CacheBackedEmbedder

    shared = "The cast looks like they had a great time on this one."
    items = [title("good", [*POSITIVE, shared]), title("bad", [*NEGATIVE, shared])]
    counting = CountingEmbedder()
    vectors = CacheBackedEmbedder(counting, None)
    enricher = LocalEnricher(rating_model, embedder=vectors, config=LocalConfig(batch_titles=1))
    first = enricher.run(items).by_title()
    # The shared sentence and the boilerplate each title's reviews end on: embedded once.
    assert len(counting.texts) == len(set(counting.texts))
    assert counting.texts.count(shared) == 1
    assert vectors.stats["reused"] > 0

    # Another run (say the rating model changed), from the persisted frame: no sentence
    # is embedded again, and the summaries are the same as with the encoder.
    again_counting = CountingEmbedder()
    again = LocalEnricher(
        rating_model, embedder=CacheBackedEmbedder(again_counting, vectors.cache)
    ).run(items)
    assert again_counting.texts == []
    for item in items:
        assert again.by_title()[item.title_id].enrichment == first[item.title_id].enrichment

    # A new review: only its sentences reach the encoder.
    newer = CountingEmbedder()
    grown = title("good", [*POSITIVE, shared, "An unexpected final act that lifts the film."])
    LocalEnricher(rating_model, embedder=CacheBackedEmbedder(newer, vectors.cache)).run([grown])
    assert newer.texts == ["An unexpected final act that lifts the film."]
