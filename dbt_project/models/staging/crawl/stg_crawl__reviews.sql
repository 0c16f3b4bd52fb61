-- One row per crawled review: a review seen on several crawl days keeps its latest copy.
-- Incremental by ingestion: a build reads only the raw rows ingested since its last one
-- (macros/incremental_crawl.sql).
{{ config(
    materialized='incremental',
    unique_key=['source', 'source_review_id'],
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
) }}

{%- set cleaning -%}
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
{%- endset -%}
{%- set version = crawl_staging_version(cleaning ~ 'latest copy by (crawl_date, ingested_at)') -%}
{%- set incremental = crawl_staging_is_current(version) %}

with reviews as (

    select * from {{ source('crawl', 'reviews') }}
    {% if incremental -%}
    where {{ crawl_rows_since() }}
    {%- endif %}

),

cleaned as (

    {{ cleaning }}

),

candidates as (

    select * from cleaned
    {% if incremental -%}
    -- the copies already staged for the reviews crawled again, as candidates beside them
    union all by name
    select
        staged.source, staged.source_review_id, staged.source_title_id, staged.author,
        staged.rating, staged.review_date, staged.review_text,
        staged.last_crawled_on as crawl_date,
        staged.ingested_at
    from {{ this }} as staged
    semi join (select distinct source, source_review_id from cleaned) as seen_again
        on staged.source = seen_again.source
        and staged.source_review_id = seen_again.source_review_id
    {%- endif %}

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
        ingested_at,
        '{{ version }}' as staged_by
    from candidates
    qualify row_number() over (
        partition by source, source_review_id
        order by crawl_date desc, ingested_at desc
    ) = 1

)

select * from latest_copy
