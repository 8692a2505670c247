{# Models go to the profile's schema (`analytics`) or to the one a model names, as is: dbt's
   default would prefix it (`analytics_staging`). #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
