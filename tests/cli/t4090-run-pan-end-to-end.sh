#!/bin/bash
# Card numbers end to end (issue 22's "Done when"): eleven days of a card
# feed (feed: pan: true) with every fault of the generator on (malformed
# lines, bad card numbers, late arrivals, new versions, exact and stale
# re-deliveries, refunds) through the daily DAG (generate, clean, load
# into PostgreSQL, models, publish to a loopback S3, scan_pans), then the
# dashboard in headless chromium (every page) and the lineage export.
# `scan-pans` over the project without bronze, the bucket's objects, a
# pg_dump of the database and what the dashboard answered finds no card
# number; bronze, where they land, has them; one planted in a mart is
# found exactly once, where it was planted.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$ROOT/tests/lib/pg.sh"
. "$ROOT/tests/lib/s3/s3-lib.sh"
. "$TEST_DATA/serve/serve-lib.sh"
test_duckdb_heavy

if [ ! -x /usr/bin/chromium ] || [ ! -d "$ROOT/node_modules/playwright-core" ]; then
	echo "# SKIP: /usr/bin/chromium or node_modules/playwright-core is missing (make deps installs both)"
	test_done
fi
pg_start
s3_start lake || exit 1
trap 'kill_servers; s3_stop; pg_stop' EXIT

unset TXNFLOW_PAN_KEY TXNFLOW_PAN_KEY_FILE
printf "%s\n" "$(head -c 32 /dev/urandom | base64)" >key && chmod 600 key
export TXNFLOW_PAN_KEY_FILE=$PWD/key
D=p/data

test_expect_success 'setup: a card feed, load: into postgres, publish.s3' '
	txnflow init p >/dev/null &&
	sed -i "s/^  rows: 5000 .*/  rows: 2000\n  pan: true/" p/txnflow.yml &&
	pg_target p &&
	one_duckdb_thread p &&
	cat >>p/txnflow.yml <<-EOC &&
	publish:
	  s3: { bucket: lake, prefix: txnflow/, endpoint: "$S3_ENDPOINT", path_style: true, region: us-east-1 }
	retries: 0
	EOC
	: every fault the generator has, more of each than by default &&
	txnflow -C p generate --date 2025-09-01 --days 11 --malformed-rate 0.01 \
		--dup-rate 0.04 --version-rate 0.05 --late-rate 0.08 --stale-rate 0.02 \
		--refund-rate 0.02 >gen.out &&
	grep -c "malformed" gen.out >n && test "$(cat n)" = 11
'

test_expect_success 'eleven days through the DAG, scan_pans included, all succeed' '
	txnflow -C p backfill --from 2025-09-01 --to 2025-09-11 >out 2>err &&
	db() { sqlite3 $D/txnflow.db "$1"; } &&
	db "SELECT count(*) FROM runs WHERE state = '"'"'success'"'"'" >n &&
	test "$(cat n)" = 11 &&
	db "SELECT DISTINCT task FROM task_attempts WHERE state = '"'"'success'"'"' ORDER BY 1" | tr "\n" " " >tasks &&
	test_grep "clean generate load models publish scan_pans" tasks &&
	: the malformed card numbers went to quarantine &&
	cat $D/quarantine/transactions/ingest_date=*/rejects.csv | grep -c ",bad_card_number," >n &&
	test "$(cat n)" -gt 5 &&
	test "$(psql_q "SELECT count(DISTINCT card_key_id) FROM silver_transactions")" = 1 &&
	test "$(psql_q "SELECT count(*) FROM silver_transactions")" -gt 15000
'

test_expect_success 'the dashboard: chromium opens every page, the answers kept' '
	start_server s -C p serve --port 0 >url &&
	node "$ROOT/tests/browser/pages.js" "$(cat url)" dash >browser.out 2>&1;
	rc=$? && cat browser.out && test $rc = 0 &&
	test_grep "^browser: 15 passed, 0 failed" browser.out &&
	ls dash | grep -c "^resp-" >n && test "$(cat n)" -gt 10 &&
	grep -l "bronze_card_files" dash/resp-* >/dev/null &&
	stop_server s
'

test_expect_success 'lineage export, the bucket, a pg_dump: beside the project' '
	txnflow -C p lineage export >lineage.ndjson &&
	test_line_count -gt 50 lineage.ndjson &&
	s3_check lake list txnflow/ >objects &&
	grep -c "^txnflow/silver/transactions/" objects >n && test "$(cat n)" -gt 10 &&
	grep -q "^txnflow/marts/" objects &&
	mkdir bucket &&
	awk -F"\t" "{ print \$1 }" objects | while read -r k; do
		mkdir -p "bucket/$(dirname "$k")" &&
		s3_check lake get "$k" >"bucket/$k" || exit 1
	done &&
	"$PGBIN/pg_dump" --no-owner >pg.sql &&
	test_grep "card_token" pg.sql
'

test_expect_success 'scan-pans: no card number anywhere but bronze' '
	txnflow scan-pans p bucket pg.sql lineage.ndjson dash >scan.out &&
	cat scan.out | tail -3 &&
	test_grep "^scan-pans: 0 card numbers" scan.out &&
	txnflow scan-pans --json p >scan.json &&
	test_grep "\"skipped\": \[" scan.json &&
	grep -A3 "\"skipped\"" scan.json | grep -q "bronze" &&
	txnflow scan-pans --include-bronze p >bronze.out;
	test $? = 1 &&
	grep -c "^p/data/bronze/" bronze.out >n && test "$(cat n)" -gt 10000 &&
	! grep -v -e "^p/data/bronze/" -e "^scan-pans:" bronze.out
'

test_expect_success 'a card number planted in a mart is found, exactly once' '
	txnflow -C p sql --write "UPDATE mart_rfm_customer SET segment = '"'"'4111 1111 1111 1111'"'"' WHERE customer_id = (SELECT min(customer_id) FROM mart_rfm_customer)" &&
	test_expect_code 1 txnflow scan-pans p >scan.out &&
	grep -v "^scan-pans:" scan.out >found &&
	test_line_count = 1 found &&
	test_grep "warehouse.duckdb.*table main.mart_rfm_customer, column segment" found &&
	test_grep "411111\*\*\*\*\*\*1111" found &&
	test_grep "^scan-pans: 1 card number" scan.out
'

test_done
