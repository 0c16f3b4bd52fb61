"""LLM enrichment of titles (genres, review summary, vibe score, vibe tags): pure logic.

Providers: ``OpenAIEnricher`` (any OpenAI-compatible endpoint) and ``LocalEnricher`` (no
network). Both take ``EnrichmentInput``s and an optional ``EnrichmentCache`` and return an
``EnrichmentRun`` (per-title ``TitleResult``s + ``RunStats``). No dagster here.
"""

from trending_assets.lib.enrichment.cache import CacheKey, EnrichmentCache
from trending_assets.lib.enrichment.evaluation import (
    PromptComparison,
    compare_prompts,
    evaluate_enrichments,
    genre_sets,
)
from trending_assets.lib.enrichment.local_provider import (
    LOCAL_VERSION,
    LocalConfig,
    LocalEnricher,
    TagExtractor,
)
from trending_assets.lib.enrichment.openai_provider import OpenAIConfig, OpenAIEnricher
from trending_assets.lib.enrichment.prompts import (
    PROMPT_VERSION,
    load_prompt,
    prompt_fingerprint,
    render,
)
from trending_assets.lib.enrichment.rating_model import ReviewRatingModel, title_vibe_score
from trending_assets.lib.enrichment.results import (
    EnrichmentRun,
    RunStats,
    TitleResult,
    quarantine_frame,
    results_frame,
)
from trending_assets.lib.enrichment.schema import (
    SCHEMA_VERSION,
    Enrichment,
    EnrichmentInput,
    enrichment_json_schema,
    inputs_from_frames,
)

__all__ = [
    "LOCAL_VERSION",
    "PROMPT_VERSION",
    "SCHEMA_VERSION",
    "CacheKey",
    "Enrichment",
    "EnrichmentCache",
    "EnrichmentInput",
    "EnrichmentRun",
    "LocalConfig",
    "LocalEnricher",
    "OpenAIConfig",
    "OpenAIEnricher",
    "PromptComparison",
    "ReviewRatingModel",
    "RunStats",
    "TagExtractor",
    "TitleResult",
    "compare_prompts",
    "enrichment_json_schema",
    "evaluate_enrichments",
    "genre_sets",
    "inputs_from_frames",
    "load_prompt",
    "prompt_fingerprint",
    "quarantine_frame",
    "render",
    "results_frame",
    "title_vibe_score",
]
