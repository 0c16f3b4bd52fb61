-- One row per crawled review: a review seen on several crawl days keeps its latest copy.
with reviews as (

    select * from {{ source('crawl', 'reviews') }}

),

cleaned as (

    select
        cast(source as varchar) as source,
        cast(source_review_id as varchar) as source_review_id,
        cast(source_title_id as varchar) as source_title_id,
        {{ clean_text('author') }} as author,
        cast(rating as integer) as rating,
        cast(review_date as date) as review_date,
        {{ clean_text('text') }} as review_text,
        cast(crawl_date as date) as crawl_date,
        cast(ingested_at as timestamp) as ingested_at
    from reviews

),

latest_copy as (

    select
        source,
        source_review_id,
        source_title_id,
        author,
        rating,
        review_date,
        review_text,
        crawl_date as last_crawled_on,
        ingested_at
    from cleaned
    qualify row_number() over (
        partition by source, source_review_id
        order by crawl_date desc, ingested_at desc
    ) = 1

)

select * from latest_copy
