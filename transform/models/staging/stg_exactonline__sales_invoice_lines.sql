-- Sales invoice lines of invoices that still exist: Exact deletes an invoice's lines with it
-- but reports only the header in sync/Deleted, so the lines of a deleted invoice are dropped
-- here by the join.
with lines as (
    select
        {{ col('ID') }} as invoice_line_id,
        cast({{ col('Division') }} as integer) as division,
        {{ col('InvoiceID') }} as invoice_id,
        cast({{ col('LineNumber') }} as integer) as line_number,
        {{ col('Item') }} as item_id,
        trim({{ col('ItemCode') }}) as item_code,
        {{ col('Description') }} as description,
        cast({{ col('Quantity') }} as double precision) as quantity,
        {{ money(col('UnitPrice')) }} as unit_price,
        {{ money(col('AmountDC')) }} as amount,
        {{ money(col('VATAmountDC')) }} as vat_amount,
        {{ col('GLAccount') }} as gl_account_id
    from ({{ current_rows(source('exactonline', 'sales_invoice_lines'), 'ID') }}) as rows
)

select lines.*
from lines
inner join {{ ref('stg_exactonline__sales_invoices') }} as invoices
    on invoices.invoice_id = lines.invoice_id
