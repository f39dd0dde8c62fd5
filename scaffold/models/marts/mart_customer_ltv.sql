{{ config(materialized='table', tags=['marts', 'customer']) }}

-- Lifetime value per customer as of the logical date (every customer with a
-- fact row on or before it, so the sums reconcile with the fact — a
-- customer may have only a refund of a purchase older than the lake):
-- everything the customer has spent (approved purchases minus refunds, in
-- won) on or before it, the tenure since the first activity, and a simple
-- run-rate projection of the next 365 days (net per active-tenure day x
-- 365; tenure counted as at least 30 days so a first-week customer is not
-- extrapolated from a single day).
--
-- From the per-customer totals (int_customer_totals), not the fact: one
-- row per customer, however long the lake. Days after the as-of date (a
-- rerun of an earlier date) are taken out of the totals again; in the
-- daily run there are none.
WITH as_of AS (
    SELECT {{ as_of_date() }} AS as_of_date
),
totals AS (
    {{ customer_totals_as_of() }}
)
SELECT
    p.customer_id,
    a.as_of_date,
    p.first_purchase_date,
    p.last_purchase_date,
    {{ days_between('p.first_activity_date', 'a.as_of_date') }} + 1  AS tenure_days,
    p.n_purchases                                                    AS purchase_count,
    p.n_refunds                                                      AS refund_count,
    p.active_days,
    p.gross_krw,
    p.refunds_krw,
    p.net_krw,
    CAST(ROUND(p.gross_krw / NULLIF(p.n_purchases, 0), 0) AS DECIMAL(18,0))  AS avg_purchase_krw,
    CAST(ROUND(p.net_krw * 365.0
               / GREATEST({{ days_between('p.first_activity_date', 'a.as_of_date') }} + 1, 30), 0)
         AS DECIMAL(18,0))                                           AS projected_365d_krw
FROM totals p, as_of a
