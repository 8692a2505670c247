-- The balance sheet per division and period end: the closing balance of every balance-sheet
-- account (balance_type B), debit positive; `side` says where it is shown. The period's result
-- not yet on an equity account is the `result` row (the sum of the P&L accounts), so the
-- assets equal the liabilities plus equity.
with accounts as (
    select
        division,
        financial_year,
        financial_period,
        gl_account_code,
        gl_account_description,
        case when balance_side = 'D' then 'assets' else 'liabilities and equity' end as side,
        closing_balance as balance
    from {{ ref('exactonline__trial_balance') }}
    where balance_type = 'B'
),

result as (
    select
        division,
        financial_year,
        financial_period,
        cast(null as {{ dbt.type_string() }}) as gl_account_code,
        'Result (P&L accounts, cumulative)' as gl_account_description,
        'liabilities and equity' as side,
        cast(sum(closing_balance) as numeric(18, 2)) as balance
    from {{ ref('exactonline__trial_balance') }}
    where balance_type = 'W'
    group by division, financial_year, financial_period
)

select * from accounts
union all
select * from result
