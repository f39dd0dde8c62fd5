{{ config(materialized=('view' if target.type == 'duckdb' else 'incremental'),
          incremental_strategy='changes', unique_key='transaction_id',
          cluster_by='event_date', tags=['core']) }}

-- The money that moved: approved purchases (+) and approved refunds (-),
-- one row per transaction, amounts in won via the fx_rates seed. Declined,
-- pending and reversed transactions moved no money and are left out.
--
-- A view of the changes strategy, like stg_transactions (docs/models.md,
-- "the changes strategy"): nothing is stored. Storing it wrote each day's
-- rows three times (its new rows, their insert, the other warehouse
-- copy's replay: about 60 s of a 10,000,000-row day; decision 1501, tenth
-- round). A build passes on its change (a transaction that became
-- approved comes in, one that was reversed goes out) to the models that
-- follow it. A read restricted to event dates reads only those partitions
-- of the lake. Like stg, it shows the lake as cleaned: from a clean to
-- the next build it is ahead of the marts. On PostgreSQL it stays a
-- table kept by change: a seed is reloaded by replacing its table, which
-- PostgreSQL refuses while a view reads it.
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
