-- Reverse ETL: a credit-control remark on every customer with receivables past due, written
-- back to the customer in Exact (`customers` stream of target-exactonline, matched by Code).
-- In DuckDB the model is also written to $DBT_EXPORT_DIR/reverse_etl__customers.jsonl, which
-- tap-jsonl reads; from PostgreSQL tap-postgres reads the table. target-exactonline writes to one
-- division: EXACTONLINE_REVERSE_ETL_DIVISION, by default the lowest division code.
{{ config(
    materialized=('external' if target.type == 'duckdb' else 'table'),
    location=env_var('DBT_EXPORT_DIR', 'exports') ~ '/reverse_etl__customers.jsonl',
    format='json',
) }}
select
    customer_code as "Code",
    'Credit control ' || cast(max(as_of_date) as {{ dbt.type_string() }}) || ': '
        || cast(count(*) as {{ dbt.type_string() }}) || ' invoice(s) past due, '
        || currency || ' ' || cast(sum(amount) as {{ dbt.type_string() }})
        || ', oldest ' || cast(max(days_overdue) as {{ dbt.type_string() }}) || ' days'
        as "Remarks"
from {{ ref('exactonline__ar_aging') }}
where days_overdue > 0
  and customer_code is not null
  and division = {{ env_var('EXACTONLINE_REVERSE_ETL_DIVISION', '') or
        '(select min(division) from ' ~ ref('exactonline__ar_aging') ~ ')' }}
group by division, customer_code, currency
order by 1
