-- Journal entry lines (financial transactions): amount in the division's currency, positive
-- for debit, negative for credit.
select
    {{ col('ID') }} as transaction_line_id,
    cast({{ col('Division') }} as integer) as division,
    {{ col('EntryID') }} as entry_id,
    cast({{ col('EntryNumber') }} as integer) as entry_number,
    cast({{ col('LineNumber') }} as integer) as line_number,
    cast({{ col('Date') }} as date) as entry_date,
    cast({{ col('FinancialYear') }} as integer) as financial_year,
    cast({{ col('FinancialPeriod') }} as integer) as financial_period,
    {{ col('JournalCode') }} as journal_code,
    {{ col('JournalDescription') }} as journal_description,
    {{ col('GLAccount') }} as gl_account_id,
    trim({{ col('GLAccountCode') }}) as gl_account_code,
    {{ col('Account') }} as account_id,
    trim({{ col('AccountCode') }}) as account_code,
    {{ col('AccountName') }} as account_name,
    {{ col('Description') }} as description,
    cast({{ col('InvoiceNumber') }} as integer) as invoice_number,
    cast({{ col('Type') }} as integer) as transaction_type,
    cast({{ col('Status') }} as integer) as status,
    {{ money(col('AmountDC')) }} as amount,
    {{ col('Currency') }} as currency
from ({{ current_rows(source('exactonline', 'transaction_lines'), 'ID') }}) as rows
