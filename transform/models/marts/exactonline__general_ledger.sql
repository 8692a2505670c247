-- Every journal entry line with its G/L account: the base of the trial balance, the P&L and the
-- balance sheet. debit and credit are both positive; amount = debit - credit.
select
    lines.division,
    divisions.division_name,
    lines.transaction_line_id,
    lines.entry_id,
    lines.entry_number,
    lines.line_number,
    lines.entry_date,
    lines.financial_year,
    lines.financial_period,
    lines.journal_code,
    lines.journal_description,
    lines.gl_account_id,
    accounts.gl_account_code,
    accounts.gl_account_description,
    accounts.balance_type,
    accounts.balance_side,
    lines.account_id,
    lines.account_code,
    lines.account_name,
    lines.description,
    lines.invoice_number,
    lines.transaction_type,
    lines.amount,
    case when lines.amount > 0 then lines.amount else 0 end as debit,
    case when lines.amount < 0 then -lines.amount else 0 end as credit,
    lines.currency
from {{ ref('stg_exactonline__transaction_lines') }} as lines
inner join {{ ref('stg_exactonline__gl_accounts') }} as accounts
    on accounts.gl_account_id = lines.gl_account_id
left join {{ ref('stg_exactonline__divisions') }} as divisions
    on divisions.division = lines.division
