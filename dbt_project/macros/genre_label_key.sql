{#-
    genre_label_key(expression): the key a source genre label is matched on. Lower-cased,
    '&' read as 'and', every run of characters other than letters and digits one space,
    trimmed: "Sci-Fi", "sci fi" and "SCI  FI" are one label, as are "Action & Adventure"
    and "action and adventure". trending_assets/lib/taxonomy.py has the same functions
    in Python (`label_key`, `bare_key`, `label_parts`, `label_heads`, and `label_genres`
    for the whole rule); tests/dbt/test_dbt_build.py holds the two to each other.

    genre_label_bare(key): a key without the words that name a title type (tv, movie,
    film, feature, show, series, programme, and their plurals): "TV Comedies" is read as
    "comedies", "Horror Movies" as "horror". A label no map knows by its key is looked up
    by its bare key (empty when the label is nothing but such words).

    genre_label_parts(expression): a label's parts, split at '/', '&', '+', ',', ';', '|'
    and the word 'and' ("Horror/Comedy", "Crime & Mystery"), empties dropped. A label that
    no genre map knows as a whole is mapped through its parts when every part is known
    (by its key or its bare key).

    genre_label_heads(key): the key's word suffixes, longest first ("zombie horror movie"
    -> "horror movie", "movie"). English genre names put the genre last ("Zombie Horror",
    "Legal Drama", "Spaghetti Western"), so a label known by none of the above takes the
    genres of the longest suffix of its bare key that maps to a genre, and those of the
    words before it when they map to genres too ("Action Thriller").

    genre_label_prefixes(key): the words before each of genre_label_heads' suffixes
    ("zombie horror movie" -> "zombie", "zombie horror").
-#}
{% macro genre_label_key(expression) -%}
trim(regexp_replace(replace(lower({{ expression }}), '&', ' and '), '[^\p{L}\p{N}]+', ' ', 'g'))
{%- endmacro %}

{% macro genre_label_bare(key) -%}
trim(regexp_replace(
    regexp_replace({{ key }}, '\b(?:tv|movies?|films?|features?|shows?|series|programmes?|programs?)\b', ' ', 'g'),
    '\s+', ' ', 'g'))
{%- endmacro %}

{% macro genre_label_parts(expression) -%}
list_filter(
    string_split_regex(lower({{ expression }}), '\s*(?:[/&+,;|]|\band\b)\s*'),
    lambda part: trim(part) <> '')
{%- endmacro %}

{% macro genre_label_heads(key) -%}
list_transform(
    range(2, len(string_split({{ key }}, ' ')) + 1),
    lambda i: array_to_string(string_split({{ key }}, ' ')[i:], ' '))
{%- endmacro %}

{% macro genre_label_prefixes(key) -%}
list_transform(
    range(2, len(string_split({{ key }}, ' ')) + 1),
    lambda i: array_to_string(string_split({{ key }}, ' ')[1:i - 1], ' '))
{%- endmacro %}
