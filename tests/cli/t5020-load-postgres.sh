#!/bin/bash
# The warehouse load (txnflow load): silver into a real PostgreSQL 15 (a
# throwaway cluster on a free loopback port, stopped on exit); its older
# names (publish.warehouse, publish --only warehouse); the Redshift SQL as
# text, and the partitions a Redshift load puts in the bucket first (a
# loopback S3 server).
. "$(dirname "$0")/../lib/test-lib.sh"

. "$ROOT/tests/lib/pg.sh"
. "$ROOT/tests/lib/s3/s3-lib.sh"
pg_start
s3_start lake || exit 1

SILVER=p/data/silver/transactions

# partition DAY ROWS SEED [EXTRA_COLUMN_SQL]: DAY's silver partition
partition() {
	_d=$1
	_dir=$SILVER/year=${_d%%-*}/month=$(echo "$_d" | cut -d- -f2)/day=${_d##*-}
	mkdir -p "$_dir" && rm -f "$_dir"/*.parquet &&
	txnflow sql --write --memory "COPY (SELECT 'T' || lpad((i + $3 * 100000)::VARCHAR, 8, '0') AS transaction_id,
		'C' || (i % 7) AS customer_id, 'K' || (i % 11) AS card_id, 'M' || (i % 5) AS merchant_id,
		TIMESTAMPTZ '$_d 00:00:00+09' + to_seconds(i * 7) AS txn_ts,
		((i * 37) % 100000 / 100)::DECIMAL(18,2) AS amount, 'KRW' AS currency, '5411' AS mcc,
		CASE WHEN i % 10 = 0 THEN 'declined' ELSE 'approved' END AS status, i % 13 = 0 AS is_refund,
		CASE i % 3 WHEN 0 THEN 'pos' WHEN 1 THEN 'online' ELSE 'mobile' END AS channel,
		TIMESTAMPTZ '$_d 01:00:00+09' AS ingested_at,
		CASE WHEN i % 13 = 0 THEN 'T0' ELSE NULL END AS original_transaction_id,
		E'bronze/a\\\\b\\tc.csv' AS source_file, DATE '$_d' AS ingest_date ${4:-}
		FROM range($2) t(i) ORDER BY txn_ts, transaction_id)
		TO '$_dir/part-00000.parquet' (FORMAT parquet, COMPRESSION zstd)" >/dev/null
}

# The same mart-like numbers from DuckDB (on the Parquet lake) and from
# PostgreSQL (on the loaded table): day x channel, in Asia/Seoul.
MART="SELECT CAST(timezone('Asia/Seoul', txn_ts) AS DATE) AS day, channel,
	count(*) AS n, sum(amount) AS amount, sum(CASE WHEN is_refund THEN 1 ELSE 0 END) AS refunds,
	count(DISTINCT customer_id) AS customers, count(original_transaction_id) AS linked,
	max(length(source_file)) AS sl
	FROM %s GROUP BY 1, 2 ORDER BY 1, 2"
duck_mart() {
	txnflow sql --memory "$(printf "$MART" "read_parquet('$SILVER/**/*.parquet')")" | tail -n +2
}
pg_mart() {
	psql -X -A -F, -t -q -c "$(printf "$MART" "public.silver_transactions")"
}

test_expect_success 'setup: 3 partitions, a postgres target' '
	txnflow init p >/dev/null &&
	pg_target p &&
	partition 2025-09-01 3000 1 &&
	partition 2025-09-02 2000 2 &&
	partition 2025-09-03 1000 3
'

test_expect_success 'first load: every partition, streamed with COPY' '
	txnflow -C p load --date 2025-09-03 --json >out &&
	test_grep "\"partitions_loaded\": 3" out &&
	test_grep "\"rows_loaded\": 6000" out &&
	test "$(psql_q "SELECT count(*) FROM silver_transactions")" = 6000
'

test_expect_success 'DuckDB and PostgreSQL give the same mart numbers' '
	duck_mart >duck &&
	pg_mart >pg &&
	test_line_count = 9 duck &&
	test_cmp duck pg
'

test_expect_success 'values survive the trip: escapes, nulls, decimals, instants' '
	psql_q "SELECT source_file, amount, txn_ts AT TIME ZONE '"'"'UTC'"'"', original_transaction_id IS NULL
		FROM silver_transactions WHERE transaction_id = '"'"'T00100001'"'"'" >got &&
	printf "bronze/a\\\\b\\tc.csv|0.37|2025-08-31 15:00:07|t\n" >want &&
	test_cmp want got
'

test_expect_success 'a second run loads nothing' '
	txnflow -C p load --date 2025-09-03 --json >out &&
	test_grep "\"partitions_loaded\": 0" out &&
	test_grep "\"partitions_unchanged\": 3" out
'

test_expect_success 'publish --only warehouse is the same load, its report under "warehouse"' '
	txnflow -C p publish --date 2025-09-03 --only warehouse --json >out &&
	test_grep "^  \"warehouse\": {" out &&
	test_grep "\"partitions_loaded\": 0" out &&
	test_grep "\"partitions_unchanged\": 3" out &&
	txnflow -C p publish --date 2025-09-03 --only warehouse >out &&
	test_grep "^warehouse load into pg (public.silver_transactions)$" out &&
	test_grep "partitions replaced 0, deleted 0, unchanged 3; 0 rows" out
'

test_expect_success 'publish itself is S3 only: without publish.s3 it says where the load went' '
	test_expect_code 4 txnflow -C p publish --date 2025-09-03 2>err &&
	test_grep "nothing to publish: configure publish.s3" err &&
	test_grep "txnflow load" err &&
	test_expect_code 2 txnflow -C p publish --date 2025-09-03 --target pg 2>err &&
	test_grep "txnflow load" err &&
	test "$(psql_q "SELECT count(*) FROM silver_transactions")" = 6000
'

test_expect_success 'load --help, and its usage errors' '
	txnflow load --help >out &&
	test_grep "^usage: txnflow load --date D" out &&
	test_grep "docs/load.md" out &&
	test_expect_code 2 txnflow -C p load 2>err &&
	test_grep "date is required" err &&
	test_expect_code 2 txnflow -C p load --date 2025-09-03 extra 2>err
'

test_expect_success 'late data rewrites an old partition: exactly it is replaced' '
	partition 2025-09-01 3100 1 &&
	partition 2025-09-04 400 4 &&
	txnflow -C p load --date 2025-09-04 --dry-run >plan &&
	test_grep "^warehouse load into pg (public.silver_transactions) (dry run)$" plan &&
	test_grep "^replace 2025-09-01 from .*/day=01/part-00000.parquet$" plan &&
	test_grep "^replace 2025-09-04 from " plan &&
	test "$(grep -c "^replace" plan)" = 2 &&
	test "$(psql_q "SELECT count(*) FROM silver_transactions")" = 6000 &&
	txnflow -C p load --date 2025-09-04 --json >out &&
	test_grep "\"partitions_loaded\": 2" out &&
	test_grep "\"rows_loaded\": 3500" out &&
	test "$(psql_q "SELECT count(*) FROM silver_transactions")" = 6500 &&
	duck_mart >duck && pg_mart >pg && test_cmp duck pg
'

test_expect_success 'a partition gone from silver is deleted from the table' '
	rm -r $SILVER/year=2025/month=09/day=04 &&
	txnflow -C p load --date 2025-09-04 --json >out &&
	test_grep "\"partitions_deleted\": 1" out &&
	test "$(psql_q "SELECT count(*) FROM silver_transactions")" = 6100
'

test_expect_success 'a failing partition rolls the whole load back' '
	partition 2025-09-02 2222 2 &&
	head -c 1000 $SILVER/year=2025/month=09/day=03/part-00000.parquet >x &&
	cp $SILVER/year=2025/month=09/day=03/part-00000.parquet good3 &&
	mv x $SILVER/year=2025/month=09/day=03/part-00000.parquet &&
	test_expect_code 4 txnflow -C p load --date 2025-09-04 2>err &&
	test_grep "2025-09-03" err &&
	test "$(psql_q "SELECT count(*) FROM silver_transactions")" = 6100 &&
	cp good3 $SILVER/year=2025/month=09/day=03/part-00000.parquet &&
	txnflow -C p load --date 2025-09-04 --json >out &&
	test_grep "\"partitions_loaded\": 1" out &&
	test "$(psql_q "SELECT count(*) FROM silver_transactions")" = 6322
'

test_expect_success 'a column added upstream is an error naming it' '
	partition 2025-09-02 2222 2 ", '"'"'x'"'"' AS merchant_country" &&
	test_expect_code 4 txnflow -C p load --date 2025-09-04 2>err &&
	test_grep "lacks: merchant_country text" err &&
	test_grep "add_columns" err &&
	test_grep "set load.add_columns: true" err
'

test_expect_success 'with add_columns: true the column is added' '
	sed -i "s/load: { target: pg }/load: { target: pg, add_columns: true }/" p/txnflow.yml &&
	txnflow -C p load --date 2025-09-04 >out &&
	test_grep "added column merchant_country" out &&
	test "$(psql_q "SELECT count(merchant_country) FROM silver_transactions")" = 2222
'

test_expect_success 'a password written in profiles.yml is refused' '
	txnflow init lit >/dev/null &&
	printf "publish:\n  warehouse: { target: pg }\n" >>lit/txnflow.yml &&
	printf "    pg: { type: postgres, host: 127.0.0.1, password: hunter2 }\n" >>lit/profiles.yml &&
	test_expect_code 4 txnflow -C lit load --date 2025-09-01 2>err &&
	test_grep "env_var" err &&
	! grep hunter2 err &&
	test_expect_code 4 txnflow -C lit publish --date 2025-09-01 --only warehouse 2>err &&
	test_grep "env_var" err &&
	! grep hunter2 err
'

test_expect_success 'publish.warehouse is the older spelling of load: (not both)' '
	txnflow init old >/dev/null &&
	printf "publish:\n  warehouse: { target: pg, add_columns: true }\n" >>old/txnflow.yml &&
	pg_profile old &&
	mkdir -p old/data/silver && cp -r $SILVER old/data/silver/ &&
	sed -i "s/schema: public/schema: old/" old/profiles.yml &&
	txnflow -C old load --date 2025-09-04 --json >out &&
	test_grep "\"partitions_loaded\": 3" out &&
	test "$(psql_q "SELECT count(*) FROM old.silver_transactions")" = \
	     "$(psql_q "SELECT count(*) FROM public.silver_transactions")" &&
	printf "load: { target: pg }\n" >>old/txnflow.yml &&
	test_expect_code 4 txnflow -C old load --date 2025-09-04 2>err &&
	test_grep "txnflow.yml:[0-9]*:[0-9]*: key .load.: the warehouse load is configured twice" err
'

test_expect_success 'TLS settings reach libpq (sslmode=require on a server without TLS)' '
	sed "s/sslmode: disable/sslmode: require/" p/profiles.yml >p/profiles.tls &&
	cp p/profiles.yml p/profiles.keep && cp p/profiles.tls p/profiles.yml &&
	partition 2025-09-05 10 5 &&
	test_expect_code 1 txnflow -C p load --date 2025-09-05 2>err;
	rc=$?; cp p/profiles.keep p/profiles.yml && test $rc = 0 &&
	test_grep -i "ssl" err &&
	! grep "$PG_PASSWORD" err
'

test_expect_success 'redshift: the COPY ... FORMAT AS PARQUET SQL, as text' '
	txnflow init rs >/dev/null &&
	cat >>rs/txnflow.yml <<-EOC &&
	publish:
	  s3: { bucket: lake, prefix: txnflow/, region: us-east-1 }
	  warehouse: { target: rs, table: silver_transactions, iam_role: "arn:aws:iam::123456789012:role/txnflow-copy" }
	EOC
	cat >>rs/profiles.yml <<-EOC &&
	    rs: { type: redshift, host: example.invalid, port: 5439, user: u, password: "{{ env_var('"'"'TXNFLOW_PG_PASSWORD'"'"') }}", dbname: dev, schema: analytics, sslmode: verify-full }
	EOC
	mkdir -p rs/data/silver/transactions/year=2025/month=09/day=01 &&
	cp $SILVER/year=2025/month=09/day=01/part-00000.parquet rs/data/silver/transactions/year=2025/month=09/day=01/ &&
	size1=$(wc -c <rs/data/silver/transactions/year=2025/month=09/day=01/part-00000.parquet) &&
	txnflow -C rs load --date 2025-09-01 --print-sql >sql &&
	sed "s|_load/analytics.silver_transactions/[0-9a-f]\{16\}.manifest|_load/analytics.silver_transactions/H.manifest|" sql >sql.h &&
	cat >want <<-EOS &&
	BEGIN;
	-- event date 2025-09-01 (Asia/Seoul)
	DELETE FROM "analytics"."silver_transactions" WHERE txn_ts >= '"'"'2025-08-31T15:00:00Z'"'"' AND txn_ts < '"'"'2025-09-01T15:00:00Z'"'"';
	-- the manifest s3://lake/txnflow/_load/analytics.silver_transactions/H.manifest:
	-- {"entries": [
	--   {"url": "s3://lake/txnflow/silver/transactions/year=2025/month=09/day=01/part-00000.parquet", "mandatory": true, "meta": {"content_length": $size1}}
	-- ]}
	COPY "analytics"."silver_transactions"
	FROM '"'"'s3://lake/txnflow/_load/analytics.silver_transactions/H.manifest'"'"'
	IAM_ROLE '"'"'arn:aws:iam::123456789012:role/txnflow-copy'"'"'
	FORMAT AS PARQUET
	MANIFEST;
	COMMIT;
	EOS
	test_cmp want sql.h &&
	txnflow -C rs publish --date 2025-09-01 --print-sql >sql2 &&
	test_cmp sql sql2 &&
	txnflow -C rs publish --date 2025-09-01 --only warehouse --print-sql >sql3 &&
	test_cmp sql sql3
'

test_expect_success 'redshift: the manifest names exactly the changed files' '
	: day 01 as the warehouse holds it, day 03 loaded once and gone from silver since &&
	sum1=$(sha256sum rs/data/silver/transactions/year=2025/month=09/day=01/part-00000.parquet | cut -c1-64) &&
	db_at rs "INSERT INTO published_objects VALUES
		('"'"'redshift:rs/analytics.silver_transactions'"'"', '"'"'2025-09-01'"'"', '"'"'$sum1'"'"', 1, 0),
		('"'"'redshift:rs/analytics.silver_transactions'"'"', '"'"'2025-09-03'"'"', '"'"'00'"'"', 1, 0)" &&
	mkdir -p rs/data/silver/transactions/year=2025/month=09/day=02 &&
	cp $SILVER/year=2025/month=09/day=02/part-00000.parquet rs/data/silver/transactions/year=2025/month=09/day=02/ &&
	txnflow -C rs load --date 2025-09-02 --print-sql >sql &&
	grep "^--   {\"url\": \"s3://" sql >files &&
	test_line_count = 1 files &&
	test_grep "day=02/part-00000.parquet" files &&
	test_grep "^-- event date 2025-09-02" sql &&
	test_grep "^-- event date 2025-09-03" sql &&
	! grep -E "event date 2025-09-01|day=01" sql &&
	: nothing changed but a deletion: no COPY, no manifest &&
	db_at rs "INSERT INTO published_objects VALUES
		('"'"'redshift:rs/analytics.silver_transactions'"'"', '"'"'2025-09-02'"'"',
		 '"'"'$(sha256sum rs/data/silver/transactions/year=2025/month=09/day=02/part-00000.parquet | cut -c1-64)'"'"', 1, 0)" &&
	txnflow -C rs load --date 2025-09-02 --print-sql >sql &&
	! grep -E "COPY|MANIFEST" sql &&
	test_grep "^-- event date 2025-09-03" sql &&
	db_at rs "DELETE FROM published_objects WHERE target LIKE '"'"'redshift:%'"'"'"
'

test_expect_success 'redshift: the load puts the partitions it copies in the bucket first' '
	sed -i "s|s3: { bucket: lake,|s3: { endpoint: \"$S3_ENDPOINT\", path_style: true, bucket: lake,|" rs/txnflow.yml &&
	sed -i "s/host: example.invalid, port: 5439/host: 127.0.0.1, port: 1, connect_timeout: 5/" rs/profiles.yml &&
	mkdir -p rs/data/silver/transactions/year=2025/month=09/day=02 &&
	cp $SILVER/year=2025/month=09/day=02/part-00000.parquet rs/data/silver/transactions/year=2025/month=09/day=02/ &&
	echo old >old.bin &&
	txnflow -C rs publish put "$PWD/old.bin" txnflow/silver/transactions/year=2025/month=09/day=01/part-old.parquet >/dev/null &&
	txnflow -C rs publish put "$PWD/old.bin" txnflow/marts/keep/keep.parquet >/dev/null &&
	test_expect_code 1 txnflow -C rs load --date 2025-09-02 2>err &&
	test_grep "warehouse load into rs: connect to target .rs." err &&
	s3_check lake list txnflow/ >remote &&
	s3_local_list rs/data txnflow/ >local &&
	grep "^txnflow/silver/" remote >remote-silver &&
	test_cmp local remote-silver &&
	test_grep "^txnflow/marts/keep/keep.parquet" remote &&
	: the COPY reads a manifest of both days files, not the old one beside them &&
	cut -f1 remote | grep "^txnflow/_load/analytics.silver_transactions/[0-9a-f]\{16\}\.manifest$" >mkey &&
	test_line_count = 1 mkey &&
	s3_check lake get "$(cat mkey)" >manifest &&
	grep -o "\"url\": \"[^\"]*\"" manifest >urls &&
	cut -f1 local | sed "s|.*|\"url\": \"s3://lake/&\"|" >want-urls &&
	test_line_count = 2 want-urls &&
	test_cmp want-urls urls &&
	test_grep "day=02/part-00000.parquet\", \"mandatory\": true, \"meta\": {\"content_length\": $(cut -f2 local | tail -1)}}" manifest &&
	: nothing was loaded: a second try puts nothing again, and the S3 publish skips both &&
	test_expect_code 1 txnflow -C rs load --date 2025-09-02 2>err &&
	! grep "uploaded" err &&
	txnflow -C rs publish --date 2025-09-02 --json >out &&
	test_grep "\"skipped\": 2" out
'

test_done
