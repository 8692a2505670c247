-- Open receivables (unpaid sales invoice terms) aged at the as-of date (EXACTONLINE_AS_OF_DATE
-- or today): days past due and the bucket (not due, 1-30, 31-60, 61-90, 90+).
select
    open_items.division,
    open_items.receivable_id,
    open_items.account_id as customer_id,
    open_items.account_code as customer_code,
    open_items.account_name as customer_name,
    open_items.invoice_number,
    open_items.invoice_date,
    open_items.due_date,
    open_items.amount,
    open_items.currency,
    {{ as_of_date() }} as as_of_date,
    {{ as_of_date() }} - open_items.due_date as days_overdue,
    {{ ageing_bucket(as_of_date() ~ ' - open_items.due_date') }} as ageing_bucket
from {{ ref('stg_exactonline__receivables') }} as open_items
where open_items.status = 20
  and not coalesce(open_items.is_fully_paid, false)
