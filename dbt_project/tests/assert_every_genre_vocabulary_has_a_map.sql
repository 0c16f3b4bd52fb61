-- Every vocabulary named in source_registry, and `generic` (the vocabulary of crawl
-- sources that name none), has a genre_map_<vocabulary> seed (found in the dbt graph by
-- genre_vocabularies()), so no source's labels are lost for want of a seed.
with known_vocabularies as (

    select unnest(
        [{% for vocabulary in genre_vocabularies() %}'{{ vocabulary }}'{% if not loop.last %}, {% endif %}{% endfor %}]::varchar[]
    ) as genre_vocabulary

),

required_vocabularies as (

    select source, genre_vocabulary
    from {{ ref('source_registry') }}
    where genre_vocabulary is not null
    union all
    select '(crawl sources without a vocabulary)' as source, 'generic' as genre_vocabulary

)

select
    required_vocabularies.source,
    required_vocabularies.genre_vocabulary
from required_vocabularies
where required_vocabularies.genre_vocabulary not in (
    select genre_vocabulary from known_vocabularies
)
