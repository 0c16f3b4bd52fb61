-- One row per TMDb release: the latest fetch wins.
with api_releases as (

    select * from {{ source('tmdb_api', 'api_releases') }}

),

cleaned as (

    select
        cast(source as varchar) as source,
        -- TMDb numbers movies and TV series in separate id spaces (movie 603 and tv 603
        -- are different titles): a bare id is qualified with its type, as in TMDb's URLs
        case
            when contains(cast(source_title_id as varchar), '/')
                then cast(source_title_id as varchar)
            else coalesce(lower(trim(title_type)), 'unknown') || '/' || cast(source_title_id as varchar)
        end as source_title_id,
        nullif(trim(url), '') as url,
        {{ clean_text('title') }} as title,
        cast(year as integer) as year,
        lower(trim(title_type)) as title_type,
        {{ clean_text('plot') }} as plot,
        {{ clean_labels('genres') }} as genres,
        nullif(lower(trim(original_language)), '') as original_language,
        cast(release_date as date) as release_date,
        cast(fetched_on as date) as fetched_on,
        cast(ingested_at as timestamp) as ingested_at
    from api_releases

),

latest_fetch as (

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
        min(fetched_on) over release_fetches as first_fetched_on,
        fetched_on as last_fetched_on,
        ingested_at
    from cleaned
    window release_fetches as (partition by source, source_title_id)
    qualify row_number() over (
        partition by source, source_title_id
        order by fetched_on desc, ingested_at desc
    ) = 1

)

select * from latest_fetch
