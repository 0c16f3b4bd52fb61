-- The champion's genre probabilities of every served title (title_predictions asset),
-- most probable first within a title. Empty until a champion model exists.
select
    p.title_id::varchar as title_id,
    p.genre_id::varchar as genre_id,
    coalesce(p.genre_name, p.genre_id)::varchar as genre_name,
    p.probability::double as probability,
    p.predicted::boolean as predicted,
    p.model_name::varchar as model_name,
    p.model_version::varchar as model_version
from {{ source('pipeline', 'title_predictions') }} as p
where p.title_id in (select title_id from {{ ref('titles') }})
order by p.title_id, p.probability desc, p.genre_id
