-- Canonical genres per title, deduplicated across sources and labels.
with mapped_labels as (

    select * from {{ ref('int_listing_genre_labels_mapped') }}
    where mapping_status = 'mapped'

),

title_genres as (

    select
        title_id,
        genre_id,
        list_sort(list_distinct(list(source))) as sources,
        list_sort(list_distinct(list(source_genre))) as source_genres
    from mapped_labels
    group by title_id, genre_id

)

select * from title_genres
