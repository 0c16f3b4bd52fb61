-- Reviews that cannot be published (title not resolved, or no text left after
-- cleaning), with the reason; never silently dropped.
with resolved_reviews as (

    select * from {{ ref('int_reviews_resolved') }}

)

select
    review_id,
    title_id,
    source,
    source_review_id,
    source_title_id,
    author,
    rating,
    review_date,
    review_text,
    quarantine_reason as reason,
    ingested_at
from resolved_reviews
where quarantine_reason is not null
