-- Sales invoice lines of invoices that still exist. Exact deletes an invoice's lines with it but
-- its deletion log names only the invoice; the tap tombstones the lines it emitted, and this
-- join drops any line whose invoice is gone all the same (a warehouse loaded by an older tap,
-- a line the tap did not know).
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
