-- What the company owes suppliers (purchase invoice terms, LineType 22). Status 20 open, 50 paid.
select
    {{ open_item_columns('payable_id') }}
from ({{ current_rows(source('exactonline', 'payments'), 'ID') }}) as rows
