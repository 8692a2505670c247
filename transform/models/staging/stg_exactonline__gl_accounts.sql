-- The chart of accounts: balance_type B (balance sheet) or W (profit and loss), balance_side D/C.
select
    {{ col('ID') }} as gl_account_id,
    cast({{ col('Division') }} as integer) as division,
    trim({{ col('Code') }}) as gl_account_code,
    {{ col('Description') }} as gl_account_description,
    cast({{ col('Type') }} as integer) as gl_account_type,
    {{ col('TypeDescription') }} as gl_account_type_description,
    {{ col('BalanceType') }} as balance_type,
    {{ col('BalanceSide') }} as balance_side,
    cast({{ col('IsBlocked') }} as boolean) as is_blocked
from ({{ current_rows(source('exactonline', 'gl_accounts'), 'ID') }}) as rows
