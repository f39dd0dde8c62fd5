{{ config(materialized='table', tags=['marts', 'fraud']) }}

-- One row per (transaction, rule) that a fraud rule flags, for event dates
-- up to the logical date. The rules and their thresholds (vars, defaults
-- below) are documented in docs/analytics.md:
--   card_velocity   the Nth or later attempt (any status) on one card
--                   within M minutes
--   decline_burst   the Nth or later declined attempt on one card within
--                   M minutes
--   amount_outlier  an approved purchase at least RATIO x the customer's
--                   median approved purchase and at least MIN won, for a
--                   customer with at least K approved purchases
--   foreign_online  an approved online purchase in a foreign currency of at
--                   least MIN won
{%- set velocity_count = var('fraud_velocity_count', 5) %}
{%- set velocity_minutes = var('fraud_velocity_minutes', 10) %}
{%- set decline_count = var('fraud_decline_count', 3) %}
{%- set decline_minutes = var('fraud_decline_minutes', 30) %}
{%- set outlier_ratio = var('fraud_outlier_ratio', 10) %}
{%- set outlier_min_krw = var('fraud_outlier_min_krw', 1000000) %}
{%- set outlier_min_purchases = var('fraud_outlier_min_purchases', 5) %}
{%- set foreign_min_krw = var('fraud_foreign_online_min_krw', 300000) %}
WITH as_of AS (
    SELECT {{ as_of_date() }} AS as_of_date
),
attempts AS (
    -- every attempt, approved or not, with its value in won (unsigned)
    SELECT t.*, {{ to_won('t.amount', 'fx.krw_per_unit') }} AS value_krw
    FROM {{ ref('stg_transactions') }} t
    LEFT JOIN {{ ref('fx_rates') }} fx ON fx.currency = t.currency_code
    CROSS JOIN as_of
    WHERE t.event_date <= as_of.as_of_date
),
velocity AS (
    SELECT *,
        COUNT(*) OVER (PARTITION BY card_id ORDER BY txn_ts_utc
                       RANGE BETWEEN {{ interval_minutes(velocity_minutes) }} PRECEDING
                                 AND CURRENT ROW) AS n_in_window
    FROM attempts
),
declines AS (
    SELECT *,
        COUNT(*) OVER (PARTITION BY card_id ORDER BY txn_ts_utc
                       RANGE BETWEEN {{ interval_minutes(decline_minutes) }} PRECEDING
                                 AND CURRENT ROW) AS n_in_window
    FROM attempts
    WHERE status = 'declined'
),
purchases AS (
    SELECT f.*
    FROM {{ ref('fact_transactions') }} f CROSS JOIN as_of
    WHERE NOT f.is_refund AND f.event_date <= as_of.as_of_date
),
norms AS (
    SELECT customer_id,
           {{ median('amount_krw') }} AS median_krw,
           COUNT(*)                   AS n_purchases
    FROM purchases
    GROUP BY customer_id
),
flags AS (
    SELECT transaction_id, 'card_velocity' AS rule, event_date, txn_ts_utc,
           customer_id, card_id, merchant_id, currency_code, value_krw,
           CAST(n_in_window AS DOUBLE PRECISION) AS observed, {{ velocity_count }} AS threshold
    FROM velocity
    WHERE n_in_window >= {{ velocity_count }}
    UNION ALL
    SELECT transaction_id, 'decline_burst', event_date, txn_ts_utc,
           customer_id, card_id, merchant_id, currency_code, value_krw,
           CAST(n_in_window AS DOUBLE PRECISION), {{ decline_count }}
    FROM declines
    WHERE n_in_window >= {{ decline_count }}
    UNION ALL
    SELECT p.transaction_id, 'amount_outlier', p.event_date, p.txn_ts_utc,
           p.customer_id, p.card_id, p.merchant_id, p.currency_code, p.amount_krw,
           CAST(p.amount_krw AS DOUBLE PRECISION) / CAST(n.median_krw AS DOUBLE PRECISION), {{ outlier_ratio }}
    FROM purchases p
    JOIN norms n ON n.customer_id = p.customer_id
    WHERE n.n_purchases >= {{ outlier_min_purchases }}
      AND p.amount_krw >= {{ outlier_min_krw }}
      AND p.amount_krw >= {{ outlier_ratio }} * n.median_krw
    UNION ALL
    SELECT transaction_id, 'foreign_online', event_date, txn_ts_utc,
           customer_id, card_id, merchant_id, currency_code, amount_krw,
           CAST(amount_krw AS DOUBLE PRECISION), {{ foreign_min_krw }}
    FROM purchases
    WHERE channel = 'online' AND currency_code <> 'KRW'
      AND amount_krw >= {{ foreign_min_krw }}
)
SELECT
    transaction_id,
    rule,
    event_date,
    txn_ts_utc,
    customer_id,
    card_id,
    merchant_id,
    currency_code,
    CAST(value_krw AS DECIMAL(18,0))   AS amount_krw,
    observed,
    CAST(threshold AS DOUBLE PRECISION)          AS threshold,
    transaction_id || ':' || rule      AS signal_id
FROM flags
