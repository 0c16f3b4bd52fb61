-- One row per crawled listing: the latest crawl wins, first_crawled_on remembers when
-- the listing was first seen. genre_vocabulary is the site file's (null for zero-config
-- sites and for crawls from before the column existed).
with listings as (

    select * from {{ source('crawl', 'listings') }}

),

cleaned as (

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
        cast(ingested_at as timestamp) as ingested_at
    from listings

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
        min(crawl_date) over listing_crawls as first_crawled_on,
        crawl_date as last_crawled_on,
        ingested_at
    from cleaned
    window listing_crawls as (partition by source, source_title_id)
    qualify row_number() over (
        partition by source, source_title_id
        order by crawl_date desc, ingested_at desc
    ) = 1

)

select * from latest_crawl
