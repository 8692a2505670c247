-- What customers owe (sales invoice terms, LineType 20). Status 20 open, 50 paid.
select
    {{ open_item_columns('receivable_id') }},
    cast({{ col('IsFullyPaid') }} as boolean) as is_fully_paid,
    cast({{ col('LastPaymentDate') }} as date) as last_payment_date
from ({{ current_rows(source('exactonline', 'receivables'), 'ID') }}) as rows
