-- Documents (invoices' PDFs and other files are attachments of a document).
select
    {{ col('ID') }} as document_id,
    cast({{ col('Division') }} as integer) as division,
    {{ col('Subject') }} as subject,
    cast({{ col('Type') }} as integer) as document_type,
    {{ col('TypeDescription') }} as document_type_description,
    cast({{ col('DocumentDate') }} as date) as document_date,
    {{ col('Account') }} as account_id,
    cast({{ col('SalesInvoiceNumber') }} as integer) as sales_invoice_number
from ({{ current_rows(source('exactonline', 'documents'), 'ID') }}) as rows
