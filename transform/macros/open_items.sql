{# Staging of Exact's payment terms (cashflow/Receivables and cashflow/Payments share a shape):
   one row per term, amount in the division's currency. #}
{% macro open_item_columns(id_name) %}
    {{ col('ID') }} as {{ id_name }},
    cast({{ col('Division') }} as integer) as division,
    {{ col('Account') }} as account_id,
    trim({{ col('AccountCode') }}) as account_code,
    {{ col('AccountName') }} as account_name,
    {{ col('EntryID') }} as entry_id,
    cast({{ col('EntryNumber') }} as integer) as entry_number,
    cast({{ col('InvoiceNumber') }} as integer) as invoice_number,
    cast({{ col('InvoiceDate') }} as date) as invoice_date,
    cast({{ col('DueDate') }} as date) as due_date,
    {{ col('Description') }} as description,
    {{ col('YourRef') }} as your_ref,
    {{ col('Currency') }} as currency,
    {{ money(col('AmountDC')) }} as amount,
    cast({{ col('Status') }} as integer) as status,
    {{ col('GLAccount') }} as gl_account_id,
    trim({{ col('GLAccountCode') }}) as gl_account_code
{% endmacro %}
