-- Source labels no mapping seed knows, with how often they occur and why: add them to the
-- vocabulary's genre_map_<vocabulary> seed (with an empty genre_id if they mean nothing),
-- or add the missing seed. Every listing's unmapped label is in
-- quarantine_genre_labels_unmapped.
with unmapped_labels as (

    select * from {{ ref('int_listing_genre_labels_mapped') }}
    where mapping_status = 'unmapped'

),

label_counts as (

    select
        source,
        genre_vocabulary,
        source_genre,
        count(*) as listing_count,
        count(distinct title_id) as title_count,
        min(source_title_id) as example_source_title_id,
        min(unmapped_reason) as reason
    from unmapped_labels
    group by source, genre_vocabulary, source_genre

)

select * from label_counts
