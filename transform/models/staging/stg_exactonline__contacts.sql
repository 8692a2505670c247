-- Contact persons of accounts.
select
    {{ col('ID') }} as contact_id,
    cast({{ col('Division') }} as integer) as division,
    {{ col('Account') }} as account_id,
    {{ col('FullName') }} as full_name,
    {{ col('Email') }} as email,
    {{ col('Phone') }} as phone,
    cast({{ col('IsMainContact') }} as boolean) as is_main_contact
from ({{ current_rows(source('exactonline', 'contacts'), 'ID') }}) as rows
