{#-
    The genre vocabularies: every seed named `genre_map_<vocabulary>` in the dbt graph,
    found when dbt runs (adding a vocabulary is adding its seed file, nothing else).
    Which source speaks which vocabulary is the `source_registry` seed, or for a crawled
    listing its own `genre_vocabulary` (the site file's); crawl sources with neither use
    `generic`. A test checks the registry names no vocabulary without a seed.

    dbt builds the graph only after parsing, so while parsing (`execute` false) both
    macros return an empty list; nothing is run then.
-#}
{% macro genre_vocabularies() -%}
{{ return(genre_map_seeds() | map(attribute='vocabulary') | list) }}
{%- endmacro %}


{#-
    genre_map_seeds(): one dict per `genre_map_<vocabulary>` seed, sorted by vocabulary:
    `vocabulary`, `name` (the seed), `path` (its CSV file, for read_csv()).
-#}
{% macro genre_map_seeds() -%}
{%- set seeds = [] -%}
{%- if execute -%}
    {%- for node in graph.nodes.values()
            | selectattr('resource_type', 'equalto', 'seed')
            | selectattr('package_name', 'equalto', project_name) -%}
        {%- if node.name.startswith('genre_map_') and node.name | length > 10 -%}
            {%- do seeds.append({
                'vocabulary': node.name[10:],
                'name': node.name,
                'path': node.root_path ~ '/' ~ node.original_file_path,
            }) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif -%}
{{ return(seeds | sort(attribute='vocabulary')) }}
{%- endmacro %}
