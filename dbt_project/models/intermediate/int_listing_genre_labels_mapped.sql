-- One row per (listing, source label, canonical genre) with what became of the label:
--   mapped            the label maps to a genre that applies to the title's type
--   not_applicable    it maps to a genre reserved for the other type (genres.applies_to)
--   mapped_to_nothing the vocabulary lists the label with no genre ("International Movies")
--   unmapped          no mapping seed knows the label (see int_unmapped_genre_labels and
--                     quarantine_genre_labels_unmapped); unmapped_reason says why
-- Labels match on genre_label_key() (case, '&' / 'and', punctuation and spacing do not
-- count), else on that key without words naming a title type ("TV Comedies" as
-- "comedies"), else through its parts when every part is known ("Horror/Comedy"), else by
-- its longest known word suffix ("Zombie Horror" as "horror"); matched_by says which. One adjustment: `kids` is a TV-only genre, so kids' labels on
-- a movie become `family`.
with listings as (

    select * from {{ ref('int_listings_matched') }}

),

-- label_row numbers the (listing, label) rows in a fixed order: the CTE is read several
-- times below, and each read must number the same row the same way.
listing_labels as materialized (

    select
        row_number() over (
            order by listings.source, listings.source_title_id, source_genre
        ) as label_row,
        listings.title_id,
        listings.source,
        listings.source_title_id,
        listings.title_type,
        listings.genre_vocabulary,
        source_genre,
        {{ genre_label_key('source_genre') }} as label_key,
        {{ genre_label_bare(genre_label_key('source_genre')) }} as bare_key,
        {{ genre_label_parts('source_genre') }} as label_parts
    from listings, unnest(listings.genres) as labels(source_genre)

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

known_keys as (

    select distinct genre_vocabulary, source_genre_key from genre_maps

),

-- By the label's key, else by its bare key ("TV Comedies" as "comedies").
whole_matches as (

    select
        listing_labels.label_row,
        coalesce(by_key.source_genre_key, by_bare.source_genre_key) as match_key,
        case when by_key.source_genre_key is not null then 'label' else 'bare_label' end
            as matched_by
    from listing_labels
    left join known_keys as by_key
        on listing_labels.genre_vocabulary = by_key.genre_vocabulary
        and listing_labels.label_key = by_key.source_genre_key
    left join known_keys as by_bare
        on listing_labels.genre_vocabulary = by_bare.genre_vocabulary
        and listing_labels.bare_key = by_bare.source_genre_key
    where coalesce(by_key.source_genre_key, by_bare.source_genre_key) is not null

),

-- A label no map knows as a whole, made of labels it knows: "Horror/Comedy", "Crime &
-- Mystery". It maps through its parts only when every part is known.
label_parts as (

    select
        label_row,
        genre_vocabulary,
        {{ genre_label_key('part') }} as part_key,
        {{ genre_label_bare(genre_label_key('part')) }} as part_bare_key
    from listing_labels, unnest(listing_labels.label_parts) as parts(part)
    where len(listing_labels.label_parts) > 1
        and label_row not in (select label_row from whole_matches)

),

part_matches as (

    select
        label_parts.label_row,
        coalesce(by_key.source_genre_key, by_bare.source_genre_key) as match_key
    from label_parts
    left join known_keys as by_key
        on label_parts.genre_vocabulary = by_key.genre_vocabulary
        and label_parts.part_key = by_key.source_genre_key
    left join known_keys as by_bare
        on label_parts.genre_vocabulary = by_bare.genre_vocabulary
        and label_parts.part_bare_key = by_bare.source_genre_key
    qualify bool_and(coalesce(by_key.source_genre_key, by_bare.source_genre_key) is not null)
        over (partition by label_parts.label_row)

),

-- Last, for a label of one part, the longest word suffix of its bare key that maps to a
-- genre: "Zombie Horror" as "horror", "Legal Drama Series" as "drama". (A combined label
-- with a part unknown stays unknown rather than half mapped.)
head_candidates as (

    select
        label_row,
        genre_vocabulary,
        unnest(candidates) as candidate,
        unnest(prefixes) as prefix,
        generate_subscripts(candidates, 1) as position
    from (
        select
            label_row,
            genre_vocabulary,
            {{ genre_label_heads('bare_key') }} as candidates,
            {{ genre_label_prefixes('bare_key') }} as prefixes
        from listing_labels
        where len(label_parts) <= 1
            and label_row not in (select label_row from whole_matches)
    )

),

head as (

    select head_candidates.*
    from head_candidates
    where exists (
        select 1 from genre_maps
        where genre_maps.genre_vocabulary = head_candidates.genre_vocabulary
            and genre_maps.source_genre_key = head_candidates.candidate
            and genre_maps.genre_id is not null
    )
    qualify row_number() over (
        partition by head_candidates.label_row order by head_candidates.position
    ) = 1

),

-- The words before the genre, when they name genres too, add theirs: "Action Thriller",
-- "Sci-Fi Horror", "War Drama" (as the seeds map "Crime Drama" and "Action Comedy").
head_matches as (

    select label_row, candidate as match_key from head
    union all
    select head.label_row, head.prefix as match_key
    from head
    where exists (
        select 1 from genre_maps
        where genre_maps.genre_vocabulary = head.genre_vocabulary
            and genre_maps.source_genre_key = head.prefix
            and genre_maps.genre_id is not null
    )

),

matches as (

    select label_row, match_key, matched_by from whole_matches
    union all
    select label_row, match_key, 'parts' as matched_by from part_matches
    union all
    select label_row, match_key, 'head' as matched_by from head_matches

),

labels_with_maps as (

    select
        listing_labels.*,
        matches.matched_by,
        matches.label_row is not null as is_known_label,
        case
            when genre_maps.genre_id = 'kids' and listing_labels.title_type = 'movie'
                then 'family'
            else genre_maps.genre_id
        end as genre_id
    from listing_labels
    left join matches
        on listing_labels.label_row = matches.label_row
    left join genre_maps
        on listing_labels.genre_vocabulary = genre_maps.genre_vocabulary
        and matches.match_key = genre_maps.source_genre_key

)

select distinct
    labels_with_maps.title_id,
    labels_with_maps.source,
    labels_with_maps.source_title_id,
    labels_with_maps.title_type,
    labels_with_maps.genre_vocabulary,
    labels_with_maps.source_genre,
    labels_with_maps.genre_id,
    labels_with_maps.matched_by,
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
