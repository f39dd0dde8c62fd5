{{ config(materialized='incremental', incremental_strategy='changes',
          unique_key='customer_id', tags=['intermediate']) }}

-- Per customer, everything in the fact: purchases, refunds and their won,
-- ordinary purchases (the amount_outlier baseline), days with a fact row
-- and the first and last of them (and of the days with a purchase). The
-- per-customer aggregate mart_customer_ltv, mart_rfm_customer and the
-- amount_outlier rule read, so none of them reads the fact.
--
-- Incremental by change: the customers whose (customer, date) rows of
-- int_customer_sales_daily changed get their totals moved by the change;
-- first/last dates move with the days that appeared, and are looked up
-- again only when the first or last day itself went away: in the days the
-- change reached and var('customer_edges_near_days') (7; a negative value
-- counts as 0) before them, and
-- in every day only for a customer those days do not settle. Looking in
-- every day read the whole table (a month of rows in 0.2 s, a year's in
-- some 3 s) for the few hundred such customers a day.
{%- set near_days = var('customer_edges_near_days', 7) | int %}
{%- if near_days < 0 %}{% set near_days = 0 %}{% endif %}
{%- set sums = ['n_fact', 'n_purchases', 'n_refunds', 'gross_krw', 'refunds_krw',
                'net_krw', 'n_ordinary', 'ordinary_krw'] %}
{% if is_incremental() %}
WITH delta AS (
    SELECT * FROM {{ changes(ref('int_customer_sales_daily')) }}
),
per_day AS (
    -- each changed (customer, date): purchases before and after the change
    SELECT customer_id, event_date,
           MAX(CASE WHEN _change_type IN ('update_preimage', 'delete') THEN 1 ELSE 0 END)  AS had_row,
           MAX(CASE WHEN _change_type IN ('insert', 'update_postimage') THEN 1 ELSE 0 END) AS has_row,
           MAX(CASE WHEN _change_type IN ('update_preimage', 'delete') AND n_purchases > 0 THEN 1 ELSE 0 END)  AS had_purchase,
           MAX(CASE WHEN _change_type IN ('insert', 'update_postimage') AND n_purchases > 0 THEN 1 ELSE 0 END) AS has_purchase
    FROM delta
    GROUP BY customer_id, event_date
),
days_moved AS (
    SELECT customer_id,
           SUM(has_row - had_row)                                              AS active_days,
           MIN(CASE WHEN has_row = 1 THEN event_date END)                      AS first_activity_added,
           MAX(CASE WHEN has_row = 1 THEN event_date END)                      AS last_activity_added,
           MIN(CASE WHEN has_purchase = 1 THEN event_date END)                 AS first_purchase_added,
           MAX(CASE WHEN has_purchase = 1 THEN event_date END)                 AS last_purchase_added
    FROM per_day
    GROUP BY customer_id
),
lost AS (
    -- customers one of whose edge days no longer has a fact row (or a
    -- purchase), with their first days before the change
    SELECT DISTINCT p.customer_id, t.first_activity_date AS was_first_activity,
           t.first_purchase_date AS was_first_purchase
    FROM per_day p
    JOIN {{ this }} t ON t.customer_id = p.customer_id
    WHERE (p.had_row = 1 AND p.has_row = 0
           AND p.event_date IN (t.first_activity_date, t.last_activity_date))
       OR (p.had_purchase = 1 AND p.has_purchase = 0
           AND p.event_date IN (t.first_purchase_date, t.last_purchase_date))
),
sums_moved AS (
    SELECT customer_id
    {%- for c in sums %},
           SUM({{ change_sign() }} * {{ c }}) AS {{ c }}
    {%- endfor %}
    FROM delta
    GROUP BY customer_id
),
state AS (
    SELECT s.customer_id
    {%- for c in sums %},
           COALESCE(t.{{ c }}, 0) + s.{{ c }} AS {{ c }}
    {%- endfor %},
           COALESCE(t.active_days, 0) + d.active_days AS active_days,
           {{ least_of('t.first_activity_date', 'd.first_activity_added') }} AS first_activity_date,
           {{ greatest_of('t.last_activity_date', 'd.last_activity_added') }} AS last_activity_date,
           {{ least_of('t.first_purchase_date', 'd.first_purchase_added') }} AS first_purchase_date,
           {{ greatest_of('t.last_purchase_date', 'd.last_purchase_added') }} AS last_purchase_date
    FROM sums_moved s
    JOIN days_moved d ON d.customer_id = s.customer_id
    LEFT JOIN {{ this }} t ON t.customer_id = s.customer_id
),
near_from AS (
    -- the changed days and the few before them: the table's rows before
    -- them are ones the change did not touch
    SELECT {{ add_days('MIN(event_date)', -near_days) }} AS d FROM per_day
),
near AS (
    -- the lost customers' rows of those days only: a scan of the days the
    -- change reached, not of every day the table holds (the filter on the
    -- date lets the storage skip the blocks of the other days)
    SELECT customer_id,
           {{ customer_edges() }}
    FROM {{ ref('int_customer_sales_daily') }}
    WHERE event_date >= (SELECT d FROM near_from)
      AND customer_id IN (SELECT customer_id FROM lost)
    GROUP BY customer_id
),
near_edges AS (
    -- what the near days settle: a first day before them stands (its row
    -- is untouched); a last day is the near days' latest when they hold
    -- one (every other row is earlier); a customer whose first day is
    -- among them has no row before them at all
    SELECT l.customer_id,
           CASE WHEN l.was_first_activity < f.d THEN l.was_first_activity
                ELSE n.first_activity_date END                   AS first_activity_date,
           n.last_activity_date,
           CASE WHEN l.was_first_purchase < f.d THEN l.was_first_purchase
                ELSE n.first_purchase_date END                   AS first_purchase_date,
           n.last_purchase_date,
           CASE WHEN (n.last_activity_date IS NOT NULL OR NOT (l.was_first_activity < f.d))
                 AND (n.last_purchase_date IS NOT NULL OR l.was_first_purchase IS NULL
                      OR NOT (l.was_first_purchase < f.d))
                THEN 1 ELSE 0 END                                AS settled
    FROM lost l
    CROSS JOIN near_from f
    LEFT JOIN near n ON n.customer_id = l.customer_id
),
edges AS (
    SELECT customer_id, first_activity_date, last_activity_date,
           first_purchase_date, last_purchase_date
    FROM near_edges
    WHERE settled = 1
    UNION ALL
    -- a last day before the near days: looked up in every day (rare: a
    -- customer whose last day went and who had none in the days before)
    SELECT customer_id,
           {{ customer_edges() }}
    FROM {{ ref('int_customer_sales_daily') }}
    WHERE customer_id IN (SELECT customer_id FROM near_edges WHERE settled = 0)
    GROUP BY customer_id
),
totals AS (
    SELECT s.customer_id
    {%- for c in sums %}, s.{{ c }}{% endfor %},
           s.active_days,
           CASE WHEN e.customer_id IS NULL THEN s.first_activity_date ELSE e.first_activity_date END AS first_activity_date,
           CASE WHEN e.customer_id IS NULL THEN s.last_activity_date ELSE e.last_activity_date END   AS last_activity_date,
           CASE WHEN e.customer_id IS NULL THEN s.first_purchase_date ELSE e.first_purchase_date END AS first_purchase_date,
           CASE WHEN e.customer_id IS NULL THEN s.last_purchase_date ELSE e.last_purchase_date END   AS last_purchase_date
    FROM state s
    LEFT JOIN edges e ON e.customer_id = s.customer_id
    WHERE s.active_days > 0
)
{% else %}
WITH totals AS (
    SELECT customer_id
    {%- for c in sums %},
           SUM({{ c }}) AS {{ c }}
    {%- endfor %},
           COUNT(*)                                              AS active_days,
           {{ customer_edges() }}
    FROM {{ ref('int_customer_sales_daily') }}
    GROUP BY customer_id
)
{% endif %}
SELECT customer_id,
       CAST(n_fact AS BIGINT)              AS n_fact,
       CAST(n_purchases AS BIGINT)         AS n_purchases,
       CAST(n_refunds AS BIGINT)           AS n_refunds,
       CAST(gross_krw AS DECIMAL(18,0))    AS gross_krw,
       CAST(refunds_krw AS DECIMAL(18,0))  AS refunds_krw,
       CAST(net_krw AS DECIMAL(18,0))      AS net_krw,
       CAST(n_ordinary AS BIGINT)          AS n_ordinary,
       CAST(ordinary_krw AS DECIMAL(18,0)) AS ordinary_krw,
       CAST(active_days AS BIGINT)         AS active_days,
       first_activity_date,
       last_activity_date,
       first_purchase_date,
       last_purchase_date
FROM totals
