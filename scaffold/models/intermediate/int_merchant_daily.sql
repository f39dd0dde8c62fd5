{{ config(materialized='incremental', incremental_strategy='changes',
          unique_key=['merchant_id', 'event_date', 'mcc_code', 'currency_code'],
          cluster_by='event_date', tags=['intermediate']) }}

-- Attempts per merchant, event date, MCC and currency: what dim_merchant
-- is built from (a few rows per merchant and day, not the transactions).
-- Incremental by change.
{% if is_incremental() %}
WITH delta AS (
    SELECT merchant_id, event_date, mcc_code, currency_code,
           SUM({{ change_sign() }}) AS n_attempts
    FROM {{ changes(ref('stg_transactions')) }}
    GROUP BY merchant_id, event_date, mcc_code, currency_code
)
SELECT d.merchant_id, d.event_date, d.mcc_code, d.currency_code,
       CAST(COALESCE(t.n_attempts, 0) + d.n_attempts AS BIGINT) AS n_attempts
FROM delta d
LEFT JOIN {{ this }} t
  ON t.merchant_id = d.merchant_id AND t.event_date = d.event_date
 AND t.mcc_code = d.mcc_code AND t.currency_code = d.currency_code
WHERE COALESCE(t.n_attempts, 0) + d.n_attempts > 0
{% else %}
SELECT merchant_id, event_date, mcc_code, currency_code,
       CAST(COUNT(*) AS BIGINT) AS n_attempts
FROM {{ ref('stg_transactions') }}
GROUP BY merchant_id, event_date, mcc_code, currency_code
{% endif %}
