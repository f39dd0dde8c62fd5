{{ config(audit='full') }}
-- Reads whole tables (it counts every stg and fact row per date): a build runs it with
-- --full-audit; `txnflow models test` always.
-- Per event date, the fact holds exactly the approved silver rows: an
-- incremental run that missed a date (or left stale rows) shows up here.
WITH s AS (
    SELECT event_date, COUNT(*) AS n
    FROM {{ ref('stg_transactions') }}
    WHERE status = 'approved'
    GROUP BY event_date
),
f AS (
    SELECT event_date, COUNT(*) AS n
    FROM {{ ref('fact_transactions') }}
    GROUP BY event_date
)
SELECT COALESCE(s.event_date, f.event_date) AS event_date, s.n AS silver_rows, f.n AS fact_rows
FROM s FULL OUTER JOIN f ON f.event_date = s.event_date
WHERE COALESCE(s.n, 0) <> COALESCE(f.n, 0)
