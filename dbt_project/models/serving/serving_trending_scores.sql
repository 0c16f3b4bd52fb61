-- The trending score of every served title (trending_scores asset), ranked titles first.
select
    ts.title_id::varchar as title_id,
    ts.rank::integer as rank,
    ts.score::double as score,
    ts.recent_reviews::bigint as recent_reviews,
    ts.history_reviews::bigint as history_reviews,
    ts.momentum::double as momentum,
    ts.relative_volume::double as relative_volume,
    ts.vibe::double as vibe,
    ts.as_of::date as as_of
from {{ source('pipeline', 'trending_scores') }} as ts
where ts.title_id in (select title_id from {{ ref('titles') }})
order by ts.rank nulls last, ts.title_id
