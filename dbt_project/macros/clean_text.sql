{#-
    clean_text(expression): an HTML-ish source string as plain, normalised text.

    Steps, in order:
      1. comments, <script>/<style> blocks dropped; block-level tags (p, div, br, li,
         headings, table cells ...) become a space, every other tag is removed, so
         `<i>Foo</i>'s` stays "Foo's" while `one<br />two` becomes "one two";
      2. numeric entities decoded (`&#39;`, `&#039;`, `&#x27;`, `&#8217;` ...): any
         code point from 9 to U+10FFFF except surrogates; anything else is left as is;
      3. the named entities listed in html_named_entities() decoded, `&amp;` last, so
         `&amp;lt;` becomes the text "&lt;" and not "<" (one level of escaping, as a
         browser would);
      4. step 1 again on the decoded text: markup that arrived entity-encoded
         (`&lt;img src=x onerror=...&gt;`) is stripped like any other tag, never served
         as live markup; then a `<` that could still open a tag (followed by a letter,
         `/`, `!` or `?`: an unclosed `&lt;img src=x onerror=...`) gets a space after it,
         so it reads as text and no HTML parser sees a tag ("I <3 this", "a < b" keep
         their `<` as it is). This matches scrapers/pipelines.py clean_text;
      5. whitespace (including no-break and other Unicode spaces) collapsed to one space,
         NFC normalisation, trimmed, empty string -> null.

    The result is plain text without markup, safe even for a client that inserts it
    into HTML unescaped.

    Limits (DuckDB has no HTML parser or unescape function): only the named entities
    in the list are known (an unknown one such as `&frac12;` stays verbatim); a `<`
    followed by a letter, `/` or `!` is taken as the start of a tag, so text like
    "a <b and c> d" loses "<b and c>", and so does "a &lt;b and c&gt; d"; entities are
    decoded one level (`&amp;lt;p&amp;gt;` becomes the text "&lt;p&gt;", which is inert).
-#}
{% macro clean_text(expression) -%}
{%- set stripped = _strip_html_tags('cast(' ~ expression ~ ' as varchar)') -%}
{%- set numeric_decoded -%}
list_reduce(
    list_distinct(regexp_extract_all({{ stripped }}, '&#([0-9]{1,7}|[xX][0-9a-fA-F]{1,6});')),
    lambda decoded, entity: replace(decoded, entity, {{ _html_numeric_entity_char('entity') }}),
    {{ stripped }})
{%- endset -%}
{%- set decoded -%}
list_reduce(
    {{ _html_named_entity_pairs() }},
    lambda decoded, pair: replace(decoded, pair[1], pair[2]),
    {{ numeric_decoded }})
{%- endset -%}
nullif(
    trim(
        nfc_normalize(
            regexp_replace(
                regexp_replace(
                    {{ _strip_html_tags(decoded) }},
                    '<([a-zA-Z/!?])', '< \1', 'g'),
                '[\s\p{Z}]+', ' ', 'g'))),
    '')
{%- endmacro %}


{#- Step 1: comments and script/style blocks dropped, block tags a space, other tags gone. -#}
{% macro _strip_html_tags(expression) -%}
regexp_replace(
    regexp_replace(
        regexp_replace(
            regexp_replace(
                {{ expression }},
                '(?s)<!--.*?-->', '', 'g'),
            '(?is)<(script|style)\b.*?</\s*(script|style)\s*>', ' ', 'g'),
        '</?(p|div|br|hr|li|ul|ol|dl|dt|dd|tr|td|th|table|thead|tbody|h[1-6]|blockquote|pre|section|article|header|footer|figure|figcaption)\b[^>]*>', ' ', 'gi'),
    '<[a-zA-Z/!][^>]*>', '', 'g')
{%- endmacro %}


{#- The character a numeric entity (`&#39;`, `&#x27;`) stands for, or the entity itself. -#}
{% macro _html_numeric_entity_char(entity) -%}
{%- set code_point -%}
case
    when {{ entity }}[3] in ('x', 'X')
        then try_cast('0x' || {{ entity }}[4:-2] as integer)
    else try_cast({{ entity }}[3:-2] as integer)
end
{%- endset -%}
case
    when ({{ code_point }}) between 9 and 1114111
        and not ({{ code_point }}) between 55296 and 57343
        then chr({{ code_point }})
    else {{ entity }}
end
{%- endmacro %}


{#- Named entities as a DuckDB list of [entity, character] pairs, `&amp;` last. -#}
{% macro _html_named_entity_pairs() -%}
{%- set pairs = [] -%}
{%- for name, char in html_named_entities() -%}
    {%- do pairs.append("['&" ~ name ~ ";', '" ~ (char | replace("'", "''")) ~ "']") -%}
{%- endfor -%}
[{{ pairs | join(', ') }}, ['&amp;', '&']]
{%- endmacro %}


{% macro html_named_entities() -%}
{#- `amp` is not listed: _html_named_entity_pairs() always appends it last. -#}
{{ return([
    ('lt', '<'), ('gt', '>'), ('quot', '"'), ('apos', "'"), ('nbsp', ' '),
    ('ndash', '–'), ('mdash', '—'), ('hellip', '…'), ('lsquo', '‘'), ('rsquo', '’'),
    ('ldquo', '“'), ('rdquo', '”'), ('laquo', '«'), ('raquo', '»'), ('middot', '·'),
    ('bull', '•'), ('copy', '©'), ('reg', '®'), ('trade', '™'), ('deg', '°'),
    ('aacute', 'á'), ('Aacute', 'Á'), ('agrave', 'à'), ('Agrave', 'À'),
    ('acirc', 'â'), ('Acirc', 'Â'), ('auml', 'ä'), ('Auml', 'Ä'),
    ('atilde', 'ã'), ('Atilde', 'Ã'), ('aring', 'å'), ('Aring', 'Å'),
    ('aelig', 'æ'), ('AElig', 'Æ'), ('ccedil', 'ç'), ('Ccedil', 'Ç'),
    ('eacute', 'é'), ('Eacute', 'É'), ('egrave', 'è'), ('Egrave', 'È'),
    ('ecirc', 'ê'), ('Ecirc', 'Ê'), ('euml', 'ë'), ('Euml', 'Ë'),
    ('iacute', 'í'), ('Iacute', 'Í'), ('igrave', 'ì'), ('Igrave', 'Ì'),
    ('icirc', 'î'), ('Icirc', 'Î'), ('iuml', 'ï'), ('Iuml', 'Ï'),
    ('ntilde', 'ñ'), ('Ntilde', 'Ñ'),
    ('oacute', 'ó'), ('Oacute', 'Ó'), ('ograve', 'ò'), ('Ograve', 'Ò'),
    ('ocirc', 'ô'), ('Ocirc', 'Ô'), ('ouml', 'ö'), ('Ouml', 'Ö'),
    ('otilde', 'õ'), ('Otilde', 'Õ'), ('oslash', 'ø'), ('Oslash', 'Ø'),
    ('uacute', 'ú'), ('Uacute', 'Ú'), ('ugrave', 'ù'), ('Ugrave', 'Ù'),
    ('ucirc', 'û'), ('Ucirc', 'Û'), ('uuml', 'ü'), ('Uuml', 'Ü'),
    ('yacute', 'ý'), ('Yacute', 'Ý'), ('yuml', 'ÿ'), ('szlig', 'ß'),
]) }}
{%- endmacro %}
