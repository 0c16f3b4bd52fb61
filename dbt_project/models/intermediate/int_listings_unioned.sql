-- Every listing source in one shape, with its registry entry (genre vocabulary, field
-- priority), the entity-resolution key parts and, for unusable rows, why.
--
-- genre_vocabulary: for a crawled listing its own (the site file's), else its source's
-- in source_registry, else `generic` (a zero-config site); for datasets and the API the
-- source's in source_registry, and `generic` for a source the registry does not know (a
-- catalogue a user brings: amazon_prime_titles.csv). A registered source without one
-- (aclimdb: reviews only) has none.
with crawl_listings as (

    select
        source,
        source_title_id,
        'crawl' as origin,
        url,
        title,
        year,
        title_type,
        plot,
        genres,
        original_language,
        release_date,
        first_crawled_on,
        last_crawled_on as last_seen_on,
        genre_vocabulary
    from {{ ref('stg_crawl__listings') }}

),

dataset_listings as (

    select
        source,
        source_title_id,
        'dataset' as origin,
        url,
        title,
        year,
        title_type,
        plot,
        genres,
        original_language,
        release_date,
        cast(null as date) as first_crawled_on,
        cast(ingested_at as date) as last_seen_on,
        cast(null as varchar) as genre_vocabulary
    from {{ ref('stg_datasets__listings') }}

),

api_releases as (

    select
        source,
        source_title_id,
        'api' as origin,
        url,
        title,
        year,
        title_type,
        plot,
        genres,
        original_language,
        release_date,
        cast(null as date) as first_crawled_on,
        last_fetched_on as last_seen_on,
        cast(null as varchar) as genre_vocabulary
    from {{ ref('stg_tmdb_api__releases') }}

),

-- the tables hold disjoint sources; should one (source, source_title_id) still turn up
-- in two of them, the most recently seen copy is kept
all_listings as (

    select * from crawl_listings
    union all
    select * from dataset_listings
    union all
    select * from api_releases
    qualify row_number() over (
        partition by source, source_title_id
        order by last_seen_on desc, origin
    ) = 1

),

source_registry as (

    select * from {{ ref('source_registry') }}

),

keyed as (

    select
        all_listings.source,
        all_listings.source_title_id,
        all_listings.origin,
        all_listings.url,
        all_listings.title,
        {{ normalize_title('all_listings.title') }} as normalized_title,
        cast(coalesce(all_listings.year, year(all_listings.release_date)) as integer) as year,
        all_listings.title_type,
        all_listings.plot,
        all_listings.genres,
        all_listings.original_language,
        all_listings.release_date,
        all_listings.first_crawled_on,
        all_listings.last_seen_on,
        case
            when all_listings.origin = 'crawl'
                then coalesce(
                    all_listings.genre_vocabulary, source_registry.genre_vocabulary, 'generic'
                )
            when source_registry.source is null then 'generic'
            else source_registry.genre_vocabulary
        end as genre_vocabulary,
        -- sources missing from the registry rank after every known one
        coalesce(source_registry.field_priority, 1000) as field_priority
    from all_listings
    left join source_registry
        on all_listings.source = source_registry.source

)

select
    *,
    case
        when normalized_title is null then 'empty title after cleaning'
        when title_type is null or title_type not in ('movie', 'tv')
            then 'title_type is not movie or tv'
    end as unresolvable_reason
from keyed
