-- Reviews whose title could not be resolved, with the reason; never silently dropped.
with resolved_reviews as (

    select * from {{ ref('int_reviews_resolved') }}

)

select
    review_id,
    source,
    source_review_id,
    source_title_id,
    author,
    rating,
    review_date,
    review_text,
    unresolved_reason as reason,
    ingested_at
from resolved_reviews
where title_id is null
