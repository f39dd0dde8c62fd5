{{ config(materialized='table', tags=['core']) }}

-- One row per merchant seen in the lake, with its MCC, category and the
-- currency it prices in. A merchant has one MCC and one currency; should a
-- feed ever disagree, the most frequent wins (ties: the smallest code), so
-- the dimension stays one row per merchant. Built from int_merchant_mix
-- (per merchant, MCC and currency over every day: a few rows per merchant
-- whatever the lake holds), not from the per-day counts nor the
-- transactions.
WITH txn AS (
    -- attempts and first/last days per merchant, MCC and currency
    SELECT * FROM {{ ref('int_merchant_mix') }}
),
mcc AS (
    SELECT merchant_id, mcc_code,
           ROW_NUMBER() OVER (PARTITION BY merchant_id
                              ORDER BY SUM(n_attempts) DESC, mcc_code) AS rn
    FROM txn GROUP BY merchant_id, mcc_code
),
cur AS (
    SELECT merchant_id, currency_code,
           ROW_NUMBER() OVER (PARTITION BY merchant_id
                              ORDER BY SUM(n_attempts) DESC, currency_code) AS rn
    FROM txn GROUP BY merchant_id, currency_code
),
activity AS (
    SELECT merchant_id,
           MIN(first_seen_date)         AS first_seen_date,
           MAX(last_seen_date)          AS last_seen_date,
           CAST(SUM(n_attempts) AS BIGINT) AS n_attempts
    FROM txn GROUP BY merchant_id
)
SELECT
    a.merchant_id,
    m.mcc_code,
    codes.description                    AS mcc_description,
    codes.category,
    c.currency_code,
    c.currency_code <> 'KRW'             AS is_foreign,
    a.first_seen_date,
    a.last_seen_date,
    a.n_attempts
FROM activity a
JOIN mcc m ON m.merchant_id = a.merchant_id AND m.rn = 1
JOIN cur c ON c.merchant_id = a.merchant_id AND c.rn = 1
LEFT JOIN {{ ref('mcc_codes') }} codes ON codes.code = m.mcc_code
