#!/bin/sh
# txnflow clean against DuckDB (through its C API, via `txnflow sql
# --memory`) on one generated batch of ROWS events, in the two jobs a lake
# knows:
#   first load  the batch into an empty lake (an initial migration, a
#               backfill into a new lake), against the plain DuckDB script
#               of issue 17: read_csv with typed columns, a window dedup,
#               one partitioned COPY;
#   daily job   the same batch into a lake with HIST days of history,
#               against the fair baseline that does clean's whole job
#               (docs/decisions/0601-clean-duckdb-baseline.md).
# For each job and side: wall, rows/s (batch lines per wall second), CPU
# (user + system) and peak RSS, then the ratios; and clean's wall and CPU
# time per phase. Goal (issue 17): txnflow >= 2x DuckDB's rows/s at <= 1/2
# its peak RSS in both jobs (aim: 4x, 1/4).
#   ROWS=N   events per day (default 10000000)
#   HIST=N   days of history cleaned first, not timed (default 2)
#   LAKE=DIR a lake left by such a setup (bronze of D, silver up to D-1),
#            copied instead of generated; ROWS and HIST then only label it
#   ONLY="first_txnflow first_duckdb daily_txnflow daily_duckdb"  the runs
#            to time (default all four)
#   DUCK_MEM=SIZE  the fair baseline's memory_limit (default 8GB)
#
# The first-load script is the issue's, as a DuckDB user would write it:
# typed read_csv (ignore_errors: lines that do not parse are dropped; no
# other validation), the latest ingested_at per transaction_id, zstd
# Parquet partitioned by the Asia/Seoul date of txn_ts, 2 threads,
# preserve_insertion_order off, DuckDB's default memory limit. It does less
# than clean (no strict validation, quarantine, sort inside the files,
# index, change log, journal or fsync); the script prints both row counts.
#
# The fair baseline ("daily_duckdb") does clean's whole job the way a
# competent DuckDB user would:
#   1. read_csv, every column as text (strict_mode, ignore_errors: lines
#      with the wrong number of fields, stray quotes or invalid UTF-8 are
#      dropped = rejected), then strict validation with TRY_CAST and plain
#      predicates instead of regexes: ids non-blank; both timestamps cast
#      to TIMESTAMPTZ and end in an offset (a timestamp without one would
#      otherwise be read in the session zone); amount a DECIMAL(18,2) > 0
#      with no sign and at most 2 fraction digits (the cast would round
#      12.345); currency in the feed's ISO 4217 list; mcc 4 digits; enums
#      and booleans case-insensitive. On this feed that accepts exactly the
#      lines clean accepts: the script prints both counts.
#   2. The lake's versions of the batch's ids: one scan of silver's ids
#      (DuckDB has no index) semi-joined with the batch, keeping
#      ingested_at, a content hash (for the tie rule) and the partition.
#   3. Dedup with one window over the batch and those versions: greatest
#      ingested_at, then content hash, the lake's copy first on equal
#      content (a duplicate or stale line changes nothing).
#   4. Rewrite only the touched event-date partitions (days of the new
#      versions and of the versions they replace, in Asia/Seoul): the old
#      rows of those partitions minus the replaced ids, plus the new
#      versions, ordered by (txn_ts, transaction_id), one partitioned COPY
#      to zstd Parquet. Partition keys come from one timezone() conversion
#      per row (year()/month()/day() of a TIMESTAMPTZ would each go through
#      ICU). Both threads (SET threads = 2), preserve_insertion_order off,
#      memory_limit DUCK_MEM (spills past it).
#      Where it differs from clean it does less: DuckDB 1.4's partitioned
#      COPY does not keep the ORDER BY exactly inside each file, and there
#      is no journal, index or quarantine file.
set -eu
TXNFLOW=${TXNFLOW:-build/txnflow}
ROWS=${ROWS:-10000000}
HIST=${HIST:-2}
dir=$(mktemp -d "${TMPDIR:-/tmp}/txnflow-b30.XXXXXX")
trap 'rm -rf "$dir"' EXIT
D=2025-09-10

ONLY=${ONLY:-first_txnflow first_duckdb daily_txnflow daily_duckdb}
# DuckDB's default memory_limit is 80 % of RAM: at 10 M rows the fair
# baseline grew past 19 GB of this shared 24 GB machine. 8 GB, spilling
# past it, is what a careful user would set here.
DUCK_MEM=${DUCK_MEM:-8GB}
if [ -n "${LAKE:-}" ]; then
	cp -a "$LAKE" "$dir/lake"
else
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
fi
bdir="$dir/lake/bronze/transactions/ingest_date=$D"
nparts=$(ls "$bdir/" | grep -c part-)
lines=$(($(cat "$bdir/"part-* | wc -l) - nparts))
# the first load: the same batch, an empty lake (bronze linked, not copied)
mkdir -p "$dir/empty/bronze/transactions"
cp -al "$bdir" "$dir/empty/bronze/transactions/"
cp -r "$dir/lake/silver/transactions" "$dir/duck_silver"
S=$dir/duck_silver

# measure NAME CMD...: wall s, peak RSS KiB, user s, sys s into $dir/NAME.time
measure() {
	name=$1
	shift
	case " $ONLY " in *" $name "*) ;; *)
		echo "0 0 0 0" >"$dir/$name.time"
		echo 0 >"$dir/$name.out"
		return ;;
	esac
	sync
	/usr/bin/time -f "%e %M %U %S" -o "$dir/$name.time" "$@" >"$dir/$name.out"
}

# ---- the first load
measure first_txnflow "$TXNFLOW" clean --data "$dir/empty" --date "$D" --json

first="
SET threads = 2; SET preserve_insertion_order = false;
COPY (SELECT *, year(d) AS year, month(d) AS month, day(d) AS day FROM (
        SELECT *, CAST(timezone('Asia/Seoul', txn_ts) AS DATE) AS d FROM (
          SELECT * FROM read_csv('$bdir/part-*.csv', header = true,
            auto_detect = false, ignore_errors = true,
            columns = {'transaction_id': 'VARCHAR', 'customer_id': 'VARCHAR',
              'card_id': 'VARCHAR', 'merchant_id': 'VARCHAR',
              'txn_ts': 'TIMESTAMPTZ', 'amount': 'DECIMAL(18,2)',
              'currency': 'VARCHAR', 'mcc': 'VARCHAR', 'status': 'VARCHAR',
              'is_refund': 'BOOLEAN', 'channel': 'VARCHAR',
              'ingested_at': 'TIMESTAMPTZ',
              'original_transaction_id': 'VARCHAR'})
          WHERE txn_ts IS NOT NULL AND ingested_at IS NOT NULL)
        QUALIFY row_number() OVER (PARTITION BY transaction_id
                                   ORDER BY ingested_at DESC) = 1))
TO '$dir/first_out' (FORMAT parquet, PARTITION_BY (year, month, day), COMPRESSION zstd);
SELECT count(*) AS written,
       (SELECT count(DISTINCT filename) FROM read_parquet('$dir/first_out/**/*.parquet', filename = true)) AS partitions
FROM read_parquet('$dir/first_out/**/*.parquet');
"
measure first_duckdb "$TXNFLOW" sql --write --memory --format csv "$first"

# ---- the daily job
measure daily_txnflow "$TXNFLOW" clean --data "$dir/lake" --date "$D" --json

cur="'AED','AUD','BRL','CAD','CHF','CNY','CZK','DKK','EUR','GBP','HKD','IDR','ILS','INR','JPY','KRW','MXN','MYR','NOK','NZD','PHP','PLN','RUB','SAR','SEK','SGD','THB','TRY','TWD','USD','VND','ZAR'"
# partition columns of a relation with txn_ts (local date in Asia/Seoul)
parts="* EXCLUDE (l), year(l) AS year, lpad(month(l)::VARCHAR, 2, '0') AS month,
  lpad(day(l)::VARCHAR, 2, '0') AS day"
fair="
SET threads = 2;
SET memory_limit = '$DUCK_MEM';
SET TimeZone = 'Asia/Seoul';
SET preserve_insertion_order = false;
CREATE MACRO ts_ok(s, t) AS t IS NOT NULL AND length(s) >= 20
  AND (right(s, 1) IN ('Z', 'z') OR substr(s, -6, 1) IN ('+', '-')
       OR substr(s, -5, 1) IN ('+', '-') OR substr(s, -3, 1) IN ('+', '-'));
CREATE TEMP TABLE good AS
SELECT transaction_id, customer_id, card_id, merchant_id, ts AS txn_ts,
       amt AS amount, cur AS currency, mcc, st AS status,
       rf IN ('true', 't', '1', 'yes') AS is_refund, ch AS channel,
       ia AS ingested_at, nullif(original_transaction_id, '') AS original_transaction_id,
       'bronze/transactions/ingest_date=$D/' || parse_filename(filename) AS source_file,
       DATE '$D' AS ingest_date
FROM (SELECT *, TRY_CAST(txn_ts AS TIMESTAMPTZ) AS ts,
             TRY_CAST(ingested_at AS TIMESTAMPTZ) AS ia,
             TRY_CAST(amount AS DECIMAL(18,2)) AS amt, upper(currency) AS cur,
             lower(status) AS st, lower(is_refund) AS rf, lower(channel) AS ch
      FROM read_csv('$bdir/part-*.csv', header = true, all_varchar = true,
        ignore_errors = true, strict_mode = true, filename = true,
        columns = {'transaction_id': 'VARCHAR', 'customer_id': 'VARCHAR',
          'card_id': 'VARCHAR', 'merchant_id': 'VARCHAR', 'txn_ts': 'VARCHAR',
          'amount': 'VARCHAR', 'currency': 'VARCHAR', 'mcc': 'VARCHAR',
          'status': 'VARCHAR', 'is_refund': 'VARCHAR', 'channel': 'VARCHAR',
          'ingested_at': 'VARCHAR', 'original_transaction_id': 'VARCHAR'}))
WHERE trim(transaction_id) <> '' AND trim(customer_id) <> ''
  AND trim(card_id) <> '' AND trim(merchant_id) <> ''
  AND ts_ok(txn_ts, ts) AND ts_ok(ingested_at, ia)
  AND amt > 0 AND amount[1] BETWEEN '0' AND '9'
  AND (strpos(amount, '.') = 0 OR length(amount) - strpos(amount, '.') BETWEEN 1 AND 2)
  AND cur IN ($cur)
  AND length(mcc) = 4 AND mcc[1] BETWEEN '0' AND '9'
  AND TRY_CAST(mcc AS SMALLINT) IS NOT NULL
  AND st IN ('approved', 'declined', 'pending', 'reversed')
  AND rf IN ('true', 'false', 't', 'f', '1', '0', 'yes', 'no')
  AND ch IN ('online', 'pos', 'mobile');
CREATE TEMP TABLE old AS
SELECT transaction_id, ingested_at,
       hash(customer_id, card_id, merchant_id, txn_ts, amount, currency, mcc,
            status, is_refund, channel, original_transaction_id) AS h,
       make_date(year::INT, month::INT, day::INT) AS day
FROM read_parquet('$S/**/*.parquet', hive_partitioning = true)
WHERE transaction_id IN (SELECT transaction_id FROM good);
CREATE TEMP TABLE upd AS
SELECT * EXCLUDE (h, is_old, old_day) FROM (
  SELECT *, hash(customer_id, card_id, merchant_id, txn_ts, amount, currency,
                 mcc, status, is_refund, channel, original_transaction_id) AS h,
         false AS is_old, NULL::DATE AS old_day
  FROM good
  UNION ALL BY NAME
  SELECT transaction_id, ingested_at, h, true AS is_old, day AS old_day FROM old)
QUALIFY row_number() OVER (PARTITION BY transaction_id
  ORDER BY ingested_at DESC, h DESC, is_old DESC, source_file) = 1 AND NOT is_old;
CREATE TEMP TABLE days AS
  SELECT DISTINCT CAST(timezone('Asia/Seoul', txn_ts) AS DATE) AS d FROM upd
  UNION SELECT DISTINCT o.day FROM old o SEMI JOIN upd u USING (transaction_id);
COPY (
  SELECT $parts
  FROM (SELECT *, timezone('Asia/Seoul', txn_ts) AS l FROM (
    SELECT s.* EXCLUDE (year, month, day)
    FROM read_parquet('$S/**/*.parquet', hive_partitioning = true) s
    SEMI JOIN days ON make_date(s.year::INT, s.month::INT, s.day::INT) = days.d
    ANTI JOIN upd ON s.transaction_id = upd.transaction_id
    UNION ALL SELECT * FROM upd))
  ORDER BY txn_ts, transaction_id
) TO '$dir/duck_out' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (year, month, day));
SELECT (SELECT count(*) FROM good) AS valid,
       (SELECT count(*) FROM read_parquet('$dir/duck_out/**/*.parquet')) AS written,
       (SELECT count(*) FROM days) AS partitions;
"
measure daily_duckdb "$TXNFLOW" sql --write --memory --format csv "$fair"

# rows written and partitions rewritten, from clean's report: "N P"
written() {
	tr -d '\n ' <"$1" |
		sed 's/.*"rows_per_partition":{\([^}]*\)}.*/\1/' | tr ',' '\n' |
		awk -F: '$2 != "" { s += $2; n++ } END { print s + 0 " " n + 0 }'
}
valid() {
	q=$(sed -n 's/.*"quarantined": \([0-9]*\).*/\1/p' "$1" | head -1)
	echo $((lines - ${q:-$lines}))
}
row() { # NAME: one line of figures
	awk -v n="$1" -v l="$lines" '$1 == 0 { printf "    %-14s skipped\n", n; next }
	{ printf "    %-14s wall %7.2f s  %10.0f rows/s  cpu %7.2f s  peak RSS %7.1f MiB\n",
	  n, $1, l / $1, $3 + $4, $2 / 1024 }' "$dir/$1.time"
}
ratio() { # TXNFLOW DUCKDB GOAL
	paste "$dir/$1.time" "$dir/$2.time" | awk '$1 > 0 && $5 > 0 {
	printf "    ratio: txnflow rows/s = %.2fx duckdb; peak RSS = %.2fx duckdb; CPU = %.2fx (goal >= 2x at <= 0.5x)\n",
	  $5 / $1, $2 / $6, ($3 + $4) / ($7 + $8) }'
}
phases() {
	[ -s "$1" ] || return 0
	sed -n '/timings_ms/,/}/p' "$1" | tr -d '\n ' | sed 's/^/    txnflow phases (ms): /; s/$/\n/'
	sed -n '/cpu_ms/,/}/p' "$1" | tr -d '\n ' | sed 's/^/    txnflow CPU per phase (ms, all threads): /; s/$/\n/'
}

echo "clean: batch $D, $lines lines ($ROWS events a day)"
echo "  first load (empty lake) vs the plain DuckDB script"
echo "    rows written / partitions: txnflow $(written "$dir/first_txnflow.out") (valid lines $(valid "$dir/first_txnflow.out")), duckdb $(tail -1 "$dir/first_duckdb.out" | tr , ' ')"
row first_txnflow
row first_duckdb
ratio first_txnflow first_duckdb
phases "$dir/first_txnflow.out"
echo "  daily job ($HIST days of history in silver) vs the fair DuckDB baseline"
echo "    valid lines: txnflow $(valid "$dir/daily_txnflow.out"), duckdb $(tail -1 "$dir/daily_duckdb.out" | cut -d, -f1)"
echo "    rows written / partitions rewritten: txnflow $(written "$dir/daily_txnflow.out"), duckdb $(tail -1 "$dir/daily_duckdb.out" | cut -d, -f2,3 | tr , ' ')"
row daily_txnflow
row daily_duckdb
ratio daily_txnflow daily_duckdb
phases "$dir/daily_txnflow.out"
echo "(one run; shared 2-core machine: $(uptime | sed 's/.*load/load/'))"
