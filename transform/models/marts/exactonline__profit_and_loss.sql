-- The profit and loss per division, period and P&L account (balance_type W). amount is the
-- account's result in the period, positive for income: revenue accounts (balance_side C)
-- positive, cost accounts negative, so the sum of a period is its result.
select
    division,
    financial_year,
    financial_period,
    gl_account_id,
    gl_account_code,
    gl_account_description,
    case when balance_side = 'C' then 'revenue' else 'expense' end as category,
    debit,
    credit,
    cast(credit - debit as numeric(18, 2)) as amount
from {{ ref('exactonline__trial_balance') }}
where balance_type = 'W'
  and (debit <> 0 or credit <> 0)
