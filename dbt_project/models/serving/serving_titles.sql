-- One row per title with what the list endpoints show: listing fields, the genre lists
-- (parallel, sorted by genre name), review stats, the LLM vibe score and the trending
-- rank. Stored sorted by (title, title_id) for the list endpoint.
with genre_lists as (
    select
        title_id,
        list(genre_name order by genre_name, genre_id) as genres,
        list(genre_id order by genre_name, genre_id) as genre_ids
    from {{ ref('title_genres') }}
    group by title_id
)
select
    t.title_id::varchar as title_id,
    t.title::varchar as title,
    t.year::integer as year,
    t.title_type::varchar as title_type,
    t.plot::varchar as plot,
    t.original_language::varchar as original_language,
    t.release_date::date as release_date,
    coalesce(t.sources, [])::varchar[] as sources,
    coalesce(g.genres, [])::varchar[] as genres,
    coalesce(g.genre_ids, [])::varchar[] as genre_ids,
    coalesce(s.review_count, 0)::bigint as review_count,
    coalesce(s.rated_review_count, 0)::bigint as rated_review_count,
    round(s.mean_rating, 2)::double as mean_rating,
    s.first_review_date::date as first_review_date,
    s.last_review_date::date as last_review_date,
    coalesce(s.reviews_last_7d, 0)::bigint as reviews_last_7d,
    coalesce(s.reviews_last_30d, 0)::bigint as reviews_last_30d,
    e.vibe_score::integer as vibe_score,
    ts.rank::integer as trending_rank,
    ts.score::double as trending_score
from {{ ref('titles') }} as t
left join genre_lists as g on g.title_id = t.title_id
left join {{ ref('title_review_stats') }} as s on s.title_id = t.title_id
left join {{ ref('serving_llm_enrichments') }} as e on e.title_id = t.title_id
left join {{ ref('serving_trending_scores') }} as ts on ts.title_id = t.title_id
order by t.title, t.title_id
