-- Accounts with status C (customer).
select
    {{ col('ID') }} as customer_id,
    cast({{ col('Division') }} as integer) as division,
    trim({{ col('Code') }}) as customer_code,
    {{ col('Name') }} as customer_name,
    {{ col('Email') }} as email,
    {{ col('Phone') }} as phone,
    {{ col('City') }} as city,
    {{ col('Postcode') }} as postcode,
    {{ col('Country') }} as country,
    {{ col('VATNumber') }} as vat_number,
    {{ col('Status') }} as status,
    cast({{ col('Blocked') }} as boolean) as is_blocked,
    {{ col('Remarks') }} as remarks
from ({{ current_rows(source('exactonline', 'customers'), 'ID') }}) as rows
