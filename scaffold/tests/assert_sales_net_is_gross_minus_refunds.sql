-- Every mart_sales_daily row: net = gross - refunds, and the counts add up.
SELECT *
FROM {{ ref('mart_sales_daily') }}
WHERE net_sales_krw <> gross_sales_krw - refunds_krw
   OR txn_count <> purchase_count + refund_count
   OR gross_sales_krw < 0 OR refunds_krw < 0
