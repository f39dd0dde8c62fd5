{{ config(materialized='incremental', unique_key='event_date',
          incremental_strategy='delete+insert', tags=['staging']) }}

-- One row per transaction, as clean left it in the silver lake (the latest
-- version of each transaction_id): typed, renamed for the models, with the
-- event date in the pipeline's time zone taken from the lake's partition.
--
-- A table, incremental by event date like the fact: a daily run reads only
-- the silver partitions in var('dates') (the filter is on the partition
-- columns, so the other files are never opened) and replaces those dates.
-- Every model downstream then reads a warehouse table with exact
-- statistics: over the Parquet glob, DuckDB estimates a join side from the
-- first file (often a small late-arrival partition) and builds its hash
-- table on the wrong side.
SELECT
    CAST(transaction_id AS VARCHAR)           AS transaction_id,
    CAST(customer_id AS VARCHAR)              AS customer_id,
    CAST(card_id AS VARCHAR)                  AS card_id,
    CAST(merchant_id AS VARCHAR)              AS merchant_id,
    {{ utc_timestamp('txn_ts') }}             AS txn_ts_utc,
    {{ event_date_from_partition() }}         AS event_date,
    CAST(amount AS DECIMAL(18,2))             AS amount,
    UPPER(CAST(currency AS VARCHAR))          AS currency_code,
    CAST(mcc AS VARCHAR)                      AS mcc_code,
    LOWER(CAST(status AS VARCHAR))            AS status,
    CAST(is_refund AS BOOLEAN)                AS is_refund,
    LOWER(CAST(channel AS VARCHAR))           AS channel,
    {{ utc_timestamp('ingested_at') }}        AS ingested_at_utc,
    CAST(original_transaction_id AS VARCHAR)  AS original_transaction_id,
    CAST(source_file AS VARCHAR)              AS source_file,
    CAST(ingest_date AS DATE)                 AS ingest_date
FROM {{ source('silver', 'transactions') }}
WHERE 1 = 1
{{ incremental_date_filter(event_date_from_partition()) }}
