{#-
    normalize_title(expression): the matching key for entity resolution, built from a
    title that has already been through clean_text() (so entities are decoded).

      "The Moon &amp; Sixpence" / "  MOON & sixpence, The" / "Moon and Sixpence"
          -> "moon and sixpence"

    lower-cased and accents stripped ("Amélie" = "Amelie"); a trailing ", The" / ", A"
    / ", An" (catalogue style) and a leading article are dropped; "&" reads as "and";
    apostrophes vanish ("Schindler's" = "Schindlers"); every other run of punctuation
    or whitespace becomes one space. A title that is only an article ("A") or only
    punctuation keeps what is left; an empty result is null.
-#}
{% macro normalize_title(expression) -%}
{%- set lowered -%}
regexp_replace(strip_accents(lower(trim({{ expression }}))), ',\s*(the|a|an)$', '')
{%- endset -%}
{%- set spaced -%}
trim(regexp_replace(regexp_replace(regexp_replace({{ lowered }}, '&', ' and ', 'g'), '[''’‘`´]', '', 'g'), '[^\p{L}\p{N}]+', ' ', 'g'))
{%- endset -%}
nullif(regexp_replace({{ spaced }}, '^(the|a|an) (.)', '\2'), '')
{%- endmacro %}
