-- One row per (listing, source label, canonical genre) with what became of the label:
--   mapped            the label maps to a genre that applies to the title's type
--   not_applicable    it maps to a genre reserved for the other type (genres.applies_to)
--   mapped_to_nothing the vocabulary lists the label with no genre ("International Movies")
--   unmapped          no mapping seed knows the label (see int_unmapped_genre_labels and
--                     quarantine_genre_labels_unmapped); unmapped_reason says why
-- One adjustment: `kids` is a TV-only genre, so kids' labels on a movie become `family`.
with listings as (

    select * from {{ ref('int_listings_matched') }}

),

listing_labels as (

    select
        listings.title_id,
        listings.source,
        listings.source_title_id,
        listings.title_type,
        listings.genre_vocabulary,
        unnest(listings.genres) as source_genre
    from listings

),

genre_maps as (

    select * from {{ ref('int_genre_maps_unioned') }}

),

genres as (

    select * from {{ ref('genres') }}

),

known_vocabularies as (

    select distinct genre_vocabulary from genre_maps

),

labels_with_maps as (

    select
        listing_labels.*,
        genre_maps.source_genre_key is not null as is_known_label,
        case
            when genre_maps.genre_id = 'kids' and listing_labels.title_type = 'movie'
                then 'family'
            else genre_maps.genre_id
        end as genre_id
    from listing_labels
    left join genre_maps
        on listing_labels.genre_vocabulary = genre_maps.genre_vocabulary
        and lower(listing_labels.source_genre) = genre_maps.source_genre_key

)

select
    labels_with_maps.title_id,
    labels_with_maps.source,
    labels_with_maps.source_title_id,
    labels_with_maps.title_type,
    labels_with_maps.genre_vocabulary,
    labels_with_maps.source_genre,
    labels_with_maps.genre_id,
    case
        when not labels_with_maps.is_known_label then 'unmapped'
        when labels_with_maps.genre_id is null then 'mapped_to_nothing'
        when genres.applies_to in ('both', labels_with_maps.title_type) then 'mapped'
        else 'not_applicable'
    end as mapping_status,
    case
        when labels_with_maps.is_known_label then null
        when labels_with_maps.genre_vocabulary is null
            then 'source has no genre vocabulary (not in source_registry)'
        when known_vocabularies.genre_vocabulary is null
            then 'no seed genre_map_' || labels_with_maps.genre_vocabulary
        else 'label not in genre_map_' || labels_with_maps.genre_vocabulary
    end as unmapped_reason
from labels_with_maps
left join genres
    on labels_with_maps.genre_id = genres.genre_id
left join known_vocabularies
    on labels_with_maps.genre_vocabulary = known_vocabularies.genre_vocabulary
