#!/bin/bash
# txnflow run with a warehouse load configured (load: -> a throwaway
# PostgreSQL) and an S3 publish (a loopback S3 server): the DAG is
# generate -> clean -> load -> models -> publish, in that order, and the
# models, on PostgreSQL (the profile's default target), see the rows of the
# day just cleaned; a backfill with --parallel 2 (one models build for
# several dates) keeps the load of each date before that build.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$ROOT/tests/lib/pg.sh"
. "$ROOT/tests/lib/s3/s3-lib.sh"
pg_start
s3_start lake || exit 1

# the silver rows of the lake, and of stg_transactions on PostgreSQL (a
# table the models build; it holds what the load had loaded when they ran)
lake_rows() {
	txnflow sql --memory --format csv \
		"SELECT count(*) FROM read_parquet('p/data/silver/transactions/**/*.parquet')" | tail -1
}
stg_rows() { psql_q "SELECT count(*) FROM stg_transactions"; }

test_expect_success 'setup: load: into postgres, publish.s3, models on postgres' '
	txnflow init p >/dev/null &&
	sed -i "s/^\(  *rows:\).*/\1 800/" p/txnflow.yml &&
	cat >>p/txnflow.yml <<-EOC &&
	retries: 0
	publish:
	  s3: { endpoint: "$S3_ENDPOINT", bucket: lake, prefix: txnflow/, region: us-east-1, path_style: true }
	EOC
	pg_target p &&
	sed -i "s/^  target: dev$/  target: pg/" p/profiles.yml &&
	test_grep "^  target: pg$" p/profiles.yml
'

test_expect_success 'run: generate, clean, load, models, publish, in that order' '
	txnflow -C p run --date 2025-09-01 >out 2>err &&
	test_grep "^2025-09-01: success" out &&
	db "SELECT task, attempt, state FROM task_attempts ORDER BY attempt_id" >actual &&
	cat >expect <<-\EOF &&
	generate|1|success
	clean|1|success
	load|1|success
	models|1|success
	publish|1|success
	EOF
	test_cmp expect actual &&
	: each task started after the one before it ended &&
	db "SELECT count(*) FROM task_attempts a JOIN task_attempts b
	    ON b.attempt_id = a.attempt_id + 1 WHERE b.started_at_us < a.ended_at_us" >overlap &&
	test_grep "^0$" overlap &&
	test_grep "^# txnflow: 2025-09-01 load attempt 1" p/data/logs/2025-09-01/load/attempt-1.log &&
	test_grep "warehouse load into pg (public.silver_transactions)" p/data/logs/2025-09-01/load/attempt-1.log
'

test_expect_success 'the models on postgres saw the day just cleaned and loaded' '
	n=$(lake_rows) && test "$n" -gt 500 &&
	test "$(psql_q "SELECT count(*) FROM silver_transactions")" = "$n" &&
	test "$(stg_rows)" = "$n" &&
	test "$(psql_q "SELECT count(*) FROM mart_reconciliation WHERE status <> '"'"'ok'"'"'")" = 0 &&
	test "$(psql_q "SELECT left_value FROM mart_reconciliation WHERE check_order = 1")" = "$n" &&
	: the marts are on postgres, so publish had only silver to upload &&
	s3_check lake list txnflow/ >remote &&
	test_grep "^txnflow/silver/transactions/year=2025/month=09/day=01/part-00000.parquet" remote &&
	! grep "^txnflow/marts/" remote
'

test_expect_success 'the next day: its rows and late data reach the models the same day' '
	before=$(lake_rows) &&
	txnflow -C p run --date 2025-09-02 >out 2>err &&
	test_grep "^2025-09-02: success" out &&
	n=$(lake_rows) && test "$n" -gt "$before" &&
	test "$(stg_rows)" = "$n" &&
	db "SELECT task FROM task_attempts WHERE run_id = 2 ORDER BY attempt_id" | tr "\n" " " >order &&
	test_grep "^generate clean load models publish $" order
'

test_expect_success 'backfill --parallel 2: each date loads before the one models build' '
	txnflow -C p backfill --from 2025-09-03 --to 2025-09-05 --parallel 2 >out 2>err &&
	test_grep "3 succeeded" out &&
	: every load of a run ended before its models started &&
	db "SELECT count(*) FROM task_attempts l JOIN task_attempts m
	    ON m.run_id = l.run_id AND l.task = '"'"'load'"'"' AND m.task = '"'"'models'"'"'
	    WHERE l.ended_at_us > m.started_at_us" >late &&
	test_grep "^0$" late &&
	test "$(db "SELECT count(*) FROM task_attempts WHERE task = '"'"'load'"'"' AND state = '"'"'success'"'"'")" = 5 &&
	test "$(stg_rows)" = "$(lake_rows)" &&
	test "$(psql_q "SELECT count(*) FROM mart_reconciliation WHERE status <> '"'"'ok'"'"'")" = 0
'

test_done
