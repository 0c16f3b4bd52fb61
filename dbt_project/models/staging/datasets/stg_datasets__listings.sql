-- One row per dataset title: a title loaded more than once keeps its latest load.
with dataset_listings as (

    select * from {{ source('datasets', 'dataset_listings') }}

),

cleaned as (

    select
        cast(source as varchar) as source,
        cast(source_title_id as varchar) as source_title_id,
        cast(dataset as varchar) as dataset,
        nullif(trim(url), '') as url,
        {{ clean_text('title') }} as title,
        cast(year as integer) as year,
        lower(trim(title_type)) as title_type,
        {{ clean_text('plot') }} as plot,
        {{ clean_labels('genres') }} as genres,
        nullif(lower(trim(original_language)), '') as original_language,
        cast(release_date as date) as release_date,
        cast(ingested_at as timestamp) as ingested_at
    from dataset_listings

),

latest_load as (

    select * from cleaned
    qualify row_number() over (
        partition by source, source_title_id
        order by ingested_at desc, dataset
    ) = 1

)

select * from latest_load
