-- One row per crawled review: a review seen on several crawl days keeps its latest copy.
-- Incremental by ingestion: a build reads only the raw rows ingested since its last one
-- (macros/incremental_crawl.sql).
{{ config(
    materialized='incremental',
    unique_key=['source', 'source_review_id'],
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    post_hook="delete from {{ this }} where staged_by is null",
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

with
{% if incremental -%}
{{ crawl_rows_to_stage(
    source('crawl', 'reviews'), ['source', 'source_review_id'], ['last_crawled_on']
) }},
{%- endif %}

reviews as (

    {% if incremental -%}
    select * from rows_to_stage
    {%- else -%}
    select * from {{ source('crawl', 'reviews') }}
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
    {{ staged_candidates(['source', 'source_review_id'], [
        'source', 'source_review_id', 'source_title_id', 'author', 'rating', 'review_date',
        'review_text', 'ingested_at',
    ]) }}
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
{% if incremental -%}
-- reviews no raw row names any more (only in a day crawled again without them): removed
-- by the post-hook
union all by name
{{ vanished_keys('latest_copy', ['source', 'source_review_id']) }}
{%- endif %}
