{{ config(materialized='table', tags=['marts', 'audit']) }}

-- Counts and sums that must agree from the silver lake to the fact and the
-- marts. One row per check; status is 'ok' when both sides are equal, and
-- the schema test on status fails the build (so no mart that disagrees is
-- published) otherwise. See docs/analytics.md.
--
-- Each check sets two ways of reaching the same number against each other:
-- a count of the table itself (cheap: the row counts are metadata) and a
-- per-customer or per-day state kept incrementally from the changes. So a
-- state that drifted from the rows it summarises fails the build, and no
-- check reads the transactions.
WITH as_of AS (
    SELECT {{ as_of_date() }} AS as_of_date
),
silver AS (
    SELECT COUNT(*) AS n FROM {{ source('silver', 'transactions') }}
),
stg AS (
    SELECT COUNT(*) AS n FROM {{ ref('stg_transactions') }}
),
fact AS (
    -- exact without reading the fact when its last build by change left
    -- a count of its rows (table_rows(), macros/dialect.sql)
    SELECT {{ table_rows(ref('fact_transactions')) }} AS n
),
customers AS (
    SELECT COALESCE(SUM(n_attempts), 0) AS n_attempts,
           COALESCE(SUM(n_approved), 0) AS n_approved
    FROM {{ ref('dim_customer') }}
),
totals AS (
    SELECT COALESCE(SUM(n_fact), 0)                                  AS n,
           COALESCE(SUM(n_purchases), 0)                             AS n_purchases,
           CAST(COALESCE(SUM(net_krw), 0) AS DECIMAL(18,0))          AS net_krw,
           CAST(COALESCE(SUM(gross_krw), 0) AS DECIMAL(18,0))        AS gross_krw,
           CAST(COALESCE(SUM(refunds_krw), 0) AS DECIMAL(18,0))      AS refunds_krw
    FROM {{ ref('int_customer_totals') }}
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
sales_as_of AS (
    SELECT
        COALESCE(SUM(purchase_count), 0)                          AS n_purchases,
        CAST(COALESCE(SUM(net_sales_krw), 0) AS DECIMAL(18,0))    AS net_krw
    FROM {{ ref('mart_sales_daily') }}
    WHERE event_date <= {{ as_of_date() }}
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
    UNION ALL SELECT 2, 'stg_transactions rows = dim_customer attempts', stg.n, customers.n_attempts FROM stg, customers
    UNION ALL SELECT 3, 'approved stg rows (dim_customer) = fact_transactions rows', customers.n_approved, fact.n FROM customers, fact
    UNION ALL SELECT 4, 'fact_transactions rows = customer totals fact rows', fact.n, totals.n FROM fact, totals
    UNION ALL SELECT 5, 'customer totals fact rows = mart_sales_daily txn_count', totals.n, sales.n FROM totals, sales
    UNION ALL SELECT 6, 'customer totals purchases = mart_sales_daily purchase_count', totals.n_purchases, sales.n_purchases FROM totals, sales
    UNION ALL SELECT 7, 'customer totals gross won = mart_sales_daily gross_sales_krw', totals.gross_krw, sales.gross_krw FROM totals, sales
    UNION ALL SELECT 8, 'customer totals refunds won = mart_sales_daily refunds_krw', totals.refunds_krw, sales.refunds_krw FROM totals, sales
    UNION ALL SELECT 9, 'customer totals net won = mart_sales_daily net_sales_krw', totals.net_krw, sales.net_krw FROM totals, sales
    UNION ALL SELECT 10, 'mart_sales_daily purchases as of run_date = mart_customer_ltv purchase_count', sales_as_of.n_purchases, ltv.n_purchases FROM sales_as_of, ltv
    UNION ALL SELECT 11, 'mart_sales_daily net won as of run_date = mart_customer_ltv net_krw', sales_as_of.net_krw, ltv.net_krw FROM sales_as_of, ltv
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
