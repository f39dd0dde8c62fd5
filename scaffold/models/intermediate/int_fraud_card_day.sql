{{ config(materialized='incremental', incremental_strategy='changes',
          unique_key=['card_id', 'event_date'], cluster_by='event_date',
          tags=['intermediate', 'fraud']) }}

-- The card rules of mart_fraud_signals, per card and event day: the
-- attempts a card_velocity or decline_burst rule flags (see that mart for
-- the rules). A card's attempts are measured against the card's own
-- attempts that day, in windows within the day.
--
-- Incremental by change: only the (card, day) pairs whose attempts changed
-- are measured again (stg_transactions rows of those pairs only).
{%- set velocity_count = var('fraud_velocity_count', 5) %}
{%- set velocity_minutes = var('fraud_velocity_minutes', 10) %}
{%- set velocity_sigmas = var('fraud_velocity_sigmas', 6) %}
{%- set decline_count = var('fraud_decline_count', 3) %}
{%- set decline_minutes = var('fraud_decline_minutes', 30) %}
{%- set decline_sigmas = var('fraud_decline_sigmas', 6) %}
WITH attempts AS (
    -- every attempt, approved or not: only the columns the velocity rule
    -- reads (a build by change reads these rows for every changed card-day
    -- of the days late arrivals reach). Narrow on purpose: the window below
    -- sorts them all, and at 10,000,000 attempts a day sorting the columns
    -- the flags carry too took more than 2 GB (decision 1501, fourth
    -- round). Not even the id of an attempt: the attempts of a card at one
    -- instant share their counts (a RANGE frame counts its peers), so a
    -- flag names the card, day and instant, and the lookup below finds its
    -- attempts (decision 1503). The card as its window_key() (on DuckDB an
    -- integer hash of the id): the windows sort 8 bytes a row for it, not
    -- the text (decision 1801, nineteenth round)
    SELECT {{ window_key('t.card_id') }} AS card_key, t.event_date, t.txn_ts_utc
    FROM {{ ref('stg_transactions') }} t
),
declines AS (
    -- the declined attempts only, for the decline rule: a second narrow
    -- read of the input, whose status test the Parquet reader applies
    -- before it decodes the other columns, and a window over a tenth of
    -- the rows; one window over every attempt with a filtered count of
    -- the declines cost more (decision 1503, eleventh round)
    SELECT {{ window_key('t.card_id') }} AS card_key, t.event_date, t.txn_ts_utc
    FROM {{ ref('stg_transactions') }} t
    WHERE t.status = 'declined'
),
velocity AS (
    -- one sort of the attempts of each card-day in time order, and the
    -- attempts of the card that day (its own rhythm) as a window over the
    -- same partition: no grouped card-days joined back, so the attempts
    -- stream into the sort instead of being held for a second pass
    -- (decision 1503). No card-day is left out for being quiet: one with
    -- fewer attempts than the floor of a rule cannot fire it (a threshold
    -- is never below its floor, a window never holds more than its day),
    -- but leaving it out needs its count before the sort, a pass of its
    -- own; they are under 1% of the attempts at 10,000,000 a day (decision
    -- 1503), though 39% at 1,000,000 a day (decision 1801, eighteenth round)
    {{ time_window_counts('attempts', ['card_key', 'event_date'], 'txn_ts_utc',
           [{'name': 'n_in_window', 'minutes': velocity_minutes}],
           columns="COUNT(*) OVER (PARTITION BY a.card_key, a.event_date) AS n_day_attempts") }}
),
bursts AS (
    -- the same over the declined attempts: the declines of the card that
    -- day, and those in the decline window
    {{ time_window_counts('declines', ['card_key', 'event_date'], 'txn_ts_utc',
           [{'name': 'n_in_window', 'minutes': decline_minutes}],
           columns="COUNT(*) OVER (PARTITION BY a.card_key, a.event_date) AS n_day_declines") }}
),
flagged AS (
    -- once per card, day and instant (its attempts share the counts); a
    -- decline burst flags the declined attempts of that instant only. A
    -- count under the floor of its rule cannot reach the threshold (never
    -- below the floor): those rows are dropped before a threshold is
    -- computed for them
    SELECT DISTINCT card_key, event_date, txn_ts_utc, 'card_velocity' AS rule,
           n_in_window AS observed, threshold
    FROM (SELECT v.*,
              {{ poisson_threshold('2.0 * v.n_day_attempts * ' ~ velocity_minutes ~ ' / 1440.0',
                                   velocity_count, velocity_sigmas) }} AS threshold
          FROM velocity v
          WHERE v.n_in_window >= {{ velocity_count }}) v
    WHERE n_in_window >= threshold
    UNION ALL
    SELECT DISTINCT card_key, event_date, txn_ts_utc, 'decline_burst' AS rule,
           n_in_window AS observed, threshold
    FROM (SELECT b.*,
              {{ poisson_threshold('2.0 * b.n_day_declines * ' ~ decline_minutes ~ ' / 1440.0',
                                   decline_count, decline_sigmas) }} AS threshold
          FROM bursts b
          WHERE b.n_in_window >= {{ decline_count }}) b
    WHERE n_in_window >= threshold
)
-- the few flagged instants get their attempts with the columns the mart
-- shows: their rows picked first (in_set: on DuckDB a mark join, which
-- builds its hash table on the flags, a few thousand rows, and reads the
-- rows of the input as they stream past; a plain join hashed the side of
-- the input, every column of it), looked up in the input over the dates of
-- the change rather than in the rows of its touched card-days (lookup(): no
-- join on the card-days before the flags; decision 1503). Only the columns
-- used are named: with s.* DuckDB read every column of the lake there
SELECT t.transaction_id, f.rule, t.event_date, t.txn_ts_utc,
       t.customer_id, t.card_id, t.merchant_id, t.currency_code,
       CAST({{ to_won('t.amount', 'fx.krw_per_unit') }} AS DECIMAL(18,0)) AS amount_krw,
       CAST(f.observed AS DOUBLE PRECISION) AS observed,
       CAST(f.threshold AS DOUBLE PRECISION) AS threshold
FROM flagged f
JOIN (
    SELECT s.transaction_id, s.event_date, s.txn_ts_utc, s.customer_id,
           s.card_id, {{ window_key('s.card_id') }} AS card_key,
           s.merchant_id, s.currency_code, s.amount, s.status
    FROM {{ lookup(ref('stg_transactions')) }} s
    WHERE {{ in_set('(' ~ window_key('s.card_id') ~ ', s.event_date, s.txn_ts_utc)',
                    'SELECT card_key, event_date, txn_ts_utc FROM flagged') }}
) t ON t.card_key = f.card_key AND t.event_date = f.event_date
   AND t.txn_ts_utc = f.txn_ts_utc
   AND (f.rule = 'card_velocity' OR t.status = 'declined')
LEFT JOIN {{ ref('fx_rates') }} fx ON fx.currency = t.currency_code
