{{ config(materialized='incremental', incremental_strategy='changes',
          unique_key=['event_date', 'mcc_code', 'channel'], cluster_by='event_date',
          tags=['marts']) }}

-- Sales per event day x MCC (and its category) x channel, in won.
-- gross_sales_krw: approved purchases; refunds_krw: approved refunds (as a
-- positive number); net_sales_krw = gross - refunds; txn_count: the number
-- of fact rows (purchases + refunds).
--
-- Incremental by change: only the (day, MCC, channel) cells whose fact rows
-- changed in this build are computed again, from the fact rows of those
-- cells (the distinct-customer count is not a sum, so a cell is recounted,
-- not moved).
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
