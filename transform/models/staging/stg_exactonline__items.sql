-- Articles and services.
select
    {{ col('ID') }} as item_id,
    cast({{ col('Division') }} as integer) as division,
    trim({{ col('Code') }}) as item_code,
    {{ col('Description') }} as item_description,
    {{ col('Unit') }} as unit,
    cast({{ col('IsSalesItem') }} as boolean) as is_sales_item,
    cast({{ col('IsStockItem') }} as boolean) as is_stock_item,
    {{ col('GLRevenue') }} as revenue_gl_account_id,
    {{ money(col('CostPriceStandard')) }} as standard_cost_price
from ({{ current_rows(source('exactonline', 'items'), 'ID') }}) as rows
