{{ config(materialized='incremental', incremental_strategy='changes',
          unique_key=['event_date', 'mcc_code', 'channel'], cluster_by='event_date',
          tags=['marts']) }}

-- Sales per event day x MCC (and its category) x channel, in won.
-- gross_sales_krw: approved purchases; refunds_krw: approved refunds (as a
-- positive number); net_sales_krw = gross - refunds; txn_count: the number
-- of fact rows (purchases + refunds).
--
-- Incremental by change: the (day, MCC, channel) cells whose fact rows
-- changed in this build are moved by the change: sums and counts by +/-
-- each image. The distinct-customer count is not a sum, but whether a
-- customer is in a cell is: a changed (cell, customer) pair counts before
-- the change if the fact held a row of it then (its rows now minus the
-- change), after if it holds one now. Only pairs of cells the mart
-- already held are looked up in the fact (those of the few late arrivals); a cell
-- that is new (the new day) had no customer before. Recounting the
-- touched cells instead read every fact row of the last ten event days
-- (as far back as late arrivals reach) each day.
{%- set won = ['gross_sales_krw', 'refunds_krw', 'net_sales_krw'] %}
{%- set counts = ['txn_count', 'purchase_count', 'refund_count'] %}
{% if is_incremental() %}
WITH ch AS (
    SELECT event_date, mcc_code, channel, customer_id, is_refund, amount_krw,
           {{ change_sign() }} AS s,
           CASE WHEN _change_type IN ('insert', 'update_postimage') THEN category END AS new_category
    FROM {{ changes(ref('fact_transactions')) }}
),
moved AS (
    -- what the change adds to each changed cell
    SELECT event_date, mcc_code, channel,
           MAX(new_category)                                                AS category,
           SUM(s * CASE WHEN NOT is_refund THEN amount_krw ELSE 0 END)      AS gross_sales_krw,
           SUM(s * CASE WHEN is_refund THEN -amount_krw ELSE 0 END)         AS refunds_krw,
           SUM(s * amount_krw)                                              AS net_sales_krw,
           SUM(s)                                                           AS txn_count,
           SUM(s * CASE WHEN NOT is_refund THEN 1 ELSE 0 END)               AS purchase_count,
           SUM(s * CASE WHEN is_refund THEN 1 ELSE 0 END)                   AS refund_count
    FROM ch
    GROUP BY event_date, mcc_code, channel
),
pairs AS (
    -- each changed (cell, customer): the net number of rows the change adds
    SELECT event_date, mcc_code, channel, customer_id, SUM(s) AS net
    FROM ch
    GROUP BY event_date, mcc_code, channel, customer_id
),
held_pairs AS (
    -- the pairs of cells the mart held: the customer may have other rows
    -- there (semi joins, so the planner knows these are few and builds its
    -- hash tables on them, not on the fact)
    SELECT p.event_date, p.mcc_code, p.channel, p.customer_id, p.net
    FROM pairs p
    WHERE (p.event_date, p.mcc_code, p.channel) IN
          (SELECT event_date, mcc_code, channel FROM {{ this }})
),
held_rows AS (
    -- the rows the fact holds now for those pairs, on their days only (the
    -- filter on the days lets DuckDB skip the blocks of the other days)
    SELECT event_date, mcc_code, channel, customer_id, COUNT(*) AS n_now
    FROM {{ ref('fact_transactions') }}
    WHERE event_date IN (SELECT DISTINCT event_date FROM held_pairs)
      AND (event_date, mcc_code, channel, customer_id) IN
          (SELECT event_date, mcc_code, channel, customer_id FROM held_pairs)
    GROUP BY event_date, mcc_code, channel, customer_id
),
customers_moved AS (
    -- a pair counts before if it had rows then (now minus what the change added)
    SELECT h.event_date, h.mcc_code, h.channel,
           SUM(CASE WHEN COALESCE(r.n_now, 0) > 0 THEN 1 ELSE 0 END)
           - SUM(CASE WHEN COALESCE(r.n_now, 0) - h.net > 0 THEN 1 ELSE 0 END) AS customer_count
    FROM held_pairs h
    LEFT JOIN held_rows r
      ON r.event_date = h.event_date AND r.mcc_code = h.mcc_code AND r.channel = h.channel
     AND r.customer_id = h.customer_id
    GROUP BY h.event_date, h.mcc_code, h.channel
    UNION ALL
    SELECT p.event_date, p.mcc_code, p.channel,
           SUM(CASE WHEN p.net > 0 THEN 1 ELSE 0 END)
    FROM pairs p
    LEFT JOIN {{ this }} t
      ON t.event_date = p.event_date AND t.mcc_code = p.mcc_code AND t.channel = p.channel
    WHERE t.event_date IS NULL
    GROUP BY p.event_date, p.mcc_code, p.channel
),
cells AS (
    SELECT m.event_date, m.mcc_code, m.channel,
           COALESCE(m.category, t.category) AS category
           {%- for c in won + counts %},
           COALESCE(t.{{ c }}, 0) + m.{{ c }} AS {{ c }}
           {%- endfor %},
           COALESCE(t.customer_count, 0) + c.customer_count AS customer_count
    FROM moved m
    JOIN customers_moved c
      ON c.event_date = m.event_date AND c.mcc_code = m.mcc_code AND c.channel = m.channel
    LEFT JOIN {{ this }} t
      ON t.event_date = m.event_date AND t.mcc_code = m.mcc_code AND t.channel = m.channel
)
SELECT event_date, mcc_code, category, channel
       {%- for c in won %},
       CAST({{ c }} AS DECIMAL(18,0)) AS {{ c }}
       {%- endfor %}
       {%- for c in counts + ['customer_count'] %},
       CAST({{ c }} AS BIGINT) AS {{ c }}
       {%- endfor %}
FROM cells
WHERE txn_count > 0
{% else %}
SELECT
    event_date,
    mcc_code,
    MAX(category)                                                   AS category,
    channel,
    CAST(COALESCE({{ sum_where('amount_krw', 'NOT is_refund') }}, 0) AS DECIMAL(18,0)) AS gross_sales_krw,
    CAST(COALESCE(-{{ sum_where('amount_krw', 'is_refund') }}, 0) AS DECIMAL(18,0))     AS refunds_krw,
    CAST(SUM(amount_krw) AS DECIMAL(18,0))                          AS net_sales_krw,
    COUNT(*)                                                        AS txn_count,
    {{ count_where('NOT is_refund') }}                           AS purchase_count,
    {{ count_where('is_refund') }}                               AS refund_count,
    COUNT(DISTINCT customer_id)                                     AS customer_count
FROM {{ ref('fact_transactions') }}
GROUP BY event_date, mcc_code, channel
{% endif %}
