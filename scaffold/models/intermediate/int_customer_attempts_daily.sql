{{ config(materialized='incremental', incremental_strategy='changes',
          unique_key=['customer_id', 'event_date'], cluster_by='event_date',
          tags=['intermediate']) }}

-- Per customer and event date: attempts (any status), approved attempts,
-- attempts in a foreign currency. The state dim_customer is kept from.
--
-- Incremental by change: the (customer, date) pairs whose stg rows changed
-- get their counts moved by the change (+1 for each new version, -1 for
-- each replaced one); a pair that falls to zero attempts is removed.
{% if is_incremental() %}
WITH delta AS (
    SELECT customer_id, event_date,
           SUM({{ change_sign() }})                                            AS n_attempts,
           SUM({{ change_sign() }} * CASE WHEN status = 'approved' THEN 1 ELSE 0 END) AS n_approved,
           SUM({{ change_sign() }} * CASE WHEN currency_code <> 'KRW' THEN 1 ELSE 0 END) AS n_foreign
    FROM {{ changes(ref('stg_transactions')) }}
    GROUP BY customer_id, event_date
),
merged AS (
    SELECT d.customer_id, d.event_date,
           COALESCE(t.n_attempts, 0) + d.n_attempts AS n_attempts,
           COALESCE(t.n_approved, 0) + d.n_approved AS n_approved,
           COALESCE(t.n_foreign, 0) + d.n_foreign   AS n_foreign
    FROM delta d
    LEFT JOIN {{ this }} t ON t.customer_id = d.customer_id AND t.event_date = d.event_date
)
SELECT customer_id, event_date,
       CAST(n_attempts AS BIGINT) AS n_attempts,
       CAST(n_approved AS BIGINT) AS n_approved,
       CAST(n_foreign AS BIGINT)  AS n_foreign
FROM merged
WHERE n_attempts > 0
{% else %}
SELECT customer_id, event_date,
       CAST(COUNT(*) AS BIGINT)                                           AS n_attempts,
       CAST(SUM(CASE WHEN status = 'approved' THEN 1 ELSE 0 END) AS BIGINT) AS n_approved,
       CAST(SUM(CASE WHEN currency_code <> 'KRW' THEN 1 ELSE 0 END) AS BIGINT) AS n_foreign
FROM {{ ref('stg_transactions') }}
GROUP BY customer_id, event_date
{% endif %}
