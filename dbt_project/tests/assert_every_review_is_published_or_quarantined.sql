-- Nothing is dropped silently: every deduplicated staged review is either in the
-- reviews mart or in quarantine_reviews_unresolved, and never in both.
{{ config(meta={'dagster': {'ref': {'name': 'reviews'}}}) }}
with staged_reviews as (

    select {{ short_hash(['source', 'source_review_id']) }} as review_id
    from {{ ref('stg_crawl__reviews') }}
    union all
    select {{ short_hash(['source', 'source_review_id']) }} as review_id
    from {{ ref('stg_datasets__reviews') }}

),

accounted_reviews as (

    select review_id from {{ ref('reviews') }}
    union all
    select review_id from {{ ref('quarantine_reviews_unresolved') }}

),

outcomes as (

    select
        staged_reviews.review_id,
        count(accounted_reviews.review_id) as outcome_count
    from staged_reviews
    left join accounted_reviews
        on staged_reviews.review_id = accounted_reviews.review_id
    group by staged_reviews.review_id

)

select * from outcomes
where outcome_count != 1
