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
-- for a customer whose first or last day lost its last attempt: in the
-- days the change reached and var('customer_edges_near_days') (7; a
-- negative value counts as 0) before them, and in every day only for a
-- customer those days do not settle (as int_customer_totals does).
-- Looking in every day read the whole of int_customer_attempts_daily
-- each day (16 M rows and 1.8 s after three months at 1,000,000 rows a
-- day) for the few dozen customers who lost an edge.
{%- set near_days = var('customer_edges_near_days', 7) | int %}
{%- if near_days < 0 %}{% set near_days = 0 %}{% endif %}
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
           t.first_seen_date                        AS was_first_seen,
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
near_from AS (
    -- the changed days and the few before them: the table's rows before
    -- them are ones the change did not touch
    SELECT {{ add_days('MIN(event_date)', -near_days) }} AS d FROM delta
),
near AS (
    -- the lost-edge customers' rows of those days only (the filter on the
    -- date lets the storage skip the blocks of the other days)
    SELECT customer_id, MIN(event_date) AS first_seen_date, MAX(event_date) AS last_seen_date
    FROM {{ ref('int_customer_attempts_daily') }}
    WHERE event_date >= (SELECT d FROM near_from)
      AND customer_id IN (SELECT customer_id FROM state WHERE lost_edge)
    GROUP BY customer_id
),
near_edges AS (
    -- what the near days settle: a first day before them stands (its row
    -- is untouched); a last day is the near days' latest when they hold
    -- one (every other row is earlier); a customer whose first day is
    -- among them has no row before them at all
    SELECT s.customer_id,
           CASE WHEN s.was_first_seen < f.d THEN s.was_first_seen
                ELSE n.first_seen_date END                          AS first_seen_date,
           n.last_seen_date,
           CASE WHEN n.last_seen_date IS NOT NULL OR NOT (s.was_first_seen < f.d)
                THEN 1 ELSE 0 END                                   AS settled
    FROM state s
    CROSS JOIN near_from f
    LEFT JOIN near n ON n.customer_id = s.customer_id
    WHERE s.lost_edge
),
edges AS (
    SELECT customer_id, first_seen_date, last_seen_date
    FROM near_edges
    WHERE settled = 1
    UNION ALL
    -- a last day before the near days: looked up in every day (rare: a
    -- customer whose last day lost its attempts and who had none in the
    -- days before)
    SELECT customer_id, MIN(event_date) AS first_seen_date, MAX(event_date) AS last_seen_date
    FROM {{ ref('int_customer_attempts_daily') }}
    WHERE customer_id IN (SELECT customer_id FROM near_edges WHERE settled = 0)
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
