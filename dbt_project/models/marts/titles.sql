with resolved_titles as (

    select * from {{ ref('int_titles_resolved') }}

)

select
    title_id,
    title,
    year,
    title_type,
    plot,
    original_language,
    release_date,
    sources,
    source_count,
    genre_vocabularies,
    first_crawled_on
from resolved_titles
