-- One row per division (administration) the user can reach.
select
    cast({{ col('Code') }} as integer) as division,
    {{ col('Description') }} as division_name,
    {{ col('Currency') }} as currency,
    {{ col('Country') }} as country,
    cast({{ col('Status') }} as integer) as status,
    cast({{ col('IsMainDivision') }} as boolean) as is_main_division
from ({{ current_rows(source('exactonline', 'divisions'), 'Code') }}) as rows
