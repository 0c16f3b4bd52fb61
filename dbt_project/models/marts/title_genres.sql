with mapped_title_genres as (

    select * from {{ ref('int_title_genres_mapped') }}

),

genres as (

    select * from {{ ref('genres') }}

)

select
    mapped_title_genres.title_id,
    mapped_title_genres.genre_id,
    genres.genre_name
from mapped_title_genres
inner join genres
    on mapped_title_genres.genre_id = genres.genre_id
