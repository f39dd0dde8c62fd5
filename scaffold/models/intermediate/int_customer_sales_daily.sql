{{ config(materialized='incremental', incremental_strategy='changes',
          unique_key=['customer_id', 'event_date'], cluster_by='event_date',
          tags=['intermediate']) }}

-- Per customer and event date, from the fact: purchases and refunds, their
-- won, and the customer's ordinary purchases (under
-- var('fraud_outlier_min_krw'), the baseline of the amount_outlier rule).
-- The state the customer marts are kept from. Incremental by change.
{%- set outlier_min_krw = var('fraud_outlier_min_krw', 1000000) %}
{% if is_incremental() %}
WITH delta AS (
    SELECT customer_id, event_date,
           SUM({{ change_sign() }})                                                  AS n_fact,
           SUM({{ change_sign() }} * CASE WHEN NOT is_refund THEN 1 ELSE 0 END)      AS n_purchases,
           SUM({{ change_sign() }} * CASE WHEN is_refund THEN 1 ELSE 0 END)          AS n_refunds,
           SUM({{ change_sign() }} * CASE WHEN NOT is_refund THEN amount_krw ELSE 0 END) AS gross_krw,
           SUM({{ change_sign() }} * CASE WHEN is_refund THEN -amount_krw ELSE 0 END)    AS refunds_krw,
           SUM({{ change_sign() }} * amount_krw)                                      AS net_krw,
           SUM({{ change_sign() }} * CASE WHEN NOT is_refund AND amount_krw < {{ outlier_min_krw }} THEN 1 ELSE 0 END) AS n_ordinary,
           SUM({{ change_sign() }} * CASE WHEN NOT is_refund AND amount_krw < {{ outlier_min_krw }} THEN amount_krw ELSE 0 END) AS ordinary_krw
    FROM {{ changes(ref('fact_transactions')) }}
    GROUP BY customer_id, event_date
),
merged AS (
    SELECT d.customer_id, d.event_date,
           COALESCE(t.n_fact, 0) + d.n_fact             AS n_fact,
           COALESCE(t.n_purchases, 0) + d.n_purchases   AS n_purchases,
           COALESCE(t.n_refunds, 0) + d.n_refunds       AS n_refunds,
           COALESCE(t.gross_krw, 0) + d.gross_krw       AS gross_krw,
           COALESCE(t.refunds_krw, 0) + d.refunds_krw   AS refunds_krw,
           COALESCE(t.net_krw, 0) + d.net_krw           AS net_krw,
           COALESCE(t.n_ordinary, 0) + d.n_ordinary     AS n_ordinary,
           COALESCE(t.ordinary_krw, 0) + d.ordinary_krw AS ordinary_krw
    FROM delta d
    LEFT JOIN {{ this }} t ON t.customer_id = d.customer_id AND t.event_date = d.event_date
),
days AS (
    SELECT * FROM merged WHERE n_fact > 0
)
{% else %}
WITH days AS (
    SELECT customer_id, event_date,
           COUNT(*)                                                            AS n_fact,
           SUM(CASE WHEN NOT is_refund THEN 1 ELSE 0 END)                      AS n_purchases,
           SUM(CASE WHEN is_refund THEN 1 ELSE 0 END)                          AS n_refunds,
           SUM(CASE WHEN NOT is_refund THEN amount_krw ELSE 0 END)             AS gross_krw,
           SUM(CASE WHEN is_refund THEN -amount_krw ELSE 0 END)                AS refunds_krw,
           SUM(amount_krw)                                                     AS net_krw,
           SUM(CASE WHEN NOT is_refund AND amount_krw < {{ outlier_min_krw }} THEN 1 ELSE 0 END) AS n_ordinary,
           SUM(CASE WHEN NOT is_refund AND amount_krw < {{ outlier_min_krw }} THEN amount_krw ELSE 0 END) AS ordinary_krw
    FROM {{ ref('fact_transactions') }}
    GROUP BY customer_id, event_date
)
{% endif %}
SELECT customer_id, event_date,
       CAST(n_fact AS BIGINT)             AS n_fact,
       CAST(n_purchases AS BIGINT)        AS n_purchases,
       CAST(n_refunds AS BIGINT)          AS n_refunds,
       CAST(gross_krw AS DECIMAL(18,0))   AS gross_krw,
       CAST(refunds_krw AS DECIMAL(18,0)) AS refunds_krw,
       CAST(net_krw AS DECIMAL(18,0))     AS net_krw,
       CAST(n_ordinary AS BIGINT)         AS n_ordinary,
       CAST(ordinary_krw AS DECIMAL(18,0)) AS ordinary_krw
FROM days
