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
    -- every attempt, approved or not: only the columns the rules read (a
    -- build by change reads these rows for every changed card-day of the
    -- days late arrivals reach). Narrow on purpose: the window below sorts
    -- them all, and at 10,000,000 attempts a day sorting the columns the
    -- flags carry too took more than 2 GB (decision 1501, fourth round).
    -- Not even the id of an attempt: the attempts of a card at one instant
    -- share their counts (a RANGE frame counts its peers), so a flag names
    -- the card, day and instant, and the lookup below finds its attempts
    -- (18-character ids and a status string in the sort cost a third of
    -- its CPU at 10,000,000 rows a day; decision 1503)
    SELECT t.event_date, t.txn_ts_utc, t.card_id,
           t.status = 'declined' AS declined
    FROM {{ ref('stg_transactions') }} t
),
windows AS (
    -- one sort of the attempts of each card-day in time order for both rules,
    -- and the attempts and declines of the card that day (its own rhythm) as
    -- windows over the same partition: no grouped card-days joined back,
    -- so the attempts stream into the sort instead of being held for a
    -- second pass (4.5 GB -> 2.6 GB at 10,000,000 rows; decision 1503).
    -- No card-day is left out for being quiet: one with fewer attempts
    -- or declines than the floor of a rule cannot fire it (a threshold
    -- is never below its floor, a window never holds more than its day),
    -- but they are under 1% of the attempts
    {{ time_window_counts('attempts', ['card_id', 'event_date'], 'txn_ts_utc',
           [{'name': 'n_in_window', 'minutes': velocity_minutes},
            {'name': 'n_declines_in_window', 'minutes': decline_minutes,
             'where': "a.declined"}],
           columns="COUNT(*) OVER (PARTITION BY a.card_id, a.event_date) AS n_day_attempts,
        SUM(CASE WHEN a.declined THEN 1 ELSE 0 END)
            OVER (PARTITION BY a.card_id, a.event_date) AS n_day_declines") }}
),
thresholds AS (
    SELECT w.*,
        {{ poisson_threshold('2.0 * w.n_day_attempts * ' ~ velocity_minutes ~ ' / 1440.0',
                             velocity_count, velocity_sigmas) }} AS velocity_threshold,
        {{ poisson_threshold('2.0 * w.n_day_declines * ' ~ decline_minutes ~ ' / 1440.0',
                             decline_count, decline_sigmas) }} AS decline_threshold
    FROM windows w
),
flagged AS (
    -- once per card, day and instant (its attempts share the counts); a
    -- decline burst flags the declined attempts of that instant only
    SELECT DISTINCT card_id, event_date, txn_ts_utc, 'card_velocity' AS rule,
           n_in_window AS observed, velocity_threshold AS threshold
    FROM thresholds
    WHERE n_in_window >= velocity_threshold
    UNION ALL
    SELECT DISTINCT card_id, event_date, txn_ts_utc, 'decline_burst',
           n_declines_in_window, decline_threshold
    FROM thresholds
    WHERE declined AND n_declines_in_window >= decline_threshold
)
-- the few flagged instants get their attempts with the columns the mart
-- shows: their rows picked first (in_set: on DuckDB a mark join, which
-- builds its hash table on the flags, a few thousand rows, and reads the
-- rows of the input as they stream past; a plain join hashed the side of
-- the input, every column of it), looked up in the input over the dates of
-- the change rather than in the rows of its touched card-days (lookup(): no
-- join on the card-days before the flags; decision 1503)
SELECT t.transaction_id, f.rule, t.event_date, t.txn_ts_utc,
       t.customer_id, t.card_id, t.merchant_id, t.currency_code,
       CAST({{ to_won('t.amount', 'fx.krw_per_unit') }} AS DECIMAL(18,0)) AS amount_krw,
       CAST(f.observed AS DOUBLE PRECISION) AS observed,
       CAST(f.threshold AS DOUBLE PRECISION) AS threshold
FROM flagged f
JOIN (
    SELECT s.* FROM {{ lookup(ref('stg_transactions')) }} s
    WHERE {{ in_set('(s.card_id, s.event_date, s.txn_ts_utc)',
                    'SELECT card_id, event_date, txn_ts_utc FROM flagged') }}
) t ON t.card_id = f.card_id AND t.event_date = f.event_date
   AND t.txn_ts_utc = f.txn_ts_utc
   AND (f.rule = 'card_velocity' OR t.status = 'declined')
LEFT JOIN {{ ref('fx_rates') }} fx ON fx.currency = t.currency_code
