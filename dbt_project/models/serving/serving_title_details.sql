-- One JSON document per title, shaped like the API's GET /titles/{id} answer, assembled
-- from the other serving models, so the API answers with one point lookup.
-- provenance.snapshot_version is filled in by the API (the snapshot's version is named
-- after its content hash, so it is not known while the tables are built).
with predictions as (
    select
        title_id,
        any_value(model_name) as model,
        any_value(model_version) as model_version,
        coalesce(
            list(genre_name order by probability desc, genre_id) filter (where predicted), []
        ) as predicted,
        list(
            {'genre_id': genre_id, 'genre': genre_name, 'probability': probability,
             'predicted': predicted}
            order by probability desc, genre_id
        ) as probabilities
    from {{ ref('serving_title_predictions') }}
    group by title_id
)
select
    t.title_id::varchar as title_id,
    to_json({
        'id': t.title_id, 'title': t.title, 'year': t.year, 'type': t.title_type,
        'plot': t.plot, 'original_language': t.original_language,
        'release_date': t.release_date, 'sources': t.sources, 'genres': t.genres,
        'genre_ids': t.genre_ids,
        'review_stats': {
            'review_count': t.review_count, 'rated_review_count': t.rated_review_count,
            'mean_rating': t.mean_rating, 'first_review_date': t.first_review_date,
            'last_review_date': t.last_review_date, 'reviews_last_7d': t.reviews_last_7d,
            'reviews_last_30d': t.reviews_last_30d
        },
        'model_genres': case when p.title_id is not null then {
            'model': p.model, 'model_version': p.model_version, 'predicted': p.predicted,
            'probabilities': p.probabilities
        } end,
        'enrichment': case when e.title_id is not null then {
            'provider': e.provider, 'model': e.model, 'prompt_version': e.prompt_version,
            'schema_version': e.schema_version, 'genres': e.genres, 'summary': e.summary,
            'vibe_score': e.vibe_score, 'vibe_tags': e.vibe_tags
        } end,
        'trending': case when ts.title_id is not null then {
            'rank': ts.rank, 'score': ts.score, 'recent_reviews': ts.recent_reviews,
            'momentum': ts.momentum, 'as_of': ts.as_of
        } end,
        'provenance': {
            'snapshot_version': '', 'model_version': p.model_version,
            'prompt_version': e.prompt_version
        }
    })::varchar as body
from {{ ref('serving_titles') }} as t
left join predictions as p on p.title_id = t.title_id
left join {{ ref('serving_llm_enrichments') }} as e on e.title_id = t.title_id
left join {{ ref('serving_trending_scores') }} as ts on ts.title_id = t.title_id
order by t.title_id
