-- Genre labels of resolved listings that no mapping seed knows, one row per (listing,
-- label), with the reason: the label is not in its vocabulary's seed, the vocabulary has
-- no seed, or the source has no vocabulary. The listing itself is published; only the
-- label waits here, never silently dropped (int_unmapped_genre_labels counts them).
with labels as (

    select * from {{ ref('int_listing_genre_labels_mapped') }}
    where mapping_status = 'unmapped'

)

select
    source,
    source_title_id,
    title_id,
    genre_vocabulary,
    source_genre,
    unmapped_reason as reason
from labels
