{{ config(materialized='table', tags=['marts', 'fraud']) }}

-- One row per (transaction, rule) that a fraud rule flags, for event dates
-- up to the logical date. The rules and their thresholds (vars, defaults
-- below) are documented in docs/models.md and docs/analytics.md:
--   card_velocity   an attempt (any status) on a card that has at least
--                   max(N, ceil(mu + Z sqrt(mu))) attempts in the M minutes
--                   up to it, where mu = 2 x (the card's attempts that event
--                   day) x M / 1440: the count the card's own daily volume
--                   predicts for an M-minute window in its busiest hours
--                   (about twice the day's average rate), and Z standard
--                   deviations (Poisson) above it. At 5 attempts a day the
--                   floor N decides; a card making a thousand a day is
--                   flagged only for a burst far beyond its own rhythm.
--   decline_burst   the same on declined attempts (N, M, Z of their own)
--   amount_outlier  an approved purchase at least RATIO x the customer's
--                   median approved purchase and at least MIN won, for a
--                   customer with at least K approved purchases
--   foreign_online  an approved online purchase in a foreign currency of at
--                   least MIN won
{%- set velocity_count = var('fraud_velocity_count', 5) %}
{%- set velocity_minutes = var('fraud_velocity_minutes', 10) %}
{%- set velocity_sigmas = var('fraud_velocity_sigmas', 6) %}
{%- set decline_count = var('fraud_decline_count', 3) %}
{%- set decline_minutes = var('fraud_decline_minutes', 30) %}
{%- set decline_sigmas = var('fraud_decline_sigmas', 6) %}
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
windows AS (
    -- one sort of each card's attempts in time order for both rules
    -- (attempts in the velocity window, declines in the decline window),
    -- and the card's attempts and declines that event day (its own rhythm)
    -- as window counts too: no join back, whose plan DuckDB may get wrong
    SELECT a.*,
        COUNT(*) OVER (PARTITION BY a.card_id ORDER BY a.txn_ts_utc
                       RANGE BETWEEN {{ interval_minutes(velocity_minutes) }} PRECEDING
                                 AND CURRENT ROW) AS n_in_window,
        COUNT(*) FILTER (WHERE a.status = 'declined')
                 OVER (PARTITION BY a.card_id ORDER BY a.txn_ts_utc
                       RANGE BETWEEN {{ interval_minutes(decline_minutes) }} PRECEDING
                                 AND CURRENT ROW) AS n_declines_in_window,
        COUNT(*) OVER (PARTITION BY a.card_id, a.event_date) AS n_day_attempts,
        COUNT(*) FILTER (WHERE a.status = 'declined')
                 OVER (PARTITION BY a.card_id, a.event_date) AS n_day_declines
    FROM attempts a
),
thresholds AS (
    SELECT w.*,
        {{ poisson_threshold('2.0 * w.n_day_attempts * ' ~ velocity_minutes ~ ' / 1440.0',
                             velocity_count, velocity_sigmas) }} AS velocity_threshold,
        {{ poisson_threshold('2.0 * w.n_day_declines * ' ~ decline_minutes ~ ' / 1440.0',
                             decline_count, decline_sigmas) }} AS decline_threshold
    FROM windows w
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
           CAST(n_in_window AS DOUBLE PRECISION) AS observed, velocity_threshold AS threshold
    FROM thresholds
    WHERE n_in_window >= velocity_threshold
    UNION ALL
    SELECT transaction_id, 'decline_burst', event_date, txn_ts_utc,
           customer_id, card_id, merchant_id, currency_code, value_krw,
           CAST(n_declines_in_window AS DOUBLE PRECISION), decline_threshold
    FROM thresholds
    WHERE status = 'declined' AND n_declines_in_window >= decline_threshold
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
    CAST(threshold AS DOUBLE PRECISION) AS threshold,
    transaction_id || ':' || rule      AS signal_id
FROM flags
