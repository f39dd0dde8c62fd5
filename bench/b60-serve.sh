#!/bin/bash
# b60: dashboard latency with a year of history. Builds a metadata database
# with 365 logical dates x 4 tasks (runs, attempts with retries, SLA misses,
# clean reconciliations, quarantine counts, partition commits, model builds,
# ~40 data tests per date, 8 lineage events per date) and a warehouse with a
# year of marts, starts the release `txnflow serve`, and measures every API
# endpoint and the pages from a keep-alive client on loopback (bench/
# b60-client.js): median and p95 per endpoint and the server's CPU time per
# request (steadier than wall time when the machine is shared), against the
# 50 ms goal. The pages' default calls come first, then the year-long ones.
#   N=300 bench/b60-serve.sh     requests per endpoint (default 200)
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TXNFLOW=${TXNFLOW:-$ROOT/build/txnflow}
N=${N:-200}
W=$(mktemp -d /tmp/txnflow-b60.XXXXXX)
SERVER_PID=
cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

"$TXNFLOW" init "$W/p" >/dev/null
# The marts below are named as in the serve tests' fixture: chart them the
# same way (the Business page charts what txnflow.yml declares).
sed -i "/^dashboard:/,\$d" "$W/p/txnflow.yml"
cat tests/data/serve/dashboard.yml >>"$W/p/txnflow.yml"
DB=$W/p/data/txnflow.db
# One lineage event of each kind, made by the real code, as templates.
for t in generate clean models publish; do
	run=$(TXNFLOW_NOW=2025-01-01T06:00:00+09:00 "$TXNFLOW" -C "$W/p" lineage record --date 2025-01-01 --task $t --event START)
	TXNFLOW_NOW=2025-01-01T06:10:00+09:00 "$TXNFLOW" -C "$W/p" lineage record --date 2025-01-01 --task $t --event COMPLETE --run "$run" >/dev/null
done
start=$(date +%s%N)
sqlite3 "$DB" >/dev/null <<'SQL'
PRAGMA journal_mode=WAL;
BEGIN;
CREATE TEMP TABLE d AS
  WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i < 364)
  SELECT i, date('2025-01-01', '+' || i || ' days') AS day,
         (1735678800 + i * 86400) * 1000000 AS t0 FROM r;
CREATE TEMP TABLE tasks(k, name);
INSERT INTO tasks VALUES (0, 'generate'), (1, 'clean'), (2, 'models'), (3, 'publish');
INSERT INTO runs(run_id, logical_date, kind, state, started_at_us, ended_at_us, sla_deadline_us)
  SELECT i + 1, day, 'scheduled', CASE WHEN i % 53 = 7 THEN 'failed' ELSE 'success' END,
         t0, t0 + (600 + (i * 37) % 900) * 1000000, t0 + 7200000000 FROM d;
INSERT INTO sla_misses(logical_date, run_id, deadline_us, detected_at_us)
  SELECT day, i + 1, t0 + 7200000000, t0 + 7200000001 FROM d WHERE i % 29 = 3;
INSERT INTO task_attempts(run_id, task, attempt, state, started_at_us, ended_at_us, exit_status, log_path)
  SELECT i + 1, name, 1, CASE WHEN k = 1 AND i % 11 = 0 THEN 'up_for_retry' ELSE 'success' END,
         t0 + k * 150000000, t0 + (k + 1) * 150000000, 0, 'logs/' || day || '/' || name || '/attempt-1.log'
  FROM d, tasks ORDER BY i, k;
INSERT INTO task_attempts(run_id, task, attempt, state, started_at_us, ended_at_us, exit_status, log_path)
  SELECT i + 1, 'clean', 2, 'success', t0 + 310000000, t0 + 400000000, 0, 'logs/' || day || '/clean/attempt-2.log'
  FROM d WHERE i % 11 = 0;
INSERT INTO clean_runs(clean_id, ingest_date, started_at_us, ended_at_us, state, lines_read, inserted,
  updated, duplicates, stale, quarantined, ties, partitions_rewritten, details_json)
  SELECT i + 1, day, t0 + 150000000, t0 + 300000000, 'success', 1000000, 960000, 20000, 10000, 5000, 5000, 3, 3,
         '{"partitions_rewritten":["' || date(day, '-2 days') || '","' || date(day, '-1 days') || '","' || day || '"]}'
  FROM d;
INSERT INTO quarantine_counts(clean_id, reason, n)
  SELECT i + 1, r, n FROM d, (SELECT 'bad_amount' r, 2500 n UNION ALL SELECT 'bad_timestamp', 1500 UNION ALL SELECT 'column_count', 1000);
INSERT INTO partition_commits(clean_id, partition, n_rows, size_bytes, sha256, committed_at_us)
  SELECT i + 1, date(day, '-' || k || ' days'), 900000 + k * 1000, 40000000, hex(randomblob(32)), t0 + 300000000
  FROM d, (SELECT 0 k UNION ALL SELECT 1 UNION ALL SELECT 2) ORDER BY i, k DESC;
CREATE TEMP TABLE models(m);
INSERT INTO models VALUES ('stg_transactions'), ('dim_customer'), ('dim_merchant'), ('fact_transactions'),
  ('mart_sales_daily'), ('mart_rfm_customer'), ('mart_customer_ltv'), ('mart_fraud_signals'), ('mart_reconciliation');
INSERT INTO model_builds(invocation_id, model, materialized, state, n_rows, started_at_us, duration_us, logical_date)
  SELECT 'inv' || i, m, 'table', 'success', 1000 + i, t0 + 300000000, 2000000, day FROM d, models;
INSERT INTO test_results(invocation_id, model, test_name, severity, status, failures, sample_json, started_at_us, duration_us, logical_date)
  SELECT 'inv' || i, m, t || '_' || m, 'error', CASE WHEN (i + length(m) + length(t)) % 97 = 0 THEN 'fail' ELSE 'pass' END,
         CASE WHEN (i + length(m) + length(t)) % 97 = 0 THEN 3 ELSE 0 END,
         CASE WHEN (i + length(m) + length(t)) % 97 = 0 THEN '[{"id":"x1"},{"id":"x2"},{"id":"x3"}]' END,
         t0 + 400000000, 10000, day
  FROM d, models, (SELECT 'not_null_id' t UNION ALL SELECT 'unique_id' UNION ALL SELECT 'accepted_values_status'
                   UNION ALL SELECT 'relationships_customer');
INSERT INTO lineage_events(event_time_us, event_type, job, run_uuid, payload_json)
  SELECT t0 + e.event_id, e.event_type, e.job, lower(hex(randomblob(16))), replace(e.payload_json, '2025-01-01', day)
  FROM d, (SELECT * FROM lineage_events WHERE event_time_us < 1735700000000000) e WHERE d.i > 0;
COMMIT;
SQL
echo "metadata: $(sqlite3 "$DB" "SELECT (SELECT count(*) FROM runs) || ' runs, ' || (SELECT count(*) FROM task_attempts) || ' attempts, ' || (SELECT count(*) FROM test_results) || ' test results, ' || (SELECT count(*) FROM lineage_events) || ' lineage events, ' || (SELECT count(*) FROM partition_commits) || ' partition commits'"); $(du -h "$DB" | cut -f1) (built in $(( ($(date +%s%N) - start) / 1000000 )) ms)"
mkdir -p "$W/p/data/logs/2025-06-01/clean"
head -c 200000 /dev/urandom | base64 >"$W/p/data/logs/2025-06-01/clean/attempt-1.log"
"$TXNFLOW" -C "$W/p" sql --write "
CREATE TABLE mart_sales_daily AS
  SELECT DATE '2025-01-01' + INTERVAL (d) DAY AS sales_date, 'cat' || c AS category, ch AS channel,
         CAST(100000 + d * 10 + c AS DECIMAL(18,2)) AS net_sales, 5 AS txn_count
  FROM range(365) t(d), range(12) u(c), (VALUES ('online'), ('pos'), ('mobile')) v(ch);
CREATE TABLE mart_rfm_customer AS SELECT 'c' || i AS customer_id, DATE '2025-12-31' AS as_of_date,
  (['Champions','Loyal','At risk','Lost','New'])[1 + i % 5] AS segment, CAST(i * 3 AS DECIMAL(18,2)) AS monetary FROM range(100000) t(i);
CREATE TABLE mart_customer_ltv AS SELECT 'c' || i AS customer_id, CAST((i * 7919) % 1000000 AS DECIMAL(18,2)) AS ltv FROM range(100000) t(i);
CREATE TABLE mart_fraud_signals AS SELECT 't' || i AS transaction_id, TIMESTAMP '2025-01-01' + INTERVAL (i) MINUTE AS txn_ts, 'velocity' AS rule FROM range(20000) t(i);
" >/dev/null
attempt=$(sqlite3 "$DB" "SELECT attempt_id FROM task_attempts a JOIN runs r USING(run_id) WHERE r.logical_date = '2025-06-01' AND task = 'clean' AND attempt = 1")
result=$(sqlite3 "$DB" "SELECT result_id FROM test_results WHERE status = 'fail' LIMIT 1")

"$TXNFLOW" -C "$W/p" serve --port 0 >"$W/serve.out" 2>"$W/serve.err" &
SERVER_PID=$!
for i in $(seq 1 100); do grep -q "^txnflow serve:" "$W/serve.out" && break; sleep 0.05; done
URL=$(sed -n 's|^txnflow serve: \(http://[^ ]*\)/ .*|\1|p' "$W/serve.out")
run=$(sqlite3 "$DB" "SELECT run_id FROM runs WHERE logical_date = '2025-06-01'")
echo "server: $URL (release build, 4 worker threads); $N requests per endpoint, one keep-alive client"
echo "load before: $(uptime)"
SERVER_PID=$SERVER_PID node bench/b60-client.js "$URL" "$N" 50 \
	/api/summary /api/runs "/api/runs?from=2025-01-01" "/api/runs?from=2025-12-01&to=2025-12-31" \
	"/api/runs?state=sla_missed" "/api/attempts?run=$run&task=clean" \
	/api/quality "/api/quality?from=2025-01-01" /api/reconciliation "/api/reconciliation?from=2025-01-01" \
	/api/lake /api/lineage /api/business /api/events "/api/log?attempt=$attempt" "/api/sample?result=$result" \
	"/api/quarantine?date=2025-06-01" / /static/app.js /static/uPlot.min.js
echo "load after: $(uptime)"
