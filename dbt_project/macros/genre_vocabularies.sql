{#-
    The genre vocabularies that have a mapping seed `genre_map_<vocabulary>`. Which
    source speaks which vocabulary is the `source_registry` seed; adding a vocabulary
    means a new seed plus a name here (a test checks the registry names no other).
-#}
{% macro genre_vocabularies() -%}
{{ return(['reelhub', 'filmfolio', 'tmdb', 'netflix', 'hulu', 'disney_plus', 'wiki_plots', 'cmu']) }}
{%- endmacro %}
