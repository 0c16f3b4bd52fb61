{#-
    The crawl's staging models are incremental: every crawl day is a full snapshot of the
    sites, so raw.listings and raw.reviews grow by a catalogue a day, and rebuilding their
    "latest copy" from every day would cost more each day. Instead a build reads only the
    raw rows ingested since the rows it already holds (a new day, a day crawled again, a
    backfilled older day), puts them beside the staged rows of the same keys, and keeps the
    latest of each (`delete+insert` on the model's unique key). The result is the one a
    full build gives (tests/dbt/test_dbt_build.py builds day by day and compares).

    Each staged row names the logic that staged it (`staged_by`: a hash of the model's
    row SQL, macros expanded). When the model's SQL or a macro it expands changes, the
    stored rows no longer match, and the next build recomputes every key from all raw
    rows. `make materialize FULL=1` passes dbt's `--full-refresh`, which rebuilds the table.

    crawl_staging_version(sql): the hash that names the row logic `sql`.
    crawl_staging_is_current(version): true when this model is built incrementally and
    every row it holds was staged by `version` (false at parse time, on the first build,
    under --full-refresh, or after a change of logic).
    crawl_rows_since(relation): the filter on a raw crawl table that keeps the rows
    ingested after the latest row this model holds.
-#}

{% macro crawl_staging_version(sql) -%}
    {{- return(local_md5(sql | trim)[:12]) -}}
{%- endmacro %}

{% macro crawl_staging_is_current(version) -%}
    {%- if not execute or not is_incremental() -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {%- if 'staged_by' not in columns -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set stale = run_query(
        "select count(*) from " ~ this ~ " where staged_by is distinct from '" ~ version ~ "'"
    ) -%}
    {{- return(stale.columns[0].values()[0] == 0) -}}
{%- endmacro %}

{% macro crawl_rows_since() -%}
    ingested_at > (
        select coalesce(max(ingested_at), timestamp '1970-01-01') from {{ this }}
    )
{%- endmacro %}
