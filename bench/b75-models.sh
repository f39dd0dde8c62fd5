#!/bin/sh
# models build on one 10,000,000-row silver day: a staging view, an
# incremental fact (unique_key, merged), a daily mart, and the audit tests
# (unique + not_null on 10M keys, accepted_values). Prints the first (full)
# build, a re-build of the same day (incremental merge of 10M rows) and the
# tests alone, with rows per second. ROWS=N overrides the row count.
set -eu
: "${TXNFLOW:=$(pwd)/build/txnflow}"
ROWS=${ROWS:-10000000}
dir=$(mktemp -d /tmp/txnflow-b75.XXXXXX)
trap 'rm -rf "$dir"' EXIT
p=$dir/p
mkdir -p "$p/models" "$p/data/silver/transactions/year=2025/month=09/day=11"
cat >"$p/txnflow.yml" <<'YML'
name: b75
profile: b75
YML
cat >"$p/profiles.yml" <<'YML'
b75:
  target: dev
  outputs:
    dev: {type: duckdb, path: data/warehouse.duckdb}
YML
cat >"$p/models/stg_transactions.sql" <<'SQL'
select transaction_id, customer_id, merchant_id, txn_ts, amount, currency,
       mcc, status, is_refund, channel,
       cast(txn_ts + interval 9 hour as date) as event_date
from {{ source('silver', 'transactions') }}
SQL
cat >"$p/models/fact_transactions.sql" <<'SQL'
{{ config(materialized='incremental', unique_key='transaction_id') }}
select transaction_id, customer_id, merchant_id, event_date, mcc, channel,
       case when is_refund then -amount else amount end as amount_signed
from {{ ref('stg_transactions') }}
where status = 'approved'
{% if is_incremental() %}
  and event_date in ({% for d in var('dates') %}date '{{ d }}'{% if not loop.last %}, {% endif %}{% endfor %})
{% endif %}
SQL
cat >"$p/models/mart_sales_daily.sql" <<'SQL'
{{ config(materialized='table') }}
select event_date, mcc, channel, sum(amount_signed) as net_sales,
       count(*) as txn_count
from {{ ref('fact_transactions') }}
group by all
SQL
cat >"$p/models/schema.yml" <<'YML'
version: 2
models:
  - name: fact_transactions
    columns:
      - name: transaction_id
        tests: [unique, not_null]
      - name: channel
        tests:
          - accepted_values: {values: [online, pos, mobile]}
YML
"$TXNFLOW" sql --write --memory "COPY (SELECT printf('t%010d', i) AS transaction_id,
  printf('c%07d', i % 500000) AS customer_id, printf('card%07d', i % 700000) AS card_id,
  printf('m%06d', i % 20000) AS merchant_id,
  TIMESTAMP '2025-09-10 15:00:00' + to_microseconds(CAST(i % 86400000000 AS BIGINT)) AS txn_ts,
  CAST((i % 100000) * 10 + 1000 AS DECIMAL(18,2)) AS amount, 'KRW' AS currency,
  lpad(CAST(5000 + i % 400 AS VARCHAR), 4, '0') AS mcc,
  CASE WHEN i % 20 = 0 THEN 'declined' ELSE 'approved' END AS status,
  i % 50 = 0 AS is_refund, ['online', 'pos', 'mobile'][1 + i % 3] AS channel,
  TIMESTAMP '2025-09-11 16:00:00' AS ingested_at, NULL::VARCHAR AS original_transaction_id,
  'bronze/x.csv' AS source_file, DATE '2025-09-11' AS ingest_date
  FROM range($ROWS) t(i) ORDER BY txn_ts, transaction_id)
  TO '$p/data/silver/transactions/year=2025/month=09/day=11/part-00000.parquet'
  (FORMAT parquet, COMPRESSION zstd)" >/dev/null
now() { date +%s.%N; }
vars='{run_date: "2025-09-11", dates: ["2025-09-11"]}'
t0=$(now)
"$TXNFLOW" -C "$p" models build --vars "$vars" >"$dir/full.log"
t1=$(now)
"$TXNFLOW" -C "$p" models build --vars "$vars" >"$dir/incr.log"
t2=$(now)
"$TXNFLOW" -C "$p" models test --vars "$vars" >"$dir/test.log"
t3=$(now)
grep -q "0 error, 0 skipped; tests: 3 pass" "$dir/full.log"
grep -q "0 error, 0 skipped; tests: 3 pass" "$dir/incr.log"
awk -v n="$(nproc)" -v r="$ROWS" -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN {
  full = b - a; incr = c - b; tst = d - c
  printf "models build, %d silver rows (1 day), %s cores\n", r, n
  printf "  first build (view + full fact + mart + 3 audit tests): %6.2f s  %5.2f M rows/s\n", full, r / full / 1e6
  printf "  re-build, incremental merge of the same day:           %6.2f s  %5.2f M rows/s\n", incr, r / incr / 1e6
  printf "  tests alone (unique, not_null, accepted_values):        %6.2f s\n", tst
  printf "  ratio incremental / first: %.2f; tests / first: %.2f\n", incr / full, tst / full
}'
