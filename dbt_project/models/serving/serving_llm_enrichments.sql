-- The LLM enrichment of every served title that has one (llm_enrichments asset).
select
    e.title_id::varchar as title_id,
    e.provider::varchar as provider,
    e.model::varchar as model,
    e.prompt_version::varchar as prompt_version,
    e.schema_version::varchar as schema_version,
    e.genres::varchar[] as genres,
    e.summary::varchar as summary,
    e.vibe_score::integer as vibe_score,
    e.vibe_tags::varchar[] as vibe_tags
from {{ source('pipeline', 'llm_enrichments') }} as e
where e.title_id in (select title_id from {{ ref('titles') }})
order by e.title_id
