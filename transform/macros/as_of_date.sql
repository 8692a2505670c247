{# The date receivables and payables are aged at: EXACTONLINE_AS_OF_DATE (YYYY-MM-DD) or today. #}
{% macro as_of_date() -%}
    {%- set given = env_var('EXACTONLINE_AS_OF_DATE', '') -%}
    {%- if given -%} cast('{{ given }}' as date) {%- else -%} current_date {%- endif -%}
{%- endmacro %}

{# The ageing bucket of an open item `days_overdue` days past its due date. #}
{% macro ageing_bucket(days_overdue) -%}
    case
        when {{ days_overdue }} <= 0 then 'not due'
        when {{ days_overdue }} <= 30 then '1-30'
        when {{ days_overdue }} <= 60 then '31-60'
        when {{ days_overdue }} <= 90 then '61-90'
        else '90+'
    end
{%- endmacro %}
