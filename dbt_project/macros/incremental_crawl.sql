{#-
    The crawl's staging models are incremental: every crawl day is a full snapshot of the
    sites, so raw.listings and raw.reviews grow by a catalogue a day, and rebuilding their
    "latest copy" from every day would cost more each day. Instead a build reads only the
    raw rows ingested since the rows it already holds (a new day, a day crawled again, an
    older day backfilled), puts them beside the staged rows of the same keys, and keeps the
    latest of each (`delete+insert` on the model's unique key). The result is the one a
    full build gives (tests/dbt/test_dbt_build.py builds day by day and compares).

    A day crawled again replaces that day's raw rows, and its new crawl may lack a title
    the old one had. So the keys whose staged copy came from a batch of rows the raw table
    no longer has, or whose first sighting is a day read again, are recomputed from all
    their raw rows, and a key with no raw row left is removed: the model emits it with a
    null `staged_by`, and its post-hook deletes such rows. "Since" allows an hour: a batch
    stamped by a clock running a little behind is not skipped, and rows read twice change
    nothing.

    Each staged row names the logic that staged it (`staged_by`: a hash of the model's
    row SQL, macros expanded). When the model's SQL or a macro it expands changes, the
    stored rows no longer match, and the next build recomputes every key from all raw
    rows. `make materialize FULL=1` passes dbt's `--full-refresh`, which rebuilds the table.

    crawl_staging_version(sql): the hash that names the row logic `sql`.
    crawl_staging_is_current(version): true when this model is built incrementally and
    every row it holds was staged by `version` (false at parse time, on the first build,
    under --full-refresh, or after a change of logic).
    crawl_rows_to_stage(raw, keys, days): CTEs `new_raw` (rows ingested after the latest
    staged row, less an hour: a batch stamped by a clock a little behind is still read, and
    a batch read twice changes nothing), `redone_days` (days whose staged copies came from a
    batch the raw table no longer has), `redone_keys` (staged keys kept from a redone day,
    or first seen on a day read now; `days` lists the model's day columns, and any but
    `last_crawled_on` is a first sighting) and
    `rows_to_stage` (the new rows of the other keys, and every raw row of the redone ones).
    It ends without a comma.
    staged_candidates(keys, columns): the staged rows of the keys read again (not redone),
    as candidates beside the new rows: `columns` as they are, and `last_crawled_on` as the
    candidate's `crawl_date`.
    vanished_keys(latest, keys): the redone keys with no row in `latest`, to remove.
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

{% macro crawl_rows_to_stage(raw, keys, days) -%}
new_raw as (

    select * from {{ raw }}
    where ingested_at > (
        select coalesce(max(ingested_at), timestamp '1970-01-01') - interval 1 hour
        from {{ this }}
    )

),

-- the batches (crawl day, ingestion time) the raw table still holds for those days
raw_batches as (

    select distinct cast(crawl_date as date) as crawl_date, ingested_at
    from {{ raw }}
    where crawl_date in (select crawl_date from new_raw)

),

-- days crawled again: staged copies came from a batch of that day the raw table no
-- longer has (the raw asset replaces a day's rows when it crawls the day again)
redone_days as (

    select distinct staged.last_crawled_on as crawl_date
    from {{ this }} as staged
    anti join raw_batches
        on staged.last_crawled_on = raw_batches.crawl_date
        and staged.ingested_at = raw_batches.ingested_at
    where staged.last_crawled_on in (select cast(crawl_date as date) from new_raw)

),

redone_keys as (

    select {{ keys | join(', ') }}
    from {{ this }}
    where last_crawled_on in (select crawl_date from redone_days)
    {%- for column in days if column != 'last_crawled_on' %}
        or {{ column }} in (select cast(crawl_date as date) from new_raw)
    {%- endfor %}

),

rows_to_stage as (

    select * from new_raw anti join redone_keys using ({{ keys | join(', ') }})
    union all by name
    select * from {{ raw }} semi join redone_keys using ({{ keys | join(', ') }})

)
{%- endmacro %}

{% macro staged_candidates(keys, columns) -%}
    select
    {%- for column in columns %}
        staged.{{ column }},
    {%- endfor %}
        staged.last_crawled_on as crawl_date
    from {{ this }} as staged
    semi join (select distinct {{ keys | join(', ') }} from cleaned) as seen_again
        using ({{ keys | join(', ') }})
    anti join redone_keys using ({{ keys | join(', ') }})
{%- endmacro %}

{% macro vanished_keys(latest, keys) -%}
    select {{ keys | join(', ') }} from redone_keys
    anti join {{ latest }} using ({{ keys | join(', ') }})
{%- endmacro %}
