{{ config(materialized='incremental', incremental_strategy='changes',
          unique_key='customer_id', tags=['core']) }}

-- One row per customer seen in the lake (any status), so every fact row has
-- its customer. Activity columns count all attempts, not only approved
-- ones; the main card is the one with the most attempts (ties: the smallest
-- card_id).
--
-- Kept from two per-customer states, never from the transactions: the
-- customers whose (customer, date) attempt counts changed in this build get
-- their counts moved by the change; first and last seen dates move with
-- the days that gained their first attempt, and are looked up again only
-- for a customer whose first or last day lost its last attempt.
WITH cards AS (
    SELECT customer_id, COUNT(*) AS n_cards,
           MIN(CASE WHEN rn = 1 THEN card_id END) AS main_card_id
    FROM (
        SELECT customer_id, card_id,
               ROW_NUMBER() OVER (PARTITION BY customer_id
                                  ORDER BY n_attempts DESC, card_id) AS rn
        FROM {{ ref('int_customer_cards') }}
        {% if is_incremental() %}
        WHERE customer_id IN (SELECT customer_id FROM {{ changes(ref('int_customer_attempts_daily')) }})
        {% endif %}
    ) c
    GROUP BY customer_id
),
{% if is_incremental() %}
delta AS (
    SELECT * FROM {{ changes(ref('int_customer_attempts_daily')) }}
),
moved AS (
    SELECT d.customer_id,
           SUM({{ change_sign('d') }} * d.n_attempts)                    AS n_attempts,
           SUM({{ change_sign('d') }} * d.n_approved)                    AS n_approved,
           SUM({{ change_sign('d') }} * d.n_foreign)                     AS n_foreign,
           MIN(CASE WHEN d._change_type = 'insert' THEN d.event_date END) AS first_added,
           MAX(CASE WHEN d._change_type = 'insert' THEN d.event_date END) AS last_added
    FROM delta d
    GROUP BY d.customer_id
),
state AS (
    SELECT m.customer_id,
           COALESCE(t.n_attempts, 0) + m.n_attempts AS n_attempts,
           COALESCE(t.n_approved, 0) + m.n_approved AS n_approved,
           COALESCE(t.n_foreign, 0) + m.n_foreign   AS n_foreign,
           -- a day that lost its last attempt was the first (last) day: look it up
           (EXISTS (SELECT 1 FROM delta r WHERE r.customer_id = m.customer_id
                    AND r._change_type = 'delete'
                    AND (r.event_date = t.first_seen_date OR r.event_date = t.last_seen_date))) AS lost_edge,
           CASE WHEN t.first_seen_date IS NULL THEN m.first_added
                WHEN m.first_added IS NULL THEN t.first_seen_date
                ELSE LEAST(t.first_seen_date, m.first_added) END   AS first_seen_date,
           CASE WHEN t.last_seen_date IS NULL THEN m.last_added
                WHEN m.last_added IS NULL THEN t.last_seen_date
                ELSE GREATEST(t.last_seen_date, m.last_added) END  AS last_seen_date
    FROM moved m
    LEFT JOIN {{ this }} t ON t.customer_id = m.customer_id
),
edges AS (
    SELECT customer_id, MIN(event_date) AS first_seen_date, MAX(event_date) AS last_seen_date
    FROM {{ ref('int_customer_attempts_daily') }}
    WHERE customer_id IN (SELECT customer_id FROM state WHERE lost_edge)
    GROUP BY customer_id
),
customers AS (
    SELECT s.customer_id,
           COALESCE(e.first_seen_date, s.first_seen_date) AS first_seen_date,
           COALESCE(e.last_seen_date, s.last_seen_date)   AS last_seen_date,
           s.n_attempts, s.n_approved, s.n_foreign
    FROM state s
    LEFT JOIN edges e ON e.customer_id = s.customer_id
    WHERE s.n_attempts > 0
)
{% else %}
customers AS (
    SELECT customer_id,
           MIN(event_date)   AS first_seen_date,
           MAX(event_date)   AS last_seen_date,
           SUM(n_attempts)   AS n_attempts,
           SUM(n_approved)   AS n_approved,
           SUM(n_foreign)    AS n_foreign
    FROM {{ ref('int_customer_attempts_daily') }}
    GROUP BY customer_id
)
{% endif %}
SELECT
    c.customer_id,
    c.first_seen_date,
    c.last_seen_date,
    CAST(k.n_cards AS BIGINT)     AS n_cards,
    k.main_card_id,
    CAST(c.n_attempts AS BIGINT)  AS n_attempts,
    CAST(c.n_approved AS BIGINT)  AS n_approved,
    CAST(c.n_foreign AS BIGINT)   AS n_foreign
FROM customers c
LEFT JOIN cards k ON k.customer_id = c.customer_id
