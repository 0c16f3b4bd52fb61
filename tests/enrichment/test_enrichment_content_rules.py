"""Content rules that make enrichments read like a product: a summary never repeats a
sentence, and vibe tags never contradict the vibe score (local provider, schema, cache)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import test_enrichment_local as local_tests
import test_enrichment_openai as openai_tests
from test_enrichment_local import NEGATIVE, POSITIVE, HashingEmbedder

from trending_assets.lib.enrichment.cache import CacheKey, EnrichmentCache
from trending_assets.lib.enrichment.local_provider import (
    LocalEnricher,
    TagExtractor,
    split_sentences,
)
from trending_assets.lib.enrichment.schema import (
    HIGH_SCORE_MIN,
    LOW_SCORE_MAX,
    SCHEMA_VERSION,
    Enrichment,
    EnrichmentInput,
    dedupe_sentences,
    dedupe_summary,
    near_duplicate_sentences,
    sentence_key,
    tag_fits_score,
    tag_polarity,
    tags_fitting_score,
)

REPEATED = "The cast is wonderful and the ending made the whole audience cheer loudly."
VARIANTS = [
    REPEATED,
    "the cast is wonderful and the ending made the whole audience cheer loudly!",
    "The  cast is wonderful, and the ending made the whole audience cheer loudly...",
    "THE CAST IS WONDERFUL AND THE ENDING MADE THE WHOLE AUDIENCE CHEER LOUDLY.",
    "The cast is wonderful and the ending made the whole audience cheer so loudly.",  # +1 word
]


class ZeroEmbedder:
    """An embedder that gives nothing useful (what a failed encode leaves): zero vectors,
    so the cosine check alone can never see that two sentences are the same."""

    def encode(self, texts):
        return np.zeros((len(texts), 8))


# The local tests' rating model (fitted on their POSITIVE/NEGATIVE reviews).
rating_model = local_tests.rating_model


def _sentence_keys(summary: str) -> list[str]:
    return [sentence_key(s) for s in split_sentences(summary)]


def _assert_no_repeats(summary: str) -> None:
    sentences = split_sentences(summary)
    assert sentences, summary
    for i, a in enumerate(sentences):
        for b in sentences[i + 1 :]:
            assert not near_duplicate_sentences(a, b), (a, b, summary)


# ------------------------------------------------------------------- summary dedup


def test_sentence_key_ignores_case_whitespace_and_punctuation():
    keys = {sentence_key(v) for v in VARIANTS[:4]}
    assert len(keys) == 1
    assert sentence_key("Café   au lait!") == "cafe au lait"


def test_near_duplicates_by_text():
    for variant in VARIANTS:
        assert near_duplicate_sentences(REPEATED, variant), variant
    # One word in seven differs: not the same sentence (Jaccard 6/8 < 0.8).
    assert not near_duplicate_sentences(
        "A slow, sad and lovely film.", "A slow, sad and dreadful film."
    )
    assert not near_duplicate_sentences("Great acting throughout.", "Terrible pacing at times.")
    assert dedupe_sentences(["A b c.", "Other words here.", "a B c!"]) == [
        "A b c.",
        "Other words here.",
    ]


def test_dedupe_summary_says_each_sentence_once_and_leaves_clean_text_alone():
    clean = "Fans love the leads. The middle drags a little. The finale is worth it."
    assert dedupe_summary(clean) == clean
    repeated = f"{REPEATED} {REPEATED} {VARIANTS[1]} The music is great."
    assert dedupe_summary(repeated) == f"{REPEATED} The music is great."


def test_schema_drops_repeated_sentences_from_any_provider():
    answer = {
        "genres": ["drama"],
        "summary": f"{REPEATED} {REPEATED}  {REPEATED.upper()}",
        "vibe_score": 8,
        "vibe_tags": ["moving", "slow burn", "dark"],
    }
    assert Enrichment.model_validate(answer).summary == REPEATED


@pytest.mark.parametrize("embedder", [HashingEmbedder(), ZeroEmbedder()], ids=["hash", "zero"])
def test_a_sentence_in_every_review_is_said_once(rating_model, embedder):
    """Five reviews carry the same sentence (in small variants), each with an own one."""
    reviews = [
        (f"{variant} {own}", 9)
        for variant, own in zip(
            VARIANTS,
            [
                "Every scene in the second act looks like a painting come to life.",
                "The score by the orchestra swells at exactly the right moments here.",
                "My kids asked to watch it again the very next morning after school.",
                "It runs a little long but I never once checked the clock at all.",
                "The villain is charming, funny and properly menacing all at once.",
            ],
            strict=True,
        )
    ]
    item = EnrichmentInput(title_id="rep", title="Repeat After Me", reviews=reviews)
    enricher = LocalEnricher(rating_model, embedder=embedder)
    candidates = enricher.candidate_sentences(item)
    # The exact variants (case, whitespace, punctuation) are one candidate already.
    assert sum(sentence_key(c) == sentence_key(REPEATED) for c in candidates) == 1
    summary = enricher.enrich_one(item).summary
    _assert_no_repeats(summary)
    assert sum("cast is wonderful" in s.lower() for s in split_sentences(summary)) <= 1


def test_select_summary_skips_textual_near_duplicates_even_with_useless_vectors(rating_model):
    enricher = LocalEnricher(rating_model, embedder=ZeroEmbedder())
    candidates = [*VARIANTS, "A different sentence that says something else entirely."]
    summary = enricher.select_summary(candidates, np.zeros((len(candidates), 8)))
    assert _sentence_keys(summary) == [
        sentence_key(REPEATED),
        sentence_key("A different sentence that says something else entirely."),
    ]


# ------------------------------------------------------------------- tags vs. score


def test_tag_polarity():
    for tag in ("feel-good", "Feel Good", "masterpiece", "must-watch", "heartwarming"):
        assert tag_polarity(tag) == "positive", tag
    for tag in ("boring", "Disappointing", "waste of time", "poorly acted"):
        assert tag_polarity(tag) == "negative", tag
    for tag in ("slow burn", "dark", "gritty", "funny", "space opera"):
        assert tag_polarity(tag) is None, tag


@pytest.mark.parametrize("score", range(1, 11))
def test_tag_fits_score_only_rules_out_clear_contradictions(score):
    assert tag_fits_score("feel-good", score) == (score > LOW_SCORE_MAX)
    assert tag_fits_score("boring", score) == (score < HIGH_SCORE_MIN)
    assert tag_fits_score("slow burn", score) and tag_fits_score("dark", score)
    assert tag_fits_score("feel-good", None) and tag_fits_score("boring", None)


def test_tags_fitting_score_splits_in_order():
    tags = ["feel-good", "dark", "boring", "masterpiece", "slow burn"]
    assert tags_fitting_score(tags, 2) == (
        ["dark", "boring", "slow burn"],
        ["feel-good", "masterpiece"],
    )
    assert tags_fitting_score(tags, 9) == (
        ["feel-good", "dark", "masterpiece", "slow burn"],
        ["boring"],
    )
    assert tags_fitting_score(tags, 5) == (tags, [])


def test_a_low_score_gets_no_praise_tags_from_the_local_provider(rating_model):
    """Reviewers of a 2/10 title say "feel-good" and "masterpiece" (sarcastically, or
    about the trailer): the tags must not."""
    reviews = [
        (f"{text} It wants to be a feel-good masterpiece and a must-watch. Heartwarming? No.", 2)
        for text in NEGATIVE
    ]
    item = EnrichmentInput(title_id="bad", title="Sour Grapes", reviews=reviews)
    enricher = LocalEnricher(
        rating_model, embedder=HashingEmbedder(), tagger=TagExtractor().fit(POSITIVE + NEGATIVE)
    )
    # Without the rule the vocabulary would pick the praise words up.
    unruled = enricher.tagger.extract([t for t, _ in reviews])
    assert {"feel-good", "masterpiece"} & set(unruled)
    enrichment = enricher.enrich_one(item)
    assert enrichment.vibe_score <= LOW_SCORE_MAX
    assert 3 <= len(enrichment.vibe_tags) <= 6
    assert [t for t in enrichment.vibe_tags if tag_polarity(t) == "positive"] == []


def test_a_high_score_gets_no_criticism_tags_from_the_local_provider(rating_model):
    reviews = [
        (f"{text} Some called it boring and disappointing; I did not.", 9) for text in POSITIVE
    ]
    reviews += [("Boring? Disappointing? Only to people who never saw it. Wonderful film.", 10)]
    item = EnrichmentInput(title_id="good", title="Sweet Grapes", reviews=reviews)
    enricher = LocalEnricher(rating_model, embedder=HashingEmbedder())
    unruled = enricher.tagger.extract([t for t, _ in reviews])
    assert "boring" in unruled
    enrichment = enricher.enrich_one(item)
    assert enrichment.vibe_score >= HIGH_SCORE_MIN
    assert [t for t in enrichment.vibe_tags if tag_polarity(t) == "negative"] == []


def test_schema_drops_contradicting_tags_and_says_so(caplog):
    answer = {
        "genres": ["comedy"],
        "summary": "Reviewers found it flat.",
        "vibe_score": 2,
        "vibe_tags": ["feel-good", "slow", "dark", "predictable jokes", "must watch"],
    }
    with caplog.at_level(logging.INFO, logger="trending_assets.lib.enrichment.schema"):
        enrichment = Enrichment.model_validate(answer)
    assert enrichment.vibe_tags == ["slow", "dark", "predictable jokes"]
    assert any("contradict vibe score 2" in r.getMessage() for r in caplog.records)
    # Idempotent: the stored (normalised) answer validates to the same value.
    assert Enrichment.model_validate_json(enrichment.model_dump_json()) == enrichment


def test_schema_rejects_an_answer_left_with_too_few_fitting_tags():
    answer = {
        "genres": ["drama"],
        "summary": "Loved by everyone.",
        "vibe_score": 9,
        "vibe_tags": ["boring", "disappointing", "dark"],
    }
    with pytest.raises(ValueError, match="contradict vibe_score 9"):
        Enrichment.model_validate(answer)


def test_a_cached_answer_written_before_the_rules_is_cleaned_on_read():
    """Cached answers are re-validated when read: no re-enrichment needed to fix them."""
    key = CacheKey("openai", "m", "v2", SCHEMA_VERSION, "h" * 64)
    raw = (
        '{"genres":["drama"],"summary":"Dire from start to end. Dire from start to end!",'
        '"vibe_score":1,"vibe_tags":["masterpiece","bleak","grim","slow"]}'
    )
    row = {**key._asdict(), "title_id": "t1", "result_json": raw, "created_at": "2024-05-28"}
    cache = EnrichmentCache.from_frame(pd.DataFrame([row]))
    got = cache.get(key)
    assert got is not None and got.vibe_tags == ["bleak", "grim", "slow"]
    assert got.summary == "Dire from start to end."


# ------------------------------------------------------------------- the openai provider


def test_openai_answers_get_the_same_rules(fake_server):
    """Through the real client against the fake server: a fixable answer comes out clean;
    one left with too few fitting tags is re-asked with the reason, then kept out."""
    fake_server.answers["Grim"] = {
        "genres": ["drama"],
        "summary": "Reviewers found it grim. Reviewers found it grim! The cast tries hard.",
        "vibe_score": 2,
        "vibe_tags": ["feel-good", "bleak", "slow burn", "dark", "masterpiece"],
    }
    fake_server.answers["Praised"] = {
        "genres": ["drama"],
        "summary": "Everyone loved it.",
        "vibe_score": 9,
        "vibe_tags": ["boring", "disappointing", "dark"],
    }
    items = [openai_tests.item("Grim"), openai_tests.item("Praised")]
    result = openai_tests.run(fake_server, items, max_invalid_retries=1).by_title()
    grim = result["id-Grim"]
    assert grim.status == "ok", grim.reason
    assert grim.enrichment.vibe_tags == ["bleak", "slow burn", "dark"]
    assert grim.enrichment.summary == "Reviewers found it grim. The cast tries hard."
    praised = result["id-Praised"]
    assert praised.status == "quarantined" and "contradict vibe_score 9" in praised.reason
    reask = fake_server.calls("Praised")[1].body["messages"][-1]["content"]
    assert "contradict vibe_score 9" in reask
