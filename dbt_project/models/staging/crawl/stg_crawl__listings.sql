-- One row per crawled listing: the latest crawl wins, first_crawled_on remembers when
-- the listing was first seen. genre_vocabulary is the site file's (null for zero-config
-- sites and for crawls from before the column existed). Incremental by ingestion: a build
-- reads only the raw rows ingested since its last one (macros/incremental_crawl.sql).
{{ config(
    materialized='incremental',
    unique_key=['source', 'source_title_id'],
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
    post_hook="delete from {{ this }} where staged_by is null",
) }}

{%- set cleaning -%}
    select
        cast(source as varchar) as source,
        cast(source_title_id as varchar) as source_title_id,
        nullif(trim(url), '') as url,
        {{ clean_text('title') }} as title,
        cast(year as integer) as year,
        lower(trim(title_type)) as title_type,
        {{ clean_text('plot') }} as plot,
        {{ clean_labels('genres') }} as genres,
        nullif(lower(trim(original_language)), '') as original_language,
        cast(release_date as date) as release_date,
        nullif(lower(trim(cast(genre_vocabulary as varchar))), '') as genre_vocabulary,
        cast(crawl_date as date) as crawl_date,
        cast(crawl_date as date) as first_crawled_on,
        cast(ingested_at as timestamp) as ingested_at
    from listings
{%- endset -%}
{%- set version = crawl_staging_version(cleaning ~ 'latest crawl by (crawl_date, ingested_at); first sighting by min') -%}
{%- set incremental = crawl_staging_is_current(version) %}

with
{% if incremental -%}
{{ crawl_rows_to_stage(
    source('crawl', 'listings'),
    ['source', 'source_title_id'],
    ['last_crawled_on', 'first_crawled_on'],
) }},
{%- endif %}

listings as (

    {% if incremental -%}
    select * from rows_to_stage
    {%- else -%}
    select * from {{ source('crawl', 'listings') }}
    {%- endif %}

),

cleaned as (

    {{ cleaning }}

),

candidates as (

    select * from cleaned
    {% if incremental -%}
    -- the copies already staged for the listings crawled again, as candidates beside them
    union all by name
    {{ staged_candidates(['source', 'source_title_id'], [
        'source', 'source_title_id', 'url', 'title', 'year', 'title_type', 'plot', 'genres',
        'original_language', 'release_date', 'genre_vocabulary', 'first_crawled_on',
        'ingested_at',
    ]) }}
    {%- endif %}

),

latest_crawl as (

    select
        source,
        source_title_id,
        url,
        title,
        year,
        title_type,
        plot,
        genres,
        original_language,
        release_date,
        genre_vocabulary,
        min(first_crawled_on) over listing_crawls as first_crawled_on,
        crawl_date as last_crawled_on,
        ingested_at,
        '{{ version }}' as staged_by
    from candidates
    window listing_crawls as (partition by source, source_title_id)
    qualify row_number() over (
        partition by source, source_title_id
        order by crawl_date desc, ingested_at desc
    ) = 1

)

select * from latest_crawl
{% if incremental -%}
-- listings no raw row names any more (only in a day crawled again without them): removed
-- by the post-hook
union all by name
{{ vanished_keys('latest_crawl', ['source', 'source_title_id']) }}
{%- endif %}
