{{ config(materialized='table', tags=['marts', 'audit']) }}

-- Counts and sums that must agree from the silver lake to the fact and the
-- marts. One row per check; status is 'ok' when both sides are equal, and
-- the schema test on status fails the build (so no mart that disagrees is
-- published) otherwise. See docs/analytics.md.
WITH as_of AS (
    SELECT {{ as_of_date() }} AS as_of_date
),
silver AS (
    SELECT COUNT(*) AS n FROM {{ source('silver', 'transactions') }}
),
stg AS (
    SELECT
        COUNT(*)                                        AS n,
        COUNT(DISTINCT transaction_id)                  AS n_ids,
        COUNT(*) FILTER (WHERE status = 'approved')     AS n_approved,
        CAST(COALESCE(SUM(CASE WHEN t.is_refund THEN -1 ELSE 1 END
                          * {{ to_won('t.amount', 'fx.krw_per_unit') }})
                      FILTER (WHERE t.status = 'approved'), 0) AS DECIMAL(18,0)) AS approved_net_krw
    FROM {{ ref('stg_transactions') }} t
    LEFT JOIN {{ ref('fx_rates') }} fx ON fx.currency = t.currency_code
),
fact AS (
    SELECT
        COUNT(*)                                                  AS n,
        COUNT(*) FILTER (WHERE NOT is_refund)                     AS n_purchases,
        CAST(COALESCE(SUM(amount_krw), 0) AS DECIMAL(18,0))       AS net_krw,
        CAST(COALESCE(SUM(amount_krw) FILTER (WHERE NOT is_refund), 0) AS DECIMAL(18,0)) AS gross_krw,
        CAST(COALESCE(-SUM(amount_krw) FILTER (WHERE is_refund), 0) AS DECIMAL(18,0))   AS refunds_krw
    FROM {{ ref('fact_transactions') }}
),
fact_as_of AS (
    SELECT
        COUNT(*) FILTER (WHERE NOT f.is_refund)                   AS n_purchases,
        CAST(COALESCE(SUM(f.amount_krw), 0) AS DECIMAL(18,0))     AS net_krw
    FROM {{ ref('fact_transactions') }} f, as_of
    WHERE f.event_date <= as_of.as_of_date
),
sales AS (
    SELECT
        COALESCE(SUM(txn_count), 0)                               AS n,
        COALESCE(SUM(purchase_count), 0)                          AS n_purchases,
        CAST(COALESCE(SUM(net_sales_krw), 0) AS DECIMAL(18,0))    AS net_krw,
        CAST(COALESCE(SUM(gross_sales_krw), 0) AS DECIMAL(18,0))  AS gross_krw,
        CAST(COALESCE(SUM(refunds_krw), 0) AS DECIMAL(18,0))      AS refunds_krw
    FROM {{ ref('mart_sales_daily') }}
),
ltv AS (
    SELECT
        COALESCE(SUM(purchase_count), 0)                          AS n_purchases,
        CAST(COALESCE(SUM(net_krw), 0) AS DECIMAL(18,0))          AS net_krw
    FROM {{ ref('mart_customer_ltv') }}
),
checks AS (
    SELECT 1 AS check_order, 'silver rows = stg_transactions rows' AS check_name,
           CAST(silver.n AS DECIMAL(38,0)) AS left_value, CAST(stg.n AS DECIMAL(38,0)) AS right_value
    FROM silver, stg
    UNION ALL SELECT 2, 'stg_transactions rows = distinct transaction_id', stg.n, stg.n_ids FROM stg
    UNION ALL SELECT 3, 'approved stg rows = fact_transactions rows', stg.n_approved, fact.n FROM stg, fact
    UNION ALL SELECT 4, 'approved stg net won = fact_transactions net won', stg.approved_net_krw, fact.net_krw FROM stg, fact
    UNION ALL SELECT 5, 'fact_transactions rows = mart_sales_daily txn_count', fact.n, sales.n FROM fact, sales
    UNION ALL SELECT 6, 'fact_transactions purchases = mart_sales_daily purchase_count', fact.n_purchases, sales.n_purchases FROM fact, sales
    UNION ALL SELECT 7, 'fact_transactions gross won = mart_sales_daily gross_sales_krw', fact.gross_krw, sales.gross_krw FROM fact, sales
    UNION ALL SELECT 8, 'fact_transactions refunds won = mart_sales_daily refunds_krw', fact.refunds_krw, sales.refunds_krw FROM fact, sales
    UNION ALL SELECT 9, 'fact_transactions net won = mart_sales_daily net_sales_krw', fact.net_krw, sales.net_krw FROM fact, sales
    UNION ALL SELECT 10, 'fact_transactions purchases as of run_date = mart_customer_ltv purchase_count', fact_as_of.n_purchases, ltv.n_purchases FROM fact_as_of, ltv
    UNION ALL SELECT 11, 'fact_transactions net won as of run_date = mart_customer_ltv net_krw', fact_as_of.net_krw, ltv.net_krw FROM fact_as_of, ltv
)
SELECT
    check_order,
    check_name,
    left_value,
    right_value,
    left_value - right_value                                      AS difference,
    CASE WHEN left_value = right_value THEN 'ok' ELSE 'mismatch' END AS status,
    (SELECT as_of_date FROM as_of)                                AS as_of_date
FROM checks
