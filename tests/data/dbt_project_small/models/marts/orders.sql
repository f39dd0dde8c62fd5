{% set payment_methods = ['credit_card', 'coupon', 'bank_transfer', 'gift_card'] %}
select
    o.order_id,
    o.customer_id,
    o.order_date,
    o.status,
    {% for payment_method in payment_methods -%}
    p.{{ payment_method }}_amount{% if not loop.last %},{% endif %}
    {% endfor %},
    p.total_amount as amount
from {{ ref('stg_orders') }} o
left join {{ ref('int_order_payments') }} p using (order_id)
