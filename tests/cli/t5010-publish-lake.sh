#!/bin/bash
# txnflow publish: the lake and the marts to a loopback S3 server. The
# silver partitions and marts are made here with DuckDB (the same layout
# clean and the models write), so this test stands on publish alone.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$ROOT/tests/lib/s3/s3-lib.sh"

s3_start lake || exit 1

SILVER=p/data/silver/transactions

# partition DAY ROWS SEED: write DAY's silver partition with ROWS rows
partition() {
	_d=$1
	_dir=$SILVER/year=${_d%%-*}/month=$(echo "$_d" | cut -d- -f2)/day=${_d##*-}
	mkdir -p "$_dir" &&
	txnflow sql --write --memory "COPY (SELECT 'T' || lpad((i + $3 * 100000)::VARCHAR, 8, '0') AS transaction_id,
		'C' || (i % 7) AS customer_id, 'K' || (i % 11) AS card_id, 'M' || (i % 5) AS merchant_id,
		TIMESTAMPTZ '$_d 00:00:00+09' + to_seconds(i) AS txn_ts,
		((i * 37) % 100000 / 100)::DECIMAL(18,2) AS amount, 'KRW' AS currency, '5411' AS mcc,
		'approved' AS status, false AS is_refund, 'pos' AS channel,
		TIMESTAMPTZ '$_d 01:00:00+09' AS ingested_at, NULL::VARCHAR AS original_transaction_id,
		'bronze/x.csv' AS source_file, DATE '$_d' AS ingest_date
		FROM range($2) t(i) ORDER BY txn_ts, transaction_id)
		TO '$_dir/part-00000.parquet' (FORMAT parquet, COMPRESSION zstd)" >/dev/null
}

# clean_ran DATE PARTITION...: record a successful clean of DATE that
# rewrote these event-date partitions (what clean stores)
clean_ran() {
	_date=$1
	shift
	_sql="INSERT INTO clean_runs(ingest_date, state) VALUES('$_date', 'success');"
	for _p in "$@"; do
		_sql="$_sql INSERT INTO partition_commits(clean_id, partition) VALUES((SELECT max(clean_id) FROM clean_runs), '$_p');"
	done
	sqlite3 p/data/txnflow.db "$_sql"
}

json_field() { # json_field FILE NAME: the number after "NAME":
	sed -n "s/^  \"$2\": \([0-9]*\).*/\1/p" "$1"
}

test_expect_success 'setup: a project with 3 days of silver, two marts' '
	txnflow init p >/dev/null &&
	cat >>p/txnflow.yml <<-EOC &&
	publish:
	  s3: { endpoint: "$S3_ENDPOINT", bucket: lake, prefix: txnflow/, region: us-east-1, path_style: true, retry_base_ms: 5 }
	EOC
	partition 2025-09-01 3000 1 &&
	partition 2025-09-02 2000 2 &&
	partition 2025-09-03 1000 3 &&
	txnflow -C p sql --write "CREATE TABLE mart_sales_daily AS SELECT * FROM
		(VALUES (DATE '\''2025-09-01'\'', 10, 100.50::DECIMAL(18,2)), (DATE '\''2025-09-02'\'', 7, 7.25)) t(day, n, amount);
		CREATE TABLE mart_rfm_customer AS SELECT '\''C'\'' || i AS customer_id, i % 5 AS r FROM range(50) t(i);
		CREATE TABLE stg_other AS SELECT 1 AS x" &&
	mkdir -p p/data && txnflow -C p status >/dev/null &&
	clean_ran 2025-09-03 2025-09-01 2025-09-02 2025-09-03
'

test_expect_success 'first publish uploads the lake, the marts and the manifest' '
	s3_stats_reset &&
	txnflow -C p publish --date 2025-09-03 --json >out &&
	test "$(json_field out uploaded)" = 6 &&
	test "$(json_field out skipped)" = 0 &&
	test "$(json_field out deleted)" = 0 &&
	test_grep "\"manifest_uploaded\": true" out &&
	test_grep "\"2025-09-01\"" out &&
	s3_check lake list txnflow/ >remote &&
	test_line_count = 6 remote &&
	s3_local_list p/data txnflow/ >local &&
	grep silver remote >remote-silver &&
	test_cmp local remote-silver &&
	test_grep "^txnflow/marts/mart_sales_daily/mart_sales_daily.parquet" remote &&
	test_grep "^txnflow/marts/mart_rfm_customer/mart_rfm_customer.parquet" remote &&
	! grep stg_other remote
'

test_expect_success 'the manifest lists every object with its sha256, and is readable by DuckDB' '
	s3_check lake get txnflow/_manifest.json >manifest.json &&
	test_grep "\"format\": \"txnflow-publish-manifest/1\"" manifest.json &&
	test_grep "\"n_objects\": 5" manifest.json &&
	for k in $(cut -f1 remote | grep -v _manifest); do test_grep "\"$k\"" manifest.json || return 1; done &&
	s3_check lake get txnflow/marts/mart_sales_daily/mart_sales_daily.parquet >m.parquet &&
	txnflow sql --memory "SELECT sum(n) AS n FROM read_parquet('\''m.parquet'\'')" >sum &&
	test_grep "^17$" sum
'

test_expect_success 'a second publish uploads 0 bytes' '
	s3_stats_reset &&
	txnflow -C p publish --date 2025-09-03 --json >out &&
	test "$(json_field out uploaded)" = 0 &&
	test "$(json_field out uploaded_bytes)" = 0 &&
	test "$(json_field out skipped)" = 5 &&
	test_grep "\"manifest_uploaded\": false" out &&
	s3_stats >stats &&
	! grep "\"PUT\"" stats
'

test_expect_success 'a late batch: only the rewritten partitions are uploaded' '
	partition 2025-09-01 3001 1 &&
	partition 2025-09-04 500 4 &&
	clean_ran 2025-09-04 2025-09-01 2025-09-04 &&
	txnflow -C p publish --date 2025-09-04 --json >out &&
	test "$(json_field out uploaded)" = 3 &&
	test_grep "day=01/part-00000.parquet" out &&
	test_grep "day=04/part-00000.parquet" out &&
	! grep "day=02/part" out &&
	test_grep "\"partitions_changed\": \[" out &&
	txnflow -C p publish ls txnflow/silver/ >remote &&
	test_line_count = 4 remote
'

test_expect_success 'a partition rewritten under another name: the old object is deleted' '
	mv $SILVER/year=2025/month=09/day=02/part-00000.parquet \
	   $SILVER/year=2025/month=09/day=02/part-00001.parquet &&
	txnflow -C p publish --date 2025-09-04 --json >out &&
	test "$(json_field out deleted)" = 1 &&
	test_grep "\"txnflow/silver/transactions/year=2025/month=09/day=02/part-00000.parquet\"" out &&
	txnflow -C p publish ls txnflow/silver/ >remote &&
	! grep day=02/part-00000 remote &&
	test_grep day=02/part-00001 remote
'

test_expect_success 'without the metadata records, checksums in the bucket still skip' '
	sqlite3 p/data/txnflow.db "DELETE FROM published_objects" &&
	s3_stats_reset &&
	txnflow -C p publish --date 2025-09-04 --json >out &&
	test "$(json_field out uploaded_bytes)" = 0 &&
	s3_stats >stats && test_grep "\"HEAD\"" stats && ! grep "\"PUT\"" stats &&
	test "$(sqlite3 p/data/txnflow.db "SELECT count(*) FROM published_objects")" = 7
'

test_expect_success 'an object removed from the bucket is uploaded again' '
	txnflow -C p publish rm txnflow/silver/transactions/year=2025/month=09/day=03/part-00000.parquet &&
	txnflow -C p publish --date 2025-09-04 --json >out &&
	test "$(json_field out uploaded)" = 1 &&
	test_grep "day=03/part-00000" out
'

test_expect_success 'dry run changes nothing' '
	partition 2025-09-03 1001 3 &&
	s3_stats_reset &&
	txnflow -C p publish --date 2025-09-04 --dry-run >out &&
	test_grep "uploaded  1 objects" out &&
	test_grep "dry run" out &&
	s3_stats >stats && ! grep "\"PUT\"" stats
'

test_expect_success 'a failed publish keeps the old manifest; the next run finishes' '
	txnflow -C p publish get txnflow/_manifest.json >before.json &&
	s3_fault "[{\"method\":\"PUT\",\"key\":\"day%3D03\",\"action\":\"status\",\"status\":500,\"count\":50}]" &&
	test_expect_code 1 txnflow -C p publish --date 2025-09-04 2>err &&
	s3_faults_clear &&
	test_grep "InternalError" err &&
	txnflow -C p publish get txnflow/_manifest.json >after.json &&
	test_cmp before.json after.json &&
	txnflow -C p publish --date 2025-09-04 --json >out &&
	test "$(json_field out uploaded)" = 2 &&
	test_grep "\"manifest_uploaded\": true" out &&
	s3_check lake get txnflow/_manifest.json >new.json &&
	test_grep "$(sha256sum $SILVER/year=2025/month=09/day=03/part-00000.parquet | cut -d" " -f1)" new.json
'

test_expect_success 'publish needs --date and a publish.s3 section' '
	test_expect_code 2 txnflow -C p publish 2>err &&
	test_grep "date" err &&
	txnflow init q >/dev/null &&
	test_expect_code 4 txnflow -C q publish --date 2025-09-01 2>err &&
	test_grep "publish.s3" err
'

test_done
