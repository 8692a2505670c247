-- Sales order headers. Status 12 open, 20 partial, 21 complete, 45 cancelled.
select
    {{ col('OrderID') }} as order_id,
    cast({{ col('Division') }} as integer) as division,
    cast({{ col('OrderNumber') }} as integer) as order_number,
    cast({{ col('OrderDate') }} as date) as order_date,
    cast({{ col('DeliveryDate') }} as date) as delivery_date,
    {{ col('OrderedBy') }} as ordered_by_id,
    {{ col('InvoiceTo') }} as invoice_to_id,
    {{ col('Currency') }} as currency,
    {{ money(col('AmountDC')) }} as amount,
    cast({{ col('Status') }} as integer) as status,
    cast({{ col('InvoiceStatus') }} as integer) as invoice_status,
    cast({{ col('DeliveryStatus') }} as integer) as delivery_status,
    {{ col('YourRef') }} as your_ref,
    {{ col('Description') }} as description
from ({{ current_rows(source('exactonline', 'sales_orders'), 'OrderID') }}) as rows
