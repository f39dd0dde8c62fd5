{{ config(materialized='incremental', incremental_strategy='changes',
          unique_key=['customer_id', 'card_id'], tags=['intermediate']) }}

-- Attempts per customer and card (any status): dim_customer's card count
-- and main card. Incremental by change, like int_customer_attempts_daily.
{% if is_incremental() %}
WITH delta AS (
    SELECT customer_id, card_id, SUM({{ change_sign() }}) AS n_attempts
    FROM {{ changes(ref('stg_transactions')) }}
    GROUP BY customer_id, card_id
)
SELECT d.customer_id, d.card_id,
       CAST(COALESCE(t.n_attempts, 0) + d.n_attempts AS BIGINT) AS n_attempts
FROM delta d
LEFT JOIN {{ this }} t ON t.customer_id = d.customer_id AND t.card_id = d.card_id
WHERE COALESCE(t.n_attempts, 0) + d.n_attempts > 0
{% else %}
SELECT customer_id, card_id, CAST(COUNT(*) AS BIGINT) AS n_attempts
FROM {{ ref('stg_transactions') }}
GROUP BY customer_id, card_id
{% endif %}
