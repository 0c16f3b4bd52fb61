with resolved_reviews as (

    select * from {{ ref('int_reviews_resolved') }}
    where quarantine_reason is null

)

select
    review_id,
    title_id,
    source,
    author,
    rating,
    review_date,
    review_text as text
from resolved_reviews
