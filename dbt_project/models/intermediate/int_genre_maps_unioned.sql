-- Every genre_map_<vocabulary> seed in one shape, found in the dbt graph by
-- genre_map_seeds(): a new vocabulary is one new seed file. Labels are matched on
-- source_genre_key (genre_label_key(): case, '&' / 'and', punctuation and spacing do not
-- count); a label listed with no genre_id is known to map to nothing.
--
-- The seeds' CSV files are read here directly: dbt orders a model only after the nodes it
-- names while parsing, and these seeds are found when it runs. So this model never reads
-- a seed table that is not built yet; the seeds' own tests still check each file, and
-- the tests below check the union.
{%- set seeds = genre_map_seeds() %}
with genre_maps as (
{% for seed in seeds %}
    select
        '{{ seed.vocabulary }}' as genre_vocabulary,
        cast(source_genre as varchar) as source_genre,
        cast(genre_id as varchar) as genre_id
    from read_csv('{{ seed.path | replace("'", "''") }}', header = true, all_varchar = true)
    {% if not loop.last %}union all{% endif %}
{%- else %}
    select
        cast(null as varchar) as genre_vocabulary,
        cast(null as varchar) as source_genre,
        cast(null as varchar) as genre_id
    where false
{%- endfor %}

),

keyed as (

    select
        genre_vocabulary,
        source_genre,
        {{ genre_label_key('source_genre') }} as source_genre_key,
        nullif(trim(genre_id), '') as genre_id
    from genre_maps

)

-- Spellings of one key ("Action & Adventure", "Action and Adventure") are one label; a
-- key that maps to a genre under one spelling does not also map to nothing under another.
select
    genre_vocabulary,
    min(source_genre) as source_genre,
    source_genre_key,
    genre_id
from keyed
group by genre_vocabulary, source_genre_key, genre_id
qualify genre_id is not null
    or count(genre_id) over (partition by genre_vocabulary, source_genre_key) = 0
