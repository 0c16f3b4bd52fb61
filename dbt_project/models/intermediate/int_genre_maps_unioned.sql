-- Every genre_map_<vocabulary> seed in one shape. Labels are matched case-insensitively
-- (source_genre_key); a label listed with no genre_id is known to map to nothing.
with
{% for vocabulary in genre_vocabularies() %}
genre_map_{{ vocabulary }} as (

    select
        '{{ vocabulary }}' as genre_vocabulary,
        source_genre,
        genre_id
    from {{ ref('genre_map_' ~ vocabulary) }}

),
{% endfor %}

genre_maps as (

    {% for vocabulary in genre_vocabularies() %}
    select * from genre_map_{{ vocabulary }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select
    genre_vocabulary,
    source_genre,
    lower(trim(source_genre)) as source_genre_key,
    nullif(trim(genre_id), '') as genre_id
from genre_maps
