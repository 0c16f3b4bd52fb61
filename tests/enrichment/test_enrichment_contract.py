"""Schema, prompts, cache and evaluation: the pure pieces around the providers."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from pydantic import ValidationError

from trending_assets.lib.enrichment.cache import CacheKey, EnrichmentCache
from trending_assets.lib.enrichment.evaluation import (
    compare_prompts,
    evaluate_enrichments,
    genre_f1,
    genre_sets,
)
from trending_assets.lib.enrichment.prompts import (
    available_versions,
    load_prompt,
    render,
    sample_reviews,
)
from trending_assets.lib.enrichment.schema import (
    Enrichment,
    EnrichmentInput,
    enrichment_json_schema,
    inputs_from_frames,
)
from trending_assets.lib.validation import CANONICAL_GENRES

VALID = {
    "genres": ["drama"],
    "summary": "Reviewers liked it.",
    "vibe_score": 7,
    "vibe_tags": ["a", "b", "c"],
}


@pytest.mark.parametrize(
    "change",
    [
        {"genres": ["spaghetti"]},
        {"genres": []},
        {"genres": ["drama", "comedy", "crime", "war", "western"]},
        {"vibe_score": 0},
        {"vibe_score": 11},
        {"vibe_score": 7.5},
        {"vibe_score": True},
        {"vibe_tags": ["a", "A", "a!"]},  # one tag after normalisation
        {"vibe_tags": ["a", "b", "c", "d", "e", "f", "g"]},
        {"vibe_tags": ["a", "b", "four words are many"]},
        {"summary": "word " * 100},
        {"extra": 1},
    ],
)
def test_enrichment_rejects_what_breaks_the_contract(change):
    with pytest.raises(ValidationError):
        Enrichment.model_validate({**VALID, **change})


def test_enrichment_normalises_what_it_safely_can():
    value = Enrichment.model_validate(
        {
            **VALID,
            "genres": ["Drama", "drama", "Sci-Fi"],
            "vibe_tags": [" Slow  Burn ", "DARK", "Café"],
        }
    )
    assert value.genres == ["drama", "science_fiction"]
    assert value.vibe_tags == ["slow burn", "dark", "cafe"]


def test_enrichment_reads_genre_names_as_a_site_would_write_them():
    """Models answer "Sci-Fi & Fantasy" or "Crime Thriller" for the taxonomy's ids: read
    through the generic vocabulary, as a crawled site's labels are; a name no vocabulary
    knows is still rejected ("spaghetti", above)."""
    value = Enrichment.model_validate({**VALID, "genres": ["Sci-Fi & Fantasy", "Crime Thriller"]})
    assert value.genres == ["science_fiction", "fantasy", "crime", "thriller"]
    value = Enrichment.model_validate({**VALID, "genres": ["TV Comedies", "comedy"]})
    assert value.genres == ["comedy"]
    with pytest.raises(ValidationError):  # four names, five genres: over the limit
        Enrichment.model_validate(
            {**VALID, "genres": ["Sci-Fi & Fantasy", "Crime Thriller", "drama"]}
        )


def test_json_schema_is_strict_compatible():
    schema = enrichment_json_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"])
    assert schema["properties"]["genres"]["items"]["enum"] == list(CANONICAL_GENRES)


def test_input_hash_is_stable_and_content_sensitive():
    a = EnrichmentInput(
        title_id="t", title="X", plot="P", reviews=[("Good<br />film.", 8), ("Bad.", 2)]
    )
    b = EnrichmentInput(
        title_id="t", title="X ", plot=" P", reviews=[("Bad.", 2), ("Good film.", 8)]
    )
    assert a.input_hash() == b.input_hash()
    assert a.input_hash() != a.model_copy(update={"plot": "Q"}).input_hash()
    assert a.input_hash() != a.model_copy(update={"reviews": [("Good film.", 8)]}).input_hash()


def test_prompts_are_versioned_files():
    assert {"v1", "v2"} <= set(available_versions())
    v1, v2 = load_prompt("v1"), load_prompt("v2")
    assert v1.fingerprint != v2.fingerprint and "$reviews" in v1.user
    with pytest.raises(FileNotFoundError):
        load_prompt("v99")
    with pytest.raises(ValueError):
        load_prompt("../etc")


def test_render_fits_the_budget_deterministically_and_hides_ratings():
    reviews = [(f"Negative review {i}. " + "meh " * 150, 2) for i in range(10)]
    reviews += [(f"Positive review {i}. " + "wow " * 150, 9) for i in range(10)]
    item = EnrichmentInput(title_id="t", title="Many", plot="A plot.", reviews=reviews)
    shown = sample_reviews(item, budget=3000, per_review=500)
    assert sum(len(s) + 3 for s in shown) <= 3000
    assert any(s.startswith("Negative") for s in shown) and any(
        s.startswith("Positive") for s in shown
    )
    prompt = render(item, "v1", review_char_budget=3000, per_review_chars=500)
    flipped = item.model_copy(update={"reviews": list(reversed(reviews))})
    assert render(flipped, "v1", review_char_budget=3000, per_review_chars=500) == prompt
    assert "Title: Many" in prompt.user and "/10" not in prompt.user
    assert f"({prompt.shown_reviews} of 20 shown)" in prompt.user


def test_cache_round_trips_and_prunes(tmp_path):
    cache = EnrichmentCache()
    key = CacheKey("openai", "m", "v1", "1", "h1")
    cache.put(key, "t1", Enrichment.model_validate(VALID))
    cache.put(key._replace(prompt_version="v0"), "t1", Enrichment.model_validate(VALID))
    back = EnrichmentCache.from_frame(cache.to_frame())
    assert back.get(key) == Enrichment.model_validate(VALID)
    assert back.get(key._replace(input_hash="other")) is None
    assert back.prune([key]) == 1 and len(back) == 1
    assert len(EnrichmentCache.load(tmp_path / "missing.parquet")) == 0
    back.save(tmp_path / "c.parquet")
    assert EnrichmentCache.load(tmp_path / "c.parquet").get(key) is not None


def test_inputs_from_mart_frames():
    titles = pd.DataFrame(
        {
            "title_id": ["a", "b"],
            "title": ["A", "B"],
            "title_type": ["movie", "tv"],
            "plot": ["p", None],
        }
    )
    reviews = pd.DataFrame(
        {"title_id": ["a", "a", "a"], "text": ["x", "y", ""],
         "rating": pd.array([8, None, 3], dtype="Int64")}
    )  # fmt: skip
    items = inputs_from_frames(titles, reviews)
    assert [len(i.reviews) for i in items] == [2, 0]
    assert sorted(items[0].reviews) == [("x", 8), ("y", None)] and items[1].plot is None
    assert len(inputs_from_frames(titles, reviews, max_reviews_per_title=1)[0].reviews) == 1


def test_genre_f1_and_evaluation():
    truth = {"a": {"drama", "comedy"}, "b": {"horror"}}
    f1 = genre_f1({"a": ["drama"], "b": ["horror", "drama"]}, truth)
    # tp: drama(a), horror(b) = 2; fp: drama(b) = 1; fn: comedy(a) = 1 -> micro 4/6
    assert f1["micro_f1"] == pytest.approx(4 / 6)
    assert f1["macro_f1"] == pytest.approx((2 / 3 + 0 + 1) / 3)
    results = {
        "a": Enrichment.model_validate({**VALID, "genres": ["drama"], "vibe_score": 8}),
        "b": Enrichment.model_validate({**VALID, "genres": ["horror"], "vibe_score": 3}),
        "c": Enrichment.model_validate({**VALID, "genres": ["comedy"], "vibe_score": 5}),
    }
    metrics = evaluate_enrichments(
        results,
        source_genres=truth,
        champion_genres={"a": ["drama"], "b": ["thriller"]},
        mean_ratings={"a": 9.0, "b": 2.5, "c": 6.0},
    )
    assert metrics["genre_titles"] == 2 and metrics["champion_jaccard"] == pytest.approx(0.5)
    assert metrics["vibe_spearman"] == pytest.approx(1.0)
    assert math.isnan(evaluate_enrichments(results)["vibe_spearman"])
    long = pd.DataFrame({"title_id": ["a", "a", "b"], "genre_id": ["drama", "comedy", "horror"]})
    assert genre_sets(long) == truth


def test_compare_prompts_side_by_side_on_shared_titles():
    a = {
        t: Enrichment.model_validate({**VALID, "vibe_score": s})
        for t, s in [("x", 2), ("y", 5), ("z", 9)]
    }
    b = {
        t: Enrichment.model_validate({**VALID, "vibe_score": s})
        for t, s in [("x", 3), ("y", 4), ("w", 1)]
    }
    result = compare_prompts(a, b, labels=("v1", "v2"), mean_ratings={"x": 1.0, "y": 6.0, "z": 9.0})
    assert result.titles == 2
    table = result.table.set_index("metric")
    assert table.loc["titles", "v1"] == table.loc["titles", "v2"] == 2
    assert result.agreement["vibe_score_mean_abs_diff"] == pytest.approx(1.0)
    assert result.agreement["genre_jaccard"] == pytest.approx(1.0)
    assert {"metric", "v1", "v2", "delta"} <= set(result.as_frame().columns)
