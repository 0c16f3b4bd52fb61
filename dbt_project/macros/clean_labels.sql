{#-
    clean_labels(expression): a varchar[] of source labels, each through clean_text(),
    empties dropped, duplicates removed (first occurrence order is not kept: sorted).
-#}
{% macro clean_labels(expression) -%}
list_sort(list_distinct(list_filter(
    list_transform({{ expression }}, lambda label: {{ clean_text('label') }}),
    lambda label: label is not null)))
{%- endmacro %}
