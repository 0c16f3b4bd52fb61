-- A title only carries genres that its type allows (genres.applies_to): no tv_movie on
-- a series, no kids/news/reality/soap/talk on a movie.
{{ config(meta={'dagster': {'ref': {'name': 'title_genres'}}}) }}
select
    title_genres.title_id,
    title_genres.genre_id,
    titles.title_type,
    genres.applies_to
from {{ ref('title_genres') }} as title_genres
inner join {{ ref('titles') }} as titles
    on title_genres.title_id = titles.title_id
inner join {{ ref('genres') }} as genres
    on title_genres.genre_id = genres.genre_id
where genres.applies_to not in ('both', titles.title_type)
