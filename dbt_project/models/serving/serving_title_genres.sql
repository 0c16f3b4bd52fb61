-- Sorted by genre, so the API's genre filters scan few row groups.
select
    tg.title_id::varchar as title_id,
    tg.genre_id::varchar as genre_id,
    tg.genre_name::varchar as genre_name
from {{ ref('title_genres') }} as tg
where tg.title_id in (select title_id from {{ ref('titles') }})
order by tg.genre_id, tg.title_id
