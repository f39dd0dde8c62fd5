{{ config(materialized='view', tags=['marts', 'fraud']) }}

-- One row per (transaction, rule) that a fraud rule flags, for event dates
-- up to the logical date. The rules and their thresholds (vars, defaults
-- below) are documented in docs/models.md and docs/analytics.md:
--   card_velocity   an attempt (any status) on a card that has at least
--                   max(N, ceil(mu + Z sqrt(mu))) attempts in the M minutes
--                   up to it (that event day), where mu = 2 x (the card's attempts that event
--                   day) x M / 1440: the count the card's own daily volume
--                   predicts for an M-minute window in its busiest hours
--                   (about twice the day's average rate), and Z standard
--                   deviations (Poisson) above it. At 5 attempts a day the
--                   floor N decides; a card making a thousand a day is
--                   flagged only for a burst far beyond its own rhythm.
--   decline_burst   the same on declined attempts (N, M, Z of their own)
--   amount_outlier  an approved purchase of at least MIN won and at least
--                   RATIO x the customer's average ordinary purchase (the
--                   approved purchases under MIN won, on its event day
--                   and before), for a customer with at least K
--                   of them by then: judged as of its own day, so a later
--                   day never restates it (decision 1502)
--   foreign_online  an approved online purchase in a foreign currency of at
--                   least MIN won
{%- set outlier_ratio = var('fraud_outlier_ratio', 10) %}
{%- set outlier_min_krw = var('fraud_outlier_min_krw', 1000000) %}
{%- set outlier_min_purchases = var('fraud_outlier_min_purchases', 5) %}
{%- set foreign_min_krw = var('fraud_foreign_online_min_krw', 300000) %}
--
-- Built from small inputs, never the transactions: the card rules' flags
-- per card-day (int_fraud_card_day), the large purchases
-- (int_fraud_candidates) and those of at least MIN won with the norm of
-- their customer as of their day (int_fraud_large_purchases), each kept by
-- change: a few rows per thousand transactions.
--
-- A view: the flags are computed by change in those three models, and
-- this is their union, filtered. Stored as a table it was rebuilt whole
-- every day, a cost that grew with every day of flags (0.13 s on day 2,
-- 0.80 s on day 31, some 6 s at a year; decision 1801, seventeenth round);
-- a reader's query of the view reads those three tables' flags instead.
WITH candidates AS (
    SELECT * FROM {{ ref('int_fraud_candidates') }}
    WHERE event_date <= {{ as_of_date() }}
),
flags AS (
    SELECT transaction_id, rule, event_date, txn_ts_utc, customer_id, card_id,
           merchant_id, currency_code, amount_krw, observed, threshold
    FROM {{ ref('int_fraud_card_day') }}
    WHERE event_date <= {{ as_of_date() }}
    UNION ALL
    SELECT transaction_id, 'amount_outlier', event_date, txn_ts_utc,
           customer_id, card_id, merchant_id, currency_code, amount_krw,
           CAST(amount_krw AS DOUBLE PRECISION) * n_ordinary
               / CAST(ordinary_krw AS DOUBLE PRECISION),
           CAST({{ outlier_ratio }} AS DOUBLE PRECISION)
    FROM {{ ref('int_fraud_large_purchases') }}
    WHERE event_date <= {{ as_of_date() }}
      AND n_ordinary >= {{ outlier_min_purchases }}
      AND ordinary_krw > 0
      AND amount_krw >= {{ outlier_min_krw }}
      AND amount_krw * n_ordinary >= {{ outlier_ratio }} * ordinary_krw
    UNION ALL
    SELECT transaction_id, 'foreign_online', event_date, txn_ts_utc,
           customer_id, card_id, merchant_id, currency_code, amount_krw,
           CAST(amount_krw AS DOUBLE PRECISION), CAST({{ foreign_min_krw }} AS DOUBLE PRECISION)
    FROM candidates
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
    CAST(amount_krw AS DECIMAL(18,0))  AS amount_krw,
    observed,
    CAST(threshold AS DOUBLE PRECISION) AS threshold,
    transaction_id || ':' || rule      AS signal_id
FROM flags
