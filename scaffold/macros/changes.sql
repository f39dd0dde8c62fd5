{#-
  Helpers for models kept incrementally from a change set (the changes
  strategy, docs/models.md). Every relation `changes(...)` returns has the
  columns of the relation it follows plus `_change_type`: insert,
  update_preimage, update_postimage or delete (Delta Lake's change data
  feed names).
-#}

{#- +1 for a row that is now there (insert, update_postimage), -1 for a row
    that was there before (update_preimage, delete). ALIAS: the relation's
    alias in the query, or none. -#}
{%- macro change_sign(alias=none) -%}
{%- set col = (alias ~ '.' if alias else '') ~ '_change_type' -%}
CASE WHEN {{ col }} IN ('insert', 'update_postimage') THEN 1 ELSE -1 END
{%- endmacro %}

{#- The smaller (greater) of two values of which either may be NULL. -#}
{%- macro least_of(a, b) -%}
CASE WHEN {{ a }} IS NULL THEN {{ b }} WHEN {{ b }} IS NULL THEN {{ a }} WHEN {{ a }} <= {{ b }} THEN {{ a }} ELSE {{ b }} END
{%- endmacro %}
{%- macro greatest_of(a, b) -%}
CASE WHEN {{ a }} IS NULL THEN {{ b }} WHEN {{ b }} IS NULL THEN {{ a }} WHEN {{ a }} >= {{ b }} THEN {{ a }} ELSE {{ b }} END
{%- endmacro %}

{#- A customer's edges over the rows of int_customer_sales_daily grouped by
    customer: its first and last days, and those with a purchase. -#}
{%- macro customer_edges() -%}
MIN(event_date)                                       AS first_activity_date,
           MAX(event_date)                                       AS last_activity_date,
           MIN(CASE WHEN n_purchases > 0 THEN event_date END)    AS first_purchase_date,
           MAX(CASE WHEN n_purchases > 0 THEN event_date END)    AS last_purchase_date
{%- endmacro %}

{#- Per-customer totals as of the as-of date: int_customer_totals (the whole
    fact) minus the days after the as-of date, which exist only when an
    earlier date is rebuilt (the filter on the date is a constant, so in the
    daily run the storage skips every block). Columns: customer_id, the
    totals' sums, active_days, first_activity_date, first/last_purchase_date
    (NULL when the customer has no purchase by then). Only customers with a
    fact row on or before the date. -#}
{%- macro customer_totals_as_of() -%}
{%- set sums = ['n_fact', 'n_purchases', 'n_refunds', 'gross_krw', 'refunds_krw',
                'net_krw', 'n_ordinary', 'ordinary_krw'] -%}
SELECT t.customer_id
{%- for c in sums %},
       t.{{ c }} - COALESCE(l.{{ c }}, 0) AS {{ c }}
{%- endfor %},
       t.active_days - COALESCE(l.active_days, 0) AS active_days,
       t.first_activity_date,
       CASE WHEN t.first_purchase_date <= {{ as_of_date() }} THEN t.first_purchase_date END AS first_purchase_date,
       CASE WHEN t.last_purchase_date <= {{ as_of_date() }} THEN t.last_purchase_date
            ELSE lp.last_purchase_date END                                         AS last_purchase_date
FROM {{ ref('int_customer_totals') }} t
LEFT JOIN (
    SELECT customer_id
    {%- for c in sums %}, SUM({{ c }}) AS {{ c }}{% endfor %},
           COUNT(*) AS active_days
    FROM {{ ref('int_customer_sales_daily') }}
    WHERE event_date > {{ as_of_date() }}
    GROUP BY customer_id
) l ON l.customer_id = t.customer_id
LEFT JOIN (
    SELECT customer_id, MAX(event_date) AS last_purchase_date
    FROM {{ ref('int_customer_sales_daily') }}
    WHERE n_purchases > 0 AND event_date <= {{ as_of_date() }}
      AND customer_id IN (SELECT customer_id FROM {{ ref('int_customer_totals') }}
                          WHERE last_purchase_date > {{ as_of_date() }})
    GROUP BY customer_id
) lp ON lp.customer_id = t.customer_id
WHERE t.n_fact - COALESCE(l.n_fact, 0) > 0
{%- endmacro %}
