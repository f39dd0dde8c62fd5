{{ config(materialized='incremental', incremental_strategy='changes',
          unique_key='transaction_id', cluster_by='event_date', tags=['staging']) }}

-- One row per transaction, as clean left it in the silver lake (the latest
-- version of each transaction_id): typed, renamed for the models, with the
-- event date in the pipeline's time zone taken from the lake's partition.
--
-- Incremental by change (docs/models.md, "the changes strategy"): a build
-- reads only the silver change log since this table's last build — the
-- transactions clean inserted, updated or moved — and replaces those rows,
-- so a late arrival costs one row, not its day. The first build, and
-- --full-refresh, read the whole lake with the same SELECT.
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
