#!/bin/sh
# txnflow clean vs the same job in DuckDB (through its C API, via
# `txnflow sql --memory`), on one generated batch of ROWS lines with
# HIST days of history already in silver. Prints rows/s and peak RSS of
# each, and the ratios. Goal: >= 2x DuckDB's rows/s at <= 1/2 its RSS.
#   ROWS=N   events per day (default 10000000)
#   HIST=N   days of history cleaned first, not timed (default 2)
set -eu
TXNFLOW=${TXNFLOW:-build/txnflow}
ROWS=${ROWS:-10000000}
HIST=${HIST:-2}
dir=$(mktemp -d "${TMPDIR:-/tmp}/txnflow-b30.XXXXXX")
trap 'rm -rf "$dir"' EXIT
D=2025-09-10

first=$(date -u -d "$D - $HIST days" +%F)
echo "clean: generating $((HIST + 1)) days of $ROWS events ($first .. $D)..."
"$TXNFLOW" generate --data "$dir/lake" --date "$first" --days $((HIST + 1)) \
	--rows "$ROWS" >/dev/null
i=$HIST
while [ "$i" -gt 0 ]; do
	d=$(date -u -d "$D - $i days" +%F)
	"$TXNFLOW" clean --data "$dir/lake" --date "$d" >/dev/null
	i=$((i - 1))
done
batch="$dir/lake/bronze/transactions/ingest_date=$D/part-00000.csv"
nparts=$(ls "$dir/lake/bronze/transactions/ingest_date=$D/" | grep -c part-)
lines=$(($(cat "$dir/lake/bronze/transactions/ingest_date=$D/"part-* | wc -l) - nparts))
cp -r "$dir/lake/silver" "$dir/duck_silver"

# measure NAME CMD...: wall seconds and peak RSS (KiB) into $dir/NAME.time
measure() {
	name=$1
	shift
	/usr/bin/time -f "%e %M %U %S" -o "$dir/$name.time" "$@" >"$dir/$name.out"
}

measure txnflow "$TXNFLOW" clean --data "$dir/lake" --date "$D" --json

# The same job in DuckDB SQL: read every column as text, validate strictly
# (bad lines are rejects), dedup with a window against the batch and the
# lake's versions of its ids, and rewrite the touched event-date partitions
# (Asia/Seoul) as zstd Parquet.
cur="'AED','AUD','BRL','CAD','CHF','CNY','CZK','DKK','EUR','GBP','HKD','IDR','ILS','INR','JPY','KRW','MXN','MYR','NOK','NZD','PHP','PLN','RUB','SAR','SEK','SGD','THB','TRY','TWD','USD','VND','ZAR'"
ts_re="'^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)\$'"
sql="
SET TimeZone = 'Asia/Seoul';
CREATE TABLE raw AS SELECT * FROM read_csv('$dir/lake/bronze/transactions/ingest_date=$D/part-*.csv',
  header = true, all_varchar = true, ignore_errors = true, strict_mode = true,
  columns = {'transaction_id': 'VARCHAR', 'customer_id': 'VARCHAR', 'card_id': 'VARCHAR',
    'merchant_id': 'VARCHAR', 'txn_ts': 'VARCHAR', 'amount': 'VARCHAR', 'currency': 'VARCHAR',
    'mcc': 'VARCHAR', 'status': 'VARCHAR', 'is_refund': 'VARCHAR', 'channel': 'VARCHAR',
    'ingested_at': 'VARCHAR', 'original_transaction_id': 'VARCHAR'}, filename = true);
CREATE TABLE good AS SELECT transaction_id, customer_id, card_id, merchant_id,
    CAST(txn_ts AS TIMESTAMPTZ) AS txn_ts, CAST(amount AS DECIMAL(18,2)) AS amount,
    upper(currency) AS currency, mcc, lower(status) AS status,
    lower(is_refund) IN ('true', 't', '1', 'yes') AS is_refund, lower(channel) AS channel,
    CAST(ingested_at AS TIMESTAMPTZ) AS ingested_at,
    nullif(original_transaction_id, '') AS original_transaction_id,
    'bronze/transactions/ingest_date=$D/' || parse_filename(filename) AS source_file,
    DATE '$D' AS ingest_date
  FROM raw
  WHERE trim(coalesce(transaction_id, '')) <> '' AND trim(coalesce(customer_id, '')) <> ''
    AND trim(coalesce(card_id, '')) <> '' AND trim(coalesce(merchant_id, '')) <> ''
    AND regexp_matches(txn_ts, $ts_re) AND TRY_CAST(txn_ts AS TIMESTAMPTZ) IS NOT NULL
    AND regexp_matches(ingested_at, $ts_re) AND TRY_CAST(ingested_at AS TIMESTAMPTZ) IS NOT NULL
    AND regexp_matches(amount, '^[0-9]{1,16}(\\.[0-9]{1,2})?\$') AND CAST(amount AS DECIMAL(18,2)) > 0
    AND upper(currency) IN ($cur) AND regexp_matches(mcc, '^[0-9]{4}\$')
    AND lower(status) IN ('approved', 'declined', 'pending', 'reversed')
    AND lower(is_refund) IN ('true', 'false', 't', 'f', '1', '0', 'yes', 'no')
    AND lower(channel) IN ('online', 'pos', 'mobile');
CREATE TABLE old AS SELECT s.* EXCLUDE (year, month, day)
  FROM read_parquet('$dir/duck_silver/transactions/**/*.parquet', hive_partitioning = true) s
  SEMI JOIN (SELECT DISTINCT transaction_id FROM good) g USING (transaction_id);
CREATE TABLE win AS SELECT * FROM (SELECT * FROM good UNION ALL SELECT * FROM old)
  QUALIFY row_number() OVER (PARTITION BY transaction_id
    ORDER BY ingested_at DESC, hash(transaction_id, customer_id, card_id, merchant_id, txn_ts, amount, currency, mcc, status, is_refund, channel, original_transaction_id) DESC, ingest_date) = 1;
CREATE TABLE days AS SELECT DISTINCT CAST(txn_ts AS DATE) AS d FROM win
  UNION SELECT DISTINCT CAST(txn_ts AS DATE) FROM old;
COPY (
  SELECT *, year(txn_ts) AS year, lpad(month(txn_ts)::VARCHAR, 2, '0') AS month,
         lpad(day(txn_ts)::VARCHAR, 2, '0') AS day
  FROM (
    SELECT s.* EXCLUDE (year, month, day)
    FROM read_parquet('$dir/duck_silver/transactions/**/*.parquet', hive_partitioning = true) s
    WHERE make_date(year::INT, month::INT, day::INT) IN (SELECT d FROM days)
      AND transaction_id NOT IN (SELECT transaction_id FROM win)
    UNION ALL SELECT * FROM win)
  ORDER BY txn_ts, transaction_id
) TO '$dir/duck_out' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (year, month, day));
SELECT (SELECT count(*) FROM good) AS valid, (SELECT count(*) FROM win) AS winners;
"
measure duckdb "$TXNFLOW" sql --memory --format csv "$sql"

t_valid=$(sed -n 's/.*"quarantined": \([0-9]*\).*/\1/p' "$dir/txnflow.out" | head -1)
t_valid=$((lines - t_valid))
d_valid=$(tail -1 "$dir/duckdb.out" | cut -d, -f1)
echo "clean: batch $D, $lines lines, history $HIST days of $ROWS events in silver"
echo "  valid lines: txnflow $t_valid, duckdb $d_valid (duckdb's read_csv may let some malformed lines through)"
for n in txnflow duckdb; do
	awk -v n="$n" -v l="$lines" '{ printf "  %-8s wall %7.2f s  %10.0f rows/s  cpu %7.2f s  peak RSS %7.1f MiB\n", n, $1, l / $1, $3 + $4, $2 / 1024 }' "$dir/$n.time"
done
paste "$dir/txnflow.time" "$dir/duckdb.time" | awk '{
	printf "  ratio: txnflow rows/s = %.2fx duckdb; txnflow peak RSS = %.2fx duckdb (goal >= 2x at <= 0.5x)\n", $5 / $1, $2 / $6 }'
sed -n '/timings_ms/,/}/p' "$dir/txnflow.out" | tr -d '\n ' | sed 's/^/  txnflow phases (ms): /; s/$/\n/'
echo "(one run; shared 2-core machine: $(uptime | sed 's/.*load/load/'))"
