#!/bin/bash
# A revert run with a warehouse load configured (load: -> a throwaway
# PostgreSQL): its chain is revert -> load -> models, and the loaded
# table then holds, row for row, the silver of a project that never saw
# the batch (issue 21: the warehouse follows a revert like a late batch).
. "$(dirname "$0")/../lib/test-lib.sh"
. "$ROOT/tests/lib/pg.sh"
# models builds and loads: no quarantine (decision 0001); revert keeps it
# in t1123, the load in t5020
test_duckdb_heavy
pg_start

B=data/bronze/transactions
T=data/truth/transactions
# the rows that matter, sorted: each id with its version (ingested_at, in
# microseconds), amount, status and the batch that delivered it
COLS="transaction_id || '|' || CAST(AMOUNT AS VARCHAR) || '|' || status ||
	'|' || CAST(ingest_date AS VARCHAR) || '|' || CAST(US AS VARCHAR)"
lake_rows() {
	txnflow sql --memory --format csv "SELECT $(echo "$COLS" |
		sed "s/AMOUNT/amount/; s/US/epoch_us(ingested_at)/") AS r FROM
		read_parquet('$1/data/silver/transactions/**/*.parquet') ORDER BY 1" | tail -n +2
}
pg_rows() {
	psql_q "SELECT r FROM (SELECT $(echo "$COLS" | sed "s/AMOUNT/amount::numeric(18,2)/;
		s/US/(extract(epoch FROM ingested_at) * 1000000)::bigint/") AS r
		FROM silver_transactions) t ORDER BY r COLLATE \"C\""
}

test_expect_success 'setup: three days with late data and versions, loaded into postgres' '
	txnflow init p >/dev/null &&
	sed -i "s/^  rows: .*/  rows: 100/" p/txnflow.yml &&
	echo "retries: 0" >>p/txnflow.yml &&
	pg_target p &&
	txnflow -C p generate --date 2025-09-01 --days 3 --rows 100 --customers 40 \
		--late-rate 0.3 --version-rate 0.3 --dup-rate 0.1 >/dev/null &&
	cp -r p w &&
	rm -rf w/$B/ingest_date=2025-09-02 w/$T/ingest_date=2025-09-02 &&
	for d in 01 03; do
		txnflow -C w clean --date 2025-09-$d >/dev/null || return 1
	done &&
	lake_rows w >want &&
	txnflow -C p backfill --from 2025-09-01 --to 2025-09-03 >bf.out &&
	test_grep "3 succeeded" bf.out &&
	pg_rows >before && lake_rows p >lake_before &&
	test_cmp lake_before before &&
	! test_cmp want before >/dev/null
'

test_expect_success 'revert 2025-09-02: revert, load, models; the table equals the lake without it' '
	txnflow -C p revert --ingest-date 2025-09-02 --json >rev.json &&
	jq -r "[.run.kind, .run.state] + [.run.tasks[] | .task + \" \" + .state] | join(\",\")" rev.json >got &&
	echo "revert,success,revert success,load success,models success" >expect &&
	test_cmp expect got &&
	test_grep "warehouse load into pg" p/data/logs/2025-09-02/load/attempt-*.log &&
	lake_rows p >lake_after && test_cmp want lake_after &&
	pg_rows >after && test_cmp want after
'

test_expect_success 'the daily run keeps it out; a batch landed in its place is cleaned and loaded' '
	txnflow -C p run --date 2025-09-02 >out &&
	test_grep "already succeeded" out &&
	lake_rows p >now && test_cmp want now &&
	txnflow -C p generate --date 2025-09-02 --rows 60 --seed 9 --force >/dev/null &&
	txnflow -C p run --date 2025-09-02 >out 2>err &&
	test_grep "2025-09-02: success" out &&
	test_grep "replaced since its last clean" err &&
	lake_rows p >now && ! test_cmp want now >/dev/null &&
	test $(grep -c "|2025-09-02|" now) -gt 0 &&
	pg_rows >pg_now && test_cmp now pg_now
'

test_done
