-- Exact's own balances per G/L account and period (financial/ReportingBalance). That stream is
-- not extracted yet: until its table exists this model is empty, with the same columns.
{% set loaded = stream_relation('reporting_balances') %}
{% if loaded %}
select
    cast({{ col('ID') }} as {{ dbt.type_string() }}) as reporting_balance_id,
    cast({{ col('Division') }} as integer) as division,
    cast({{ col('ReportingYear') }} as integer) as financial_year,
    cast({{ col('ReportingPeriod') }} as integer) as financial_period,
    {{ col('GLAccount') }} as gl_account_id,
    trim({{ col('GLAccountCode') }}) as gl_account_code,
    {{ col('BalanceType') }} as balance_type,
    cast({{ col('Status') }} as integer) as status,
    {{ money(col('Amount')) }} as amount,
    {{ money(col('AmountDebit')) }} as debit,
    {{ money(col('AmountCredit')) }} as credit
from ({{ current_rows(loaded, 'ID') }}) as rows
{% else %}
select
    cast(null as {{ dbt.type_string() }}) as reporting_balance_id,
    cast(null as integer) as division,
    cast(null as integer) as financial_year,
    cast(null as integer) as financial_period,
    cast(null as {{ dbt.type_string() }}) as gl_account_id,
    cast(null as {{ dbt.type_string() }}) as gl_account_code,
    cast(null as {{ dbt.type_string() }}) as balance_type,
    cast(null as integer) as status,
    cast(null as numeric(18, 2)) as amount,
    cast(null as numeric(18, 2)) as debit,
    cast(null as numeric(18, 2)) as credit
where 1 = 0
{% endif %}
