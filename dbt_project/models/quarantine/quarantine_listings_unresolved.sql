-- Listings that cannot become a title (nothing left of the title after cleaning, or a
-- title_type other than movie/tv), with the reason; never silently dropped.
with listings as (

    select * from {{ ref('int_listings_unioned') }}

)

select
    source,
    source_title_id,
    origin,
    url,
    title,
    year,
    title_type,
    unresolvable_reason as reason,
    last_seen_on
from listings
where unresolvable_reason is not null
