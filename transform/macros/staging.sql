{# Helpers of the staging models: the current version of each row of a loaded stream. #}

{% macro source_schema() -%}
    {{ env_var('EXACTONLINE_SOURCE_SCHEMA', 'exactonline') }}
{%- endmacro %}

{# The loaded table of `stream`, or none when the stream was not extracted (yet). #}
{% macro stream_relation(stream) -%}
    {%- if execute -%}
        {{ return(adapter.get_relation(database=target.database, schema=source_schema(), identifier=stream)) }}
    {%- else -%}
        {{ return(none) }}
    {%- endif -%}
{%- endmacro %}

{# One row per key (the latest loaded), rows deleted in Exact (`_sdc_deleted_at` set) left out.
   Both loaders upsert on the stream's key, so the ranking only guards against a loader that
   appends; deletion is decided on the latest version, so a deleted key never comes back. #}
{% macro current_rows(relation, key) %}
    select *
    from (
        select
            loaded.*,
            row_number() over (
                partition by {{ col(key) }}
                order by _sdc_batched_at desc nulls last
            ) as _version_rank
        from {{ relation }} as loaded
    ) as versions
    where _version_rank = 1
      and _sdc_deleted_at is null
{% endmacro %}

{# Amount to two decimals (Exact's amounts are in cents; the loaders store floats). #}
{% macro money(column) -%}
    cast(round(cast({{ column }} as numeric(20, 4)), 2) as numeric(18, 2))
{%- endmacro %}

{# A column of a loaded table by its name in Exact (`InvoiceID`). target-duckdb lower-cases
   column names, target-postgres keeps them as they are (so they must be quoted); the var
   `source_column_case` (lower or preserved) overrides the choice made from the adapter. #}
{% macro col(name, alias=none) -%}
    {%- set case = var('source_column_case', 'preserved' if target.type == 'postgres' else 'lower') -%}
    {%- if case == 'preserved' -%} {{ adapter.quote(name) }} {%- else -%} {{ name | lower }} {%- endif -%}
    {%- if alias %} as {{ alias }}{% endif -%}
{%- endmacro %}
