-- The ledger computed from the transaction lines agrees with Exact's own balances
-- (financial/ReportingBalance, open and processed together) per division, period and G/L
-- account. Passes without rows while the reporting_balances stream is not extracted.
with ledger as (
    select division, financial_year, financial_period, gl_account_code, sum(amount) as amount
    from {{ ref('exactonline__general_ledger') }}
    group by division, financial_year, financial_period, gl_account_code
),

reported as (
    select division, financial_year, financial_period, gl_account_code, sum(amount) as amount
    from {{ ref('stg_exactonline__reporting_balances') }}
    group by division, financial_year, financial_period, gl_account_code
),

divisions_reported as (
    select distinct division from reported
)

select
    coalesce(ledger.division, reported.division) as division,
    coalesce(ledger.financial_year, reported.financial_year) as financial_year,
    coalesce(ledger.financial_period, reported.financial_period) as financial_period,
    coalesce(ledger.gl_account_code, reported.gl_account_code) as gl_account_code,
    ledger.amount as ledger_amount,
    reported.amount as reported_amount
from ledger
full outer join reported
    on reported.division = ledger.division
    and reported.financial_year = ledger.financial_year
    and reported.financial_period = ledger.financial_period
    and reported.gl_account_code = ledger.gl_account_code
where coalesce(ledger.division, reported.division) in (select division from divisions_reported)
  and abs(coalesce(ledger.amount, 0) - coalesce(reported.amount, 0)) > 0.005
