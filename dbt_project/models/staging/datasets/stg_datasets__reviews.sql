-- One row per dataset review: a review loaded more than once keeps its latest load.
with dataset_reviews as (

    select * from {{ source('datasets', 'dataset_reviews') }}

),

cleaned as (

    select
        cast(source as varchar) as source,
        cast(source_review_id as varchar) as source_review_id,
        cast(source_title_id as varchar) as source_title_id,
        cast(dataset as varchar) as dataset,
        {{ clean_text('author') }} as author,
        cast(rating as integer) as rating,
        cast(review_date as date) as review_date,
        {{ clean_text('text') }} as review_text,
        cast(ingested_at as timestamp) as ingested_at
    from dataset_reviews

),

latest_load as (

    select * from cleaned
    qualify row_number() over (
        partition by source, source_review_id
        order by ingested_at desc, dataset
    ) = 1

)

select * from latest_load
