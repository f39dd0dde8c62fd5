{{ config(materialized='incremental', incremental_strategy='changes',
          unique_key='transaction_id', cluster_by='event_date', tags=['core']) }}

-- The money that moved: approved purchases (+) and approved refunds (-),
-- one row per transaction, amounts in won via the fx_rates seed. Declined,
-- pending and reversed transactions moved no money and are left out.
--
-- Incremental by change, like stg_transactions: a build applies only the
-- stg rows this build changed (a transaction that became approved comes
-- in, one that was reversed goes out).
SELECT
    t.transaction_id,
    t.event_date,
    t.txn_ts_utc,
    t.customer_id,
    t.card_id,
    t.merchant_id,
    t.mcc_code,
    codes.category,
    t.channel,
    t.currency_code,
    t.is_refund,
    CASE WHEN t.is_refund THEN -1 ELSE 1 END             AS sign,
    t.amount                                             AS amount,
    fx.krw_per_unit                                      AS fx_krw_per_unit,
    CAST(CASE WHEN t.is_refund THEN -1 ELSE 1 END
         * {{ to_won('t.amount', 'fx.krw_per_unit') }}
         AS DECIMAL(18,0))                               AS amount_krw,
    t.original_transaction_id,
    t.ingest_date,
    t.source_file
FROM {{ ref('stg_transactions') }} t
LEFT JOIN {{ ref('fx_rates') }} fx ON fx.currency = t.currency_code
LEFT JOIN {{ ref('mcc_codes') }} codes ON codes.code = t.mcc_code
WHERE t.status = 'approved'
