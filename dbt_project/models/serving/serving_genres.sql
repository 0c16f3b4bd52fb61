-- Every genre of the taxonomy with its number of served titles (0 included).
select
    g.genre_id::varchar as genre_id,
    g.genre_name::varchar as genre_name,
    count(distinct tg.title_id)::bigint as title_count
from {{ ref('genres') }} as g
left join {{ ref('title_genres') }} as tg
    on tg.genre_id = g.genre_id
    and tg.title_id in (select title_id from {{ ref('titles') }})
group by g.genre_id, g.genre_name
order by g.genre_id
