-- One row per division, financial period and G/L account that has any entry in the books:
-- opening balance, the period's debits and credits, closing balance (debit positive).
-- Balances are cumulative from the first extracted period (Exact books no closing entries:
-- the result of earlier years stays on the P&L accounts here, so every period nets to zero).
with periods as (
    select distinct division, financial_year, financial_period
    from {{ ref('exactonline__general_ledger') }}
),

accounts as (
    select distinct division, gl_account_id, gl_account_code, gl_account_description,
        balance_type, balance_side
    from {{ ref('exactonline__general_ledger') }}
),

movements as (
    select
        division, financial_year, financial_period, gl_account_id,
        sum(debit) as debit,
        sum(credit) as credit
    from {{ ref('exactonline__general_ledger') }}
    group by division, financial_year, financial_period, gl_account_id
),

grid as (
    select
        periods.division,
        periods.financial_year,
        periods.financial_period,
        accounts.gl_account_id,
        accounts.gl_account_code,
        accounts.gl_account_description,
        accounts.balance_type,
        accounts.balance_side,
        coalesce(movements.debit, 0) as debit,
        coalesce(movements.credit, 0) as credit
    from periods
    inner join accounts
        on accounts.division = periods.division
    left join movements
        on movements.division = periods.division
        and movements.financial_year = periods.financial_year
        and movements.financial_period = periods.financial_period
        and movements.gl_account_id = accounts.gl_account_id
),

running as (
    select
        grid.*,
        sum(debit - credit) over (
            partition by division, gl_account_id
            order by financial_year, financial_period
            rows between unbounded preceding and current row
        ) as closing_balance
    from grid
)

select
    division,
    financial_year,
    financial_period,
    gl_account_id,
    gl_account_code,
    gl_account_description,
    balance_type,
    balance_side,
    cast(closing_balance - (debit - credit) as numeric(18, 2)) as opening_balance,
    cast(debit as numeric(18, 2)) as debit,
    cast(credit as numeric(18, 2)) as credit,
    cast(debit - credit as numeric(18, 2)) as net_change,
    cast(closing_balance as numeric(18, 2)) as closing_balance
from running
where closing_balance <> 0 or debit <> 0 or credit <> 0
