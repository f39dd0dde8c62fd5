{{ config(materialized='incremental', incremental_strategy='changes',
          unique_key=['customer_id', 'event_date'], cluster_by='event_date',
          tags=['intermediate', 'fraud']) }}

-- The approved purchases of at least the var fraud_outlier_min_krw, each
-- with the norm of its customer as of the end of its event day: the count and
-- won of the ordinary purchases of the customer (approved, under that minimum)
-- on that day and every day before it. What the amount_outlier rule of
-- mart_fraud_signals compares a purchase with (decision 1502: the norm is
-- fixed at the day of the purchase, so a later day never restates an old flag).
--
-- Incremental by change, following int_customer_sales_daily: a customer
-- whose days changed gets the norms of their large purchases from the
-- earliest changed day on computed again, as the current total minus the
-- ordinary purchases of the days after each (only days after the earliest
-- changed one are read: the late-arrival window, not the history). Every
-- (customer, day) of theirs from then on that has a large purchase is in
-- the new rows, and one that lost its large purchase changed (it is in
-- the change of the input), so both are replaced.
{%- set outlier_min_krw = var('fraud_outlier_min_krw', 1000000) %}
{% if is_incremental() %}
WITH touched AS (
    SELECT customer_id, MIN(event_date) AS since
    FROM {{ changes(ref('int_customer_sales_daily')) }}
    GROUP BY customer_id
),
large AS (
    SELECT c.transaction_id, c.event_date, c.txn_ts_utc, c.customer_id, c.card_id,
           c.merchant_id, c.currency_code, c.amount_krw
    FROM {{ ref('int_fraud_candidates') }} c
    JOIN touched t ON t.customer_id = c.customer_id AND c.event_date >= t.since
    WHERE c.amount_krw >= {{ outlier_min_krw }}
),
days AS (
    SELECT DISTINCT customer_id, event_date FROM large
),
later AS (
    SELECT d.customer_id, d.event_date,
           SUM(s.n_ordinary)   AS n_ordinary,
           SUM(s.ordinary_krw) AS ordinary_krw
    FROM days d
    JOIN {{ ref('int_customer_sales_daily') }} s
      ON s.customer_id = d.customer_id AND s.event_date > d.event_date
    WHERE s.event_date > (SELECT MIN(since) FROM touched)
    GROUP BY d.customer_id, d.event_date
),
norms AS (
    SELECT d.customer_id, d.event_date,
           t.n_ordinary - COALESCE(l.n_ordinary, 0)     AS n_ordinary,
           t.ordinary_krw - COALESCE(l.ordinary_krw, 0) AS ordinary_krw
    FROM days d
    JOIN {{ ref('int_customer_totals') }} t ON t.customer_id = d.customer_id
    LEFT JOIN later l ON l.customer_id = d.customer_id AND l.event_date = d.event_date
)
{% else %}
WITH large AS (
    SELECT transaction_id, event_date, txn_ts_utc, customer_id, card_id,
           merchant_id, currency_code, amount_krw
    FROM {{ ref('int_fraud_candidates') }}
    WHERE amount_krw >= {{ outlier_min_krw }}
),
norms AS (
    SELECT customer_id, event_date,
           SUM(n_ordinary) OVER (PARTITION BY customer_id ORDER BY event_date
                                 ROWS UNBOUNDED PRECEDING)   AS n_ordinary,
           SUM(ordinary_krw) OVER (PARTITION BY customer_id ORDER BY event_date
                                   ROWS UNBOUNDED PRECEDING) AS ordinary_krw
    FROM {{ ref('int_customer_sales_daily') }}
    WHERE customer_id IN (SELECT customer_id FROM large)
)
{% endif %}
SELECT p.transaction_id, p.event_date, p.txn_ts_utc, p.customer_id, p.card_id,
       p.merchant_id, p.currency_code, p.amount_krw,
       CAST(n.n_ordinary AS BIGINT)          AS n_ordinary,
       CAST(n.ordinary_krw AS DECIMAL(18,0)) AS ordinary_krw
FROM large p
JOIN norms n ON n.customer_id = p.customer_id AND n.event_date = p.event_date
