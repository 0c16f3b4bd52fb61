{#-
    short_hash(expressions): a stable 16-hex-character id (the first 64 bits of an MD5)
    of the values joined with '|', nulls as empty strings. Stable across runs and
    machines, so ids survive rebuilds; the key columns must be normalised first.
-#}
{% macro short_hash(expressions) -%}
left(md5(
    {%- for expression in expressions %}
    coalesce(cast({{ expression }} as varchar), ''){% if not loop.last %} || '|' ||{% endif %}
    {%- endfor %}
), 16)
{%- endmacro %}
