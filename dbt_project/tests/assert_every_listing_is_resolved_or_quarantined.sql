-- Nothing is dropped silently: every unioned listing has a title_id or sits in
-- quarantine_listings_unresolved.
{{ config(meta={'dagster': {'ref': {'name': 'quarantine_listings_unresolved'}}}) }}
select
    listings.source,
    listings.source_title_id
from {{ ref('int_listings_unioned') }} as listings
left join {{ ref('int_listings_matched') }} as matched
    on listings.source = matched.source
    and listings.source_title_id = matched.source_title_id
left join {{ ref('quarantine_listings_unresolved') }} as quarantined
    on listings.source = quarantined.source
    and listings.source_title_id = quarantined.source_title_id
where (matched.title_id is null) = (quarantined.source_title_id is null)
