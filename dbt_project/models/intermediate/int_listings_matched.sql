-- Entity resolution: each usable listing gets the title_id of the title it describes.
--
-- The key is (normalized_title, year, title_type), year being the listing's year or
-- else its release date's. A listing without any year borrows the year of the other
-- listings with the same normalised title and type when they agree on exactly one
-- year; otherwise it stays a title of its own (year unknown).
-- Known limit: sources that disagree on the year (festival vs. release year) or on
-- the title itself (translations, subtitles) are not merged.
with listings as (

    select * from {{ ref('int_listings_unioned') }}
    where unresolvable_reason is null

),

known_years as (

    select
        normalized_title,
        title_type,
        count(distinct year) as distinct_year_count,
        min(year) as only_year
    from listings
    where year is not null
    group by normalized_title, title_type

),

keyed as (

    select
        listings.*,
        coalesce(
            listings.year,
            case when known_years.distinct_year_count = 1 then known_years.only_year end
        ) as match_year
    from listings
    left join known_years
        on listings.normalized_title = known_years.normalized_title
        and listings.title_type = known_years.title_type

)

select
    {{ short_hash(['normalized_title', 'match_year', 'title_type']) }} as title_id,
    *
from keyed
