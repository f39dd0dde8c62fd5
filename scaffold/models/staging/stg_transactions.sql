{{ config(materialized='view', incremental_strategy='changes',
          unique_key='transaction_id', cluster_by='event_date', tags=['staging']) }}

-- One row per transaction, as clean left it in the silver lake (the latest
-- version of each transaction_id): typed, renamed for the models, with the
-- event date in the pipeline's time zone taken from the lake's partition.
--
-- A view of the changes strategy (docs/models.md, "the changes strategy"):
-- nothing is stored — the lake is already this table in Parquet, and
-- storing 10,000,000 rows a day again cost more than every model that
-- reads it (decision 1501, fourth round). A build passes on the change:
-- this SELECT over the silver change log since the last build (the
-- transactions clean inserted, updated or moved), which the models that
-- follow it apply, so a late arrival costs them one row, not its day.
-- A read restricted to event dates (cluster_by) reads only those
-- partitions of the lake.
SELECT
    CAST(transaction_id AS VARCHAR)           AS transaction_id,
    CAST(customer_id AS VARCHAR)              AS customer_id,
{%- if var('pan', false) %}
    -- a card feed (feed: pan: true): a card is its token, the keyed hash
    -- of its number, which every model keys on (docs/card-data.md)
    CAST(card_token AS VARCHAR)               AS card_id,
{%- else %}
    CAST(card_id AS VARCHAR)                  AS card_id,
{%- endif %}
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
