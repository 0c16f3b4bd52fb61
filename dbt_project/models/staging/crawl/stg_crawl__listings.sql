-- One row per crawled listing: the latest crawl wins, first_crawled_on remembers when
-- the listing was first seen. genre_vocabulary is the site file's (null for zero-config
-- sites and for crawls from before the column existed). Incremental by ingestion: a build
-- reads only the raw rows ingested since its last one (macros/incremental_crawl.sql).
{{ config(
    materialized='incremental',
    unique_key=['source', 'source_title_id'],
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
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

with listings as (

    select * from {{ source('crawl', 'listings') }}
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
    -- the copies already staged for the listings crawled again, as candidates beside them
    union all by name
    select
        staged.source, staged.source_title_id, staged.url, staged.title, staged.year,
        staged.title_type, staged.plot, staged.genres, staged.original_language,
        staged.release_date, staged.genre_vocabulary,
        staged.last_crawled_on as crawl_date,
        staged.first_crawled_on,
        staged.ingested_at
    from {{ this }} as staged
    semi join (select distinct source, source_title_id from cleaned) as seen_again
        on staged.source = seen_again.source
        and staged.source_title_id = seen_again.source_title_id
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
