-- Sales invoice headers. Status 20 open (draft), 50 processed (booked, has an invoice number).
select
    {{ col('InvoiceID') }} as invoice_id,
    cast({{ col('Division') }} as integer) as division,
    cast({{ col('InvoiceNumber') }} as integer) as invoice_number,
    cast({{ col('InvoiceDate') }} as date) as invoice_date,
    cast({{ col('DueDate') }} as date) as due_date,
    {{ col('OrderedBy') }} as ordered_by_id,
    {{ col('InvoiceTo') }} as invoice_to_id,
    {{ col('Journal') }} as journal_code,
    {{ col('Currency') }} as currency,
    {{ money(col('AmountFCExclVat')) }} as amount_excl_vat,
    cast({{ col('Status') }} as integer) as status,
    {{ col('YourRef') }} as your_ref
from ({{ current_rows(source('exactonline', 'sales_invoices'), 'InvoiceID') }}) as rows
