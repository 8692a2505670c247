-- Per division and period the trial balance nets to zero: debits equal credits, and the closing
-- (and so the opening) balances of all accounts add up to zero.
select division, financial_year, financial_period,
    sum(debit) - sum(credit) as net_movement,
    sum(closing_balance) as net_closing,
    sum(opening_balance) as net_opening
from {{ ref('exactonline__trial_balance') }}
group by division, financial_year, financial_period
having abs(sum(debit) - sum(credit)) > 0.005
    or abs(sum(closing_balance)) > 0.005
    or abs(sum(opening_balance)) > 0.005
