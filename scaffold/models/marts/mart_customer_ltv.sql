{{ config(materialized='table', tags=['marts', 'customer']) }}

-- Lifetime value per customer as of the logical date (every customer with a
-- fact row on or before it, so the sums reconcile with the fact — a
-- customer may have only a refund of a purchase older than the lake):
-- everything the customer has spent (approved purchases minus refunds, in won) on or
-- before it, the tenure since the first activity, and a simple run-rate
-- projection of the next 365 days (net per active-tenure day x 365; tenure
-- counted as at least 30 days so a first-week customer is not
-- extrapolated from a single day).
WITH as_of AS (
    SELECT {{ as_of_date() }} AS as_of_date
),
txn AS (
    SELECT f.* FROM {{ ref('fact_transactions') }} f, as_of
    WHERE f.event_date <= as_of.as_of_date
),
per_customer AS (
    SELECT
        customer_id,
        MIN(event_date) FILTER (WHERE NOT is_refund)  AS first_purchase_date,
        MAX(event_date) FILTER (WHERE NOT is_refund)  AS last_purchase_date,
        COUNT(*) FILTER (WHERE NOT is_refund)         AS purchase_count,
        COUNT(*) FILTER (WHERE is_refund)             AS refund_count,
        MIN(event_date)                               AS first_activity_date,
        COUNT(DISTINCT event_date)                    AS active_days,
        CAST(COALESCE(SUM(amount_krw) FILTER (WHERE NOT is_refund), 0) AS DECIMAL(18,0)) AS gross_krw,
        CAST(COALESCE(-SUM(amount_krw) FILTER (WHERE is_refund), 0) AS DECIMAL(18,0))    AS refunds_krw,
        CAST(SUM(amount_krw) AS DECIMAL(18,0))        AS net_krw
    FROM txn
    GROUP BY customer_id
)
SELECT
    p.customer_id,
    a.as_of_date,
    p.first_purchase_date,
    p.last_purchase_date,
    {{ days_between('p.first_activity_date', 'a.as_of_date') }} + 1  AS tenure_days,
    p.purchase_count,
    p.refund_count,
    p.active_days,
    p.gross_krw,
    p.refunds_krw,
    p.net_krw,
    CAST(ROUND(p.gross_krw / NULLIF(p.purchase_count, 0), 0) AS DECIMAL(18,0))  AS avg_purchase_krw,
    CAST(ROUND(p.net_krw * 365.0
               / GREATEST({{ days_between('p.first_activity_date', 'a.as_of_date') }} + 1, 30), 0)
         AS DECIMAL(18,0))                                           AS projected_365d_krw
FROM per_customer p, as_of a
