{{ config(materialized='table', tags=['marts', 'customer']) }}

-- RFM as of the logical date var('run_date') (see the as_of_date macro):
-- every customer with at least one approved purchase on or before it, in
-- the var('rfm_window_days') days up to it (default 365).
--   recency_days   days from the last purchase to the as-of date
--   frequency      approved purchases (refunds are not visits)
--   monetary_krw   net won: purchases minus refunds in the window
-- Scores 1..5 are rank-based quintiles in which equal values get equal
-- scores (tie_aware_quintile): 5 = most recent / most frequent / most
-- valuable. Segments: docs/analytics.md.
{%- set window_days = var('rfm_window_days', 365) %}
WITH as_of AS (
    SELECT {{ as_of_date() }} AS as_of_date
),
txn AS (
    SELECT f.*
    FROM {{ ref('fact_transactions') }} f, as_of
    WHERE f.event_date <= as_of.as_of_date
      AND f.event_date > {{ add_days('as_of.as_of_date', -window_days) }}
),
per_customer AS (
    SELECT
        customer_id,
        MAX(event_date) FILTER (WHERE NOT is_refund)  AS last_purchase_date,
        COUNT(*) FILTER (WHERE NOT is_refund)         AS frequency,
        CAST(SUM(amount_krw) AS DECIMAL(18,0))        AS monetary_krw
    FROM txn
    GROUP BY customer_id
    HAVING COUNT(*) FILTER (WHERE NOT is_refund) > 0
),
measured AS (
    SELECT p.*, a.as_of_date,
           {{ days_between('p.last_purchase_date', 'a.as_of_date') }} AS recency_days
    FROM per_customer p, as_of a
),
scored AS (
    SELECT *,
        {{ tie_aware_quintile('recency_days DESC') }}  AS r_score,
        {{ tie_aware_quintile('frequency ASC') }}      AS f_score,
        {{ tie_aware_quintile('monetary_krw ASC') }}   AS m_score
    FROM measured
)
SELECT
    customer_id,
    as_of_date,
    last_purchase_date,
    recency_days,
    frequency,
    monetary_krw,
    CAST(r_score AS INTEGER)                                   AS r_score,
    CAST(f_score AS INTEGER)                                   AS f_score,
    CAST(m_score AS INTEGER)                                   AS m_score,
    CAST(r_score AS VARCHAR) || CAST(f_score AS VARCHAR) || CAST(m_score AS VARCHAR) AS rfm_cell,
    CASE
        WHEN r_score >= 4 AND f_score >= 4 AND m_score >= 4 THEN 'Champions'
        WHEN r_score >= 3 AND f_score >= 4                  THEN 'Loyal'
        WHEN r_score >= 4 AND f_score >= 2                  THEN 'Potential loyalists'
        WHEN r_score >= 4                                   THEN 'New customers'
        WHEN r_score <= 2 AND f_score >= 4                  THEN 'Cannot lose them'
        WHEN r_score <= 2 AND f_score >= 2                  THEN 'At risk'
        WHEN r_score = 1                                    THEN 'Lost'
        WHEN r_score = 2                                    THEN 'Hibernating'
        ELSE 'Need attention'
    END                                                        AS segment
FROM scored
