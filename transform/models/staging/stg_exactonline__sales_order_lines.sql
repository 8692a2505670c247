-- Sales order lines of orders that still exist (a deleted order takes its lines with it; the
-- join drops any line whose order is gone even if no tombstone for it was loaded).
with lines as (
    select
        {{ col('ID') }} as order_line_id,
        cast({{ col('Division') }} as integer) as division,
        {{ col('OrderID') }} as order_id,
        cast({{ col('LineNumber') }} as integer) as line_number,
        {{ col('Item') }} as item_id,
        trim({{ col('ItemCode') }}) as item_code,
        {{ col('Description') }} as description,
        cast({{ col('Quantity') }} as double precision) as quantity,
        cast({{ col('QuantityDelivered') }} as double precision) as quantity_delivered,
        cast({{ col('QuantityInvoiced') }} as double precision) as quantity_invoiced,
        {{ money(col('UnitPrice')) }} as unit_price,
        {{ money(col('AmountDC')) }} as amount
    from ({{ current_rows(source('exactonline', 'sales_order_lines'), 'ID') }}) as rows
)

select lines.*
from lines
inner join {{ ref('stg_exactonline__sales_orders') }} as orders
    on orders.order_id = lines.order_id
