-- Every deduplicated review with the title it is about, through the listing with the
-- same (source, source_title_id). A review that cannot be placed keeps a null title_id
-- and an unresolved_reason; it and a review with no text left after cleaning get a
-- quarantine_reason and go to quarantine_reviews_unresolved, the rest to the reviews mart.
with crawl_reviews as (

    select
        source,
        source_review_id,
        source_title_id,
        author,
        rating,
        review_date,
        review_text,
        ingested_at
    from {{ ref('stg_crawl__reviews') }}

),

dataset_reviews as (

    select
        source,
        source_review_id,
        source_title_id,
        author,
        rating,
        review_date,
        review_text,
        ingested_at
    from {{ ref('stg_datasets__reviews') }}

),

all_reviews as (

    select * from crawl_reviews
    union all
    select * from dataset_reviews

),

-- a (source, source_review_id) present in both tables keeps its latest copy
unique_reviews as (

    select * from all_reviews
    qualify row_number() over (
        partition by source, source_review_id
        order by ingested_at desc
    ) = 1

),

all_listings as (

    select * from {{ ref('int_listings_unioned') }}

),

matched_listings as (

    select * from {{ ref('int_listings_matched') }}

),

listed_sources as (

    select distinct source from all_listings

),

resolved as (

    select
        {{ short_hash(['unique_reviews.source', 'unique_reviews.source_review_id']) }}
            as review_id,
        matched_listings.title_id,
        unique_reviews.source,
        unique_reviews.source_review_id,
        unique_reviews.source_title_id,
        unique_reviews.author,
        unique_reviews.rating,
        unique_reviews.review_date,
        unique_reviews.review_text,
        unique_reviews.ingested_at,
        case
            when matched_listings.title_id is not null then null
            when unique_reviews.source_title_id is null then 'review has no source_title_id'
            when all_listings.source_title_id is not null
                then 'listing is quarantined: ' || all_listings.unresolvable_reason
            when listed_sources.source is null then 'no listings from this source'
            else 'no listing with this source_title_id'
        end as unresolved_reason
    from unique_reviews
    left join matched_listings
        on unique_reviews.source = matched_listings.source
        and unique_reviews.source_title_id = matched_listings.source_title_id
    left join all_listings
        on unique_reviews.source = all_listings.source
        and unique_reviews.source_title_id = all_listings.source_title_id
    left join listed_sources
        on unique_reviews.source = listed_sources.source

)

select
    *,
    coalesce(
        unresolved_reason,
        case when review_text is null then 'empty text after cleaning' end
    ) as quarantine_reason
from resolved
