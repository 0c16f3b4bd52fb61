-- Every vocabulary named in source_registry has a genre_map_<vocabulary> seed
-- (listed in the genre_vocabularies() macro), so no source's labels are silently lost.
select
    source,
    genre_vocabulary
from {{ ref('source_registry') }}
where genre_vocabulary is not null
    and genre_vocabulary not in (
        {%- for vocabulary in genre_vocabularies() %}
        '{{ vocabulary }}'{% if not loop.last %},{% endif %}
        {%- endfor %}
    )
