{{ config(severity='warn') }}
-- A warning: a crawled listing names a genre vocabulary (its site file's
-- `genre_vocabulary`) that has no genre_map_<vocabulary> seed. Its labels are not lost:
-- they are unmapped, with that reason, in quarantine_genre_labels_unmapped.
with known_vocabularies as (

    select unnest(
        [{% for vocabulary in genre_vocabularies() %}'{{ vocabulary }}'{% if not loop.last %}, {% endif %}{% endfor %}]::varchar[]
    ) as genre_vocabulary

)

select
    source,
    genre_vocabulary,
    count(*) as listing_count
from {{ ref('int_listings_unioned') }}
where origin = 'crawl'
    and genre_vocabulary is not null
    and genre_vocabulary not in (select genre_vocabulary from known_vocabularies)
group by source, genre_vocabulary
