-- Open payables (unpaid purchase invoice terms) aged at the as-of date (EXACTONLINE_AS_OF_DATE
-- or today): days past due and the bucket (not due, 1-30, 31-60, 61-90, 90+).
select
    open_items.division,
    open_items.payable_id,
    open_items.account_id as supplier_id,
    open_items.account_code as supplier_code,
    open_items.account_name as supplier_name,
    open_items.invoice_number,
    open_items.invoice_date,
    open_items.due_date,
    open_items.amount,
    open_items.currency,
    {{ as_of_date() }} as as_of_date,
    {{ as_of_date() }} - open_items.due_date as days_overdue,
    {{ ageing_bucket(as_of_date() ~ ' - open_items.due_date') }} as ageing_bucket
from {{ ref('stg_exactonline__payments') }} as open_items
where open_items.status = 20
