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
--
-- From the per-customer totals as of the date (customer_totals_as_of),
-- minus the days before the window: one row per customer, never the fact.
{%- set window_days = var('rfm_window_days', 365) %}
WITH as_of AS (
    SELECT {{ as_of_date() }} AS as_of_date
),
totals AS (
    {{ customer_totals_as_of() }}
),
before AS (
    SELECT customer_id, SUM(n_purchases) AS n_purchases, SUM(net_krw) AS net_krw
    FROM {{ ref('int_customer_sales_daily') }}
    WHERE event_date <= {{ add_days(as_of_date(), -window_days) }}
    GROUP BY customer_id
),
per_customer AS (
    SELECT t.customer_id,
           t.last_purchase_date,
           t.n_purchases - COALESCE(b.n_purchases, 0)                       AS frequency,
           CAST(t.net_krw - COALESCE(b.net_krw, 0) AS DECIMAL(18,0))        AS monetary_krw
    FROM totals t
    LEFT JOIN before b ON b.customer_id = t.customer_id
    WHERE t.n_purchases - COALESCE(b.n_purchases, 0) > 0
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
    CAST(frequency AS BIGINT)                                  AS frequency,
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
