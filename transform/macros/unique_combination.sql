{# Generic test: no two rows share the values of `columns` (the grain of a model). #}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_with_these_values
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
