-- Every journal entry's debits equal its credits (a cent of rounding at most).
select division, entry_id, sum(debit) as debit, sum(credit) as credit
from {{ ref('exactonline__general_ledger') }}
group by division, entry_id
having abs(sum(debit) - sum(credit)) > 0.005
