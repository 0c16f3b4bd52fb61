"""LLM enrichment: genres, a review summary, a 1-10 vibe score and vibe tags for every title."""

import json

import dagster as dg
import numpy as np
from dagster_duckdb import DuckDBResource

from trending_assets.defs.quality import pandera_table_check
from trending_assets.defs.resources import WAREHOUSE_POOL, EnrichmentResource, LakeResource
from trending_assets.defs.shared import FULL_RUN_TAG, RETRY_PENDING, step_progress
from trending_assets.defs.warehouse.assets import (
    REVIEWS,
    TITLE_GENRES,
    TITLE_REVIEW_STATS,
    TITLES,
    dbt_key,
)
from trending_assets.lib.artifacts import ArtifactError, ArtifactStore
from trending_assets.lib.enrichment import (
    LOCAL_VERSION,
    SCHEMA_VERSION,
    EnrichmentRun,
    LocalConfig,
    LocalEnricher,
    OpenAIConfig,
    OpenAIEnricher,
    ReviewRatingModel,
    compare_prompts,
    evaluate_enrichments,
    genre_sets,
    inputs_from_frames,
    prompt_fingerprint,
)
from trending_assets.lib.enrichment.cache import open_cache
from trending_assets.lib.enrichment.rating_model import rating_retrain_decision
from trending_assets.lib.lake import write_parquet
from trending_assets.lib.ml.embeddings import (
    CacheBackedEmbedder,
    configured_embedder,
    load_embedding_cache,
)
from trending_assets.lib.served_tables import LLM_ENRICHMENTS, replace_declared_table
from trending_assets.lib.validation import LlmEnrichmentsTable
from trending_assets.lib.warehouse import replace_table

ENRICHMENTS_TABLE = "llm_enrichments"
QUARANTINE_TABLE = "llm_enrichment_quarantine"
CACHE_KEY = "enrichment/cache.parquet"
# The local provider's summary sentences, embedded once: a title enriched again (new
# reviews, a new rating model or champion) embeds only the sentences it has not had before.
SENTENCE_VECTORS_KEY = "enrichment/sentence_vectors.parquet"
# The local provider's answers cost nothing to redo: its journal is fsynced every this many
# answers (still written through at once, so a killed run keeps them); paid answers: each.
LOCAL_PERSIST_EVERY = 100
# Reviews that could not be placed on a title (a dataset of reviews whose titles no
# listing names, such as aclImdb's IMDb ids) are quarantined from the reviews mart, but a
# rated review's text is still a lesson for the rating model, which reads text alone.
UNRESOLVED_REVIEWS = dbt_key("quarantine_reviews_unresolved")
# Every rated review with text: the mart's, then the unresolved ones grouped by their
# source's title id (the model's folds and held-out titles are by title).
RATED_REVIEWS_SQL = """
select title_id, text, rating, 'resolved' as placed from reviews
where rating is not null and text is not null
union all
select source || ':' || source_title_id, review_text, rating, 'unresolved'
from quarantine_reviews_unresolved
where rating between 1 and 10 and review_text is not null and title_id is null
    and source_title_id is not null
order by placed, title_id, text, rating
"""
# Prompt text and output schema are part of the code version: editing either marks the
# asset stale in the UI, and the cache key makes every title re-enrich.
ENRICHMENT_CODE_VERSION = "-".join(
    [SCHEMA_VERSION, LOCAL_VERSION, *(prompt_fingerprint(v)[:8] for v in ("v1", "v2"))]
)


@dg.asset(
    group_name="enrichment",
    deps=[REVIEWS, UNRESOLVED_REVIEWS],
    kinds={"scikit-learn"},
    pool=WAREHOUSE_POOL,
)
def review_rating_model(
    context: dg.AssetExecutionContext,
    warehouse: DuckDBResource,
    lake: LakeResource,
    enrichment: EnrichmentResource,
) -> ReviewRatingModel:
    """A review-text → 1-10 rating regressor trained on the reviews' own ratings (the local
    vibe score): the reviews mart's, and the rated reviews no title could be found for
    (``RATED_REVIEWS_SQL``). Kept, not retrained, until the rated reviews changed by
    ``TRENDING_LLM_RATING_RETRAIN_MIN_CHANGE`` (10 %) since its training: a new model
    changes every title's vibe score, so every title would be enriched again."""
    with warehouse.get_connection() as con:
        reviews = con.execute(RATED_REVIEWS_SQL).df()
    placed = reviews.pop("placed")
    counts = {
        "training_reviews_of_titles": int((placed == "resolved").sum()),
        "training_reviews_unresolved": int((placed == "unresolved").sum()),
    }
    if reviews["title_id"].nunique() < 10:
        raise dg.Failure(
            f"only {reviews['title_id'].nunique()} titles have rated reviews: too few to train"
        )
    kept, decision, carried = _rating_model_plan(
        context, lake, len(reviews), enrichment.rating_retrain_min_change
    )
    context.log.info(f"review_rating_model: {decision}")
    if kept is not None:
        context.add_output_metadata(
            {
                **carried,
                "current_reviews": len(reviews),
                "training_decision": decision,
                "model_version": str(kept.version),
            }  # fmt: skip
        )
        return kept
    # Hold out a fifth of the titles (not reviews) to report honest figures, then refit on all.
    titles = np.array(sorted(reviews["title_id"].unique()))
    held_out = set(np.random.default_rng(0).permutation(titles)[: max(2, len(titles) // 5)])
    is_held = reviews["title_id"].isin(held_out)
    probe = ReviewRatingModel().fit_titles(
        reviews.loc[~is_held, "text"].tolist(), reviews.loc[~is_held, "rating"].tolist(),
        reviews.loc[~is_held, "title_id"].tolist(),
    )  # fmt: skip
    held_metrics = probe.evaluate(
        reviews.loc[is_held, "text"].tolist(), reviews.loc[is_held, "rating"].tolist()
    )
    model = ReviewRatingModel().fit_titles(
        reviews["text"].tolist(), reviews["rating"].tolist(), reviews["title_id"].tolist()
    )
    context.add_output_metadata(
        {
            "training_reviews": len(reviews),
            **counts,
            "current_reviews": len(reviews),
            "held_out_titles": len(held_out),
            "held_out_metrics": dg.MetadataValue.json(
                {k: round(float(v), 4) for k, v in held_metrics.items()}
            ),
            "model_version": str(model.version),
            "training_decision": decision,
        }
    )
    return model  # the IO manager keeps it on the lake


def _last_rating_model_event(context: dg.AssetExecutionContext):
    """The asset's last materialisation, when it was made by this code version (new code or
    settings retrain: the code version carries both)."""
    event = context.instance.get_latest_materialization_event(context.asset_key)
    if event is None or event.asset_materialization is None:
        return None
    code_version = context.assets_def.code_versions_by_key.get(context.asset_key)
    recorded = event.asset_materialization.tags.get("dagster/code_version")
    if code_version is not None and recorded != code_version:
        return None
    return event.asset_materialization


def _rating_model_plan(
    context: dg.AssetExecutionContext, lake: LakeResource, current: int, min_change: float
) -> tuple[ReviewRatingModel | None, str, dict]:
    """(the last model when the retraining rule keeps it, else None; the decision; the
    metadata a kept model repeats from its training)."""
    if context.run.tags.get(FULL_RUN_TAG) == "true":
        return None, "trained: a full run retrains", {}
    last = _last_rating_model_event(context)
    trained_on = last.metadata.get("training_reviews") if last else None
    decision = rating_retrain_decision(
        int(trained_on.value) if trained_on is not None else None, current, min_change
    )
    if decision.retrain:
        return None, decision.reason, {}
    try:
        model = ArtifactStore(lake.get_lake(), "assets").load(context.asset_key.path)
    except (ArtifactError, OSError, ValueError) as exc:
        return None, f"trained: the model to keep could not be read ({exc})", {}
    if not isinstance(model, ReviewRatingModel):
        return None, "trained: the stored value to keep is not a rating model", {}
    carried = {k: v for k, v in last.metadata.items() if k in CARRIED_RATING_METADATA}
    return model, decision.reason, carried


# What a kept model's materialisation repeats from its training's.
CARRIED_RATING_METADATA = ("training_reviews", "held_out_titles", "held_out_metrics")


def _champion_genres(con) -> tuple[dict[str, list[str]], str]:
    rows = con.execute(
        "select title_id, list(genre_id order by probability desc) filter (where predicted), "
        "any_value(model_name || ' ' || model_version) from title_predictions group by title_id"
    ).fetchall()
    genres = {title_id: list(g or []) for title_id, g, _ in rows}
    source = rows[0][2] if rows else "none"
    return genres, source


def _enricher(
    enrichment: EnrichmentResource,
    rating_model,
    champion_genres,
    champion_source,
    prompt_version,
    sentence_vectors=None,
):
    if enrichment.resolved_provider() == "openai":
        config = OpenAIConfig.from_env(
            model=enrichment.model,
            **({"base_url": enrichment.base_url} if enrichment.base_url else {}),
            prompt_version=prompt_version,
            concurrency=enrichment.concurrency,
            max_total_tokens=enrichment.max_total_tokens,
            max_cost_usd=enrichment.max_cost_usd,
        )
        return OpenAIEnricher(config)
    # 32 candidate sentences per title keep the summary step to seconds per hundred titles.
    return LocalEnricher(
        rating_model, genre_predictor=champion_genres, genre_source=champion_source,
        embedder=sentence_vectors, config=LocalConfig(max_candidates=32),
    )  # fmt: skip


def _sentence_vectors(store) -> CacheBackedEmbedder:
    """The encoder behind the local summaries, reading the sentences' vectors kept in the
    lake first (a corrupt file is moved aside, corrupt entries are embedded again)."""
    return CacheBackedEmbedder(
        configured_embedder(),
        load_embedding_cache(store, SENTENCE_VECTORS_KEY),
        cache_name=store.uri(SENTENCE_VECTORS_KEY),
    )


@dg.asset(
    group_name="enrichment",
    deps=[TITLES, REVIEWS, dg.AssetKey("title_predictions")],
    kinds={"openai", "duckdb"},
    pool=WAREHOUSE_POOL,
    code_version=ENRICHMENT_CODE_VERSION,
)
def llm_enrichments(
    context: dg.AssetExecutionContext,
    review_rating_model: ReviewRatingModel,
    enrichment: EnrichmentResource,
    lake: LakeResource,
    warehouse: DuckDBResource,
) -> dg.MaterializeResult:
    """Genres, summary, vibe score and tags per title; incremental by content hash, nothing lost."""
    store = lake.get_lake()
    with warehouse.get_connection() as con:
        titles = con.execute(
            "select title_id, title, title_type, plot from titles order by title_id"
        ).df()
        reviews = con.execute("select title_id, text, rating from reviews order by review_id").df()
        champion_genres, champion_source = _champion_genres(con)
    inputs = inputs_from_frames(
        titles, reviews, max_reviews_per_title=enrichment.max_reviews_per_title
    )
    paid = enrichment.resolved_provider() == "openai"
    sentence_vectors = None if paid else _sentence_vectors(store)
    enricher = _enricher(
        enrichment, review_rating_model, champion_genres, champion_source,
        enrichment.prompt_version, sentence_vectors,
    )  # fmt: skip
    # Validated on read (corrupt rows dropped, a corrupt file moved aside); every answer is
    # persisted as it arrives and the cache compacted on the way out, so a run killed late
    # keeps every paid answer.
    with open_cache(store, CACHE_KEY, persist_every=1 if paid else LOCAL_PERSIST_EVERY) as cache:
        for problem in cache.problems:
            context.log.warning(problem)
        run: EnrichmentRun = enricher.run(inputs, cache, progress=step_progress(context))
        cache_problems = len(cache.problems)
    sentences = {"reused": 0, "new": 0}
    if sentence_vectors is not None:
        sentences = dict(sentence_vectors.stats)
        for problem in sentence_vectors.problems:
            context.log.warning(problem)
        if sentences["new"] or sentence_vectors.problems:
            write_parquet(store, SENTENCE_VECTORS_KEY, sentence_vectors.cache)

    results = run.results_frame()
    quarantine = run.quarantine_frame()
    if len(quarantine):
        write_parquet(store, f"quarantine/{ENRICHMENTS_TABLE}/latest.parquet", quarantine)
    with warehouse.get_connection() as con:
        # Its declared schema (lib/served_tables.py), also when no title is enriched yet:
        # the serving models read it all the same.
        replace_declared_table(con, LLM_ENRICHMENTS, results)
        replace_table(con, QUARANTINE_TABLE, quarantine)
    stats = run.stats.as_metadata()
    preview = results[["title_id", "vibe_score", "vibe_tags", "summary"]].head(5)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(results),
            "provider": enrichment.resolved_provider(),
            "model": str(results["model"].iloc[0]) if len(results) else enrichment.model,
            "prompt_version": enrichment.prompt_version,
            "schema_version": SCHEMA_VERSION,
            "stats": dg.MetadataValue.json(json.loads(json.dumps(stats, default=str))),
            **{
                k: stats[k]
                for k in ("ok", "cached", "retried", "quarantined", "calls")
                if k in stats
            },
            # The keyed mechanism for new titles (docs/operations.md): only titles whose input
            # hash is not in the cache (new or changed) reach the provider.
            "new_or_changed_titles": int(stats.get("titles", 0)) - int(stats.get("cached", 0)),
            "quarantine_rate": float(stats.get("quarantine_rate", 0.0)),
            # Titles a remote provider refused or answered badly are asked again by the next
            # run (they are not cached), so that run re-runs this asset even when nothing
            # upstream changed. The local provider would answer the same: nothing to retry.
            RETRY_PENDING: (
                int(stats.get("quarantined", 0)) + int(stats.get("failed", 0)) if paid else 0
            ),
            "cache_problems_healed": cache_problems,
            # The local summaries' sentences: read from their vector cache or embedded now.
            "summary_sentences_reused": int(sentences["reused"]),
            "summary_sentences_embedded": int(sentences["new"]),
            "preview": dg.MetadataValue.md(
                preview.astype(str).to_markdown(index=False) if len(preview) else "_none_"
            ),
        }
    )


llm_enrichments_schema_check = pandera_table_check(
    asset_key=dg.AssetKey("llm_enrichments"), table=ENRICHMENTS_TABLE, model=LlmEnrichmentsTable
)


@dg.asset_check(
    asset=llm_enrichments,
    blocking=True,
    pool=WAREHOUSE_POOL,
    description="Quarantined titles stay under the configured share of the run.",
)
def llm_quarantine_rate_is_low(
    warehouse: DuckDBResource, enrichment: EnrichmentResource
) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        ok = con.execute(f"select count(*) from {ENRICHMENTS_TABLE}").fetchone()[0]
        bad = con.execute(f"select count(*) from {QUARANTINE_TABLE}").fetchone()[0]
    rate = bad / (ok + bad) if ok + bad else 0.0
    return dg.AssetCheckResult(
        passed=rate <= enrichment.max_quarantine_rate,
        metadata={"quarantine_rate": round(rate, 4), "bound": enrichment.max_quarantine_rate,
                  "ok": ok, "quarantined": bad},
    )  # fmt: skip


@dg.asset(
    group_name="enrichment",
    deps=[llm_enrichments, TITLE_GENRES, TITLE_REVIEW_STATS],
    kinds={"python"},
    pool=WAREHOUSE_POOL,
)
def enrichment_evaluation(
    context: dg.AssetExecutionContext,
    review_rating_model: ReviewRatingModel,
    enrichment: EnrichmentResource,
    lake: LakeResource,
    warehouse: DuckDBResource,
) -> dg.MaterializeResult:
    """LLM genres vs source labels and the champion, vibe score vs mean rating; prompts A/B."""
    with warehouse.get_connection() as con:
        results = con.execute(f"select * from {ENRICHMENTS_TABLE}").df()
        source = genre_sets(con.execute("select title_id, genre_id from title_genres").df())
        champion, champion_source = _champion_genres(con)
        means = dict(
            con.execute(
                "select title_id, mean_rating from title_review_stats where rated_review_count > 0"
            ).fetchall()
        )
        titles = con.execute(
            "select title_id, title, title_type, plot from titles order by title_id"
        ).df()
        reviews = con.execute("select title_id, text, rating from reviews order by review_id").df()
    metrics = evaluate_enrichments(
        results, source_genres=source, champion_genres=champion, mean_ratings=means
    )
    metadata: dict[str, object] = {
        "metrics": dg.MetadataValue.json(json.loads(json.dumps(metrics, default=str))),
        **{
            k: float(v)
            for k, v in metrics.items()
            if isinstance(v, (int, float)) and np.isfinite(v)
        },
    }
    if enrichment.resolved_provider() == "openai":
        # The A/B test: the same sample through the second prompt version, side by side.
        sample_ids = set(results["title_id"].head(enrichment.ab_sample_size))
        sample = inputs_from_frames(
            titles[titles["title_id"].isin(sample_ids)], reviews[reviews["title_id"].isin(sample_ids)],
            max_reviews_per_title=enrichment.max_reviews_per_title,
        )  # fmt: skip
        alternative = _enricher(
            enrichment, review_rating_model, champion, champion_source, enrichment.ab_prompt_version
        )
        with open_cache(lake.get_lake(), CACHE_KEY) as cache:
            run_b = alternative.run(sample, cache)
        comparison = compare_prompts(
            results[results["title_id"].isin(sample_ids)], run_b.results_frame(),
            labels=(enrichment.prompt_version, enrichment.ab_prompt_version),
            source_genres=source, champion_genres=champion, mean_ratings=means,
        )  # fmt: skip
        metadata["prompt_ab"] = dg.MetadataValue.md(
            comparison.as_frame().round(4).to_markdown(index=False)
        )
    else:
        metadata["prompt_ab"] = dg.MetadataValue.md(
            "_The local provider uses no prompt: set TRENDING_LLM_BASE_URL or OPENAI_API_KEY "
            f"to compare prompt {enrichment.prompt_version} with {enrichment.ab_prompt_version}._"
        )
    return dg.MaterializeResult(metadata=metadata)
