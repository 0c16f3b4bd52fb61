-- One row per title_id, each field picked across the title's listings.
--
-- Priority (source_registry.field_priority, lower first): tmdb_api, tmdb_5000,
-- reelhub, filmfolio, netflix, disney_plus, hulu, wiki_plots, cmu, mpst, then unknown sources.
--   title              highest-priority listing (ties: source, source_title_id)
--   plot               longest non-null plot (ties: priority)
--   original_language  highest-priority non-null value
--   release_date       highest-priority non-null value whose year is the title's year
--                      (any non-null one when the title's year is unknown)
--   year, title_type   the resolution key
--   sources            sorted distinct list; first_crawled_on the earliest crawl sighting
--   genre_vocabularies sorted distinct genre vocabularies of the listings that carry
--                      genre labels: which genres the title's labels could express (a
--                      genre none of them can express is unknown, not absent, for it)
with matched_listings as (

    select * from {{ ref('int_listings_matched') }}

),

resolved as (

    select
        title_id,
        first(title order by field_priority, source, source_title_id) as title,
        any_value(match_year) as year,
        any_value(title_type) as title_type,
        first(plot order by length(plot) desc, field_priority, source, source_title_id)
            filter (where plot is not null) as plot,
        first(original_language order by field_priority, source, source_title_id)
            filter (where original_language is not null) as original_language,
        first(release_date order by field_priority, source, source_title_id)
            filter (
                where release_date is not null
                    and (match_year is null or year(release_date) = match_year)
            ) as release_date,
        list_sort(list_distinct(list(source))) as sources,
        count(distinct source) as source_count,
        coalesce(
            list_sort(list_distinct(
                list(genre_vocabulary) filter (
                    where genre_vocabulary is not null and len(genres) > 0
                )
            )),
            cast([] as varchar[])
        ) as genre_vocabularies,
        count(*) as listing_count,
        min(first_crawled_on) as first_crawled_on,
        max(last_seen_on) as last_seen_on
    from matched_listings
    group by title_id

)

select * from resolved
