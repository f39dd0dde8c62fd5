{{ config(materialized='incremental', incremental_strategy='changes',
          unique_key='transaction_id', cluster_by='event_date',
          tags=['intermediate', 'fraud']) }}

-- The approved purchases large enough for a purchase rule of
-- mart_fraud_signals (amount_outlier, foreign_online): at least the smaller
-- of the two rules' minimums. A few in a thousand purchases, so the mart
-- judges them all again every day against the customers' current totals
-- without reading the fact. Incremental by change, row by row.
{%- set outlier_min_krw = var('fraud_outlier_min_krw', 1000000) %}
{%- set foreign_min_krw = var('fraud_foreign_online_min_krw', 300000) %}
SELECT transaction_id, event_date, txn_ts_utc, customer_id, card_id,
       merchant_id, currency_code, channel, amount_krw
FROM {{ ref('fact_transactions') }}
WHERE NOT is_refund
  AND amount_krw >= {{ outlier_min_krw if outlier_min_krw < foreign_min_krw else foreign_min_krw }}
