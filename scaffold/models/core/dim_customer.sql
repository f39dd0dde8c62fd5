{{ config(materialized='table', tags=['core']) }}

-- One row per customer seen in the lake (any status), so every fact row has
-- its customer. Activity columns count all attempts, not only approved ones.
WITH txn AS (
    SELECT * FROM {{ ref('stg_transactions') }}
),
cards AS (
    -- the customer's main card: the one with the most attempts (ties: the
    -- smallest card_id)
    SELECT customer_id, card_id,
           ROW_NUMBER() OVER (PARTITION BY customer_id
                              ORDER BY COUNT(*) DESC, card_id) AS rn
    FROM txn
    GROUP BY customer_id, card_id
)
SELECT
    t.customer_id,
    MIN(t.event_date)                                   AS first_seen_date,
    MAX(t.event_date)                                   AS last_seen_date,
    COUNT(DISTINCT t.card_id)                           AS n_cards,
    MAX(c.card_id)                                      AS main_card_id,
    COUNT(*)                                            AS n_attempts,
    COUNT(*) FILTER (WHERE t.status = 'approved')       AS n_approved,
    COUNT(*) FILTER (WHERE t.currency_code <> 'KRW')    AS n_foreign
FROM txn t
LEFT JOIN cards c ON c.customer_id = t.customer_id AND c.rn = 1
GROUP BY t.customer_id
