#!/bin/bash
# txnflow serve in a real browser: headless Debian chromium (driven by
# playwright-core from npm) opens every page, finds no console errors, and
# sees the numbers the warehouse and the metadata database hold — the net
# sales of a day, the failed tests after a planted failure, an SLA miss
# after a planted late run. Screenshots are kept in tests/out/screenshots/.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TEST_DATA/serve/serve-lib.sh"
trap kill_servers EXIT

if [ ! -x /usr/bin/chromium ] || [ ! -d "$ROOT/node_modules/playwright-core" ]; then
	echo "# SKIP: /usr/bin/chromium or node_modules/playwright-core is missing (make deps installs both)"
	test_done
	exit 0
fi
SHOTS=$ROOT/tests/out/screenshots

test_expect_success 'fixture project with a planted failure and a late run' '
	make_fixture_project p &&
	sqlite3 p/data/txnflow.db <"$TEST_DATA/serve/planted.sql"
'

test_expect_success 'expected numbers, read from the warehouse and the metadata' '
	n_dates=$(sqlite3 p/data/txnflow.db "SELECT count(DISTINCT logical_date) FROM runs") &&
	failed=$(sqlite3 p/data/txnflow.db "SELECT count(*) FROM test_results t WHERE status IN (\"fail\", \"error\") AND result_id = (SELECT max(result_id) FROM test_results t2 WHERE t2.model IS t.model AND t2.test_name = t.test_name)") &&
	misses=$(sqlite3 p/data/txnflow.db "SELECT json_group_array(logical_date) FROM (SELECT logical_date FROM sla_misses ORDER BY 1)") &&
	parts=$(sqlite3 p/data/txnflow.db "SELECT count(DISTINCT partition) FROM partition_commits") &&
	rows=$(sqlite3 p/data/txnflow.db "SELECT sum(n_rows) FROM partition_commits p WHERE commit_id = (SELECT max(commit_id) FROM partition_commits p2 WHERE p2.partition = p.partition)") &&
	sales=$(txnflow -C p sql "SELECT sum(net_sales) FROM mart_sales_daily WHERE sales_date = DATE '\''2025-09-03'\''" | tail -1) &&
	mart_rows=$(sqlite3 p/data/txnflow.db "SELECT n_rows FROM model_builds WHERE model = \"mart_sales_daily\" ORDER BY build_id DESC LIMIT 1") &&
	test "$failed" = 2 && test "$sales" = 1098000.25 &&
	cat >expect.json <<-EOF
	{"n_dates": $n_dates, "sla_missed_dates": $misses, "failed_tests": $failed, "has_sample": true,
	 "log_date": "2025-09-02", "log_task": "clean", "log_contains": "retried",
	 "recon_not_holding": 1, "recon_holding": 2,
	 "lineage_nodes": ["bronze", "silver", "stg_transactions", "fact_transactions", "mart_sales_daily"],
	 "lineage_rows": {"node": "mart_sales_daily", "rows": $mart_rows},
	 "partitions": $parts, "silver_rows": $rows,
	 "net_sales": {"2025-09-03": "$sales"},
	 "hostile_text": "<script>alert(1)</script>"}
	EOF
	node -e "JSON.parse(require(\"fs\").readFileSync(\"expect.json\"))"
'

test_expect_success 'chromium sees every page, the numbers, and no errors' '
	start_server s -C p serve --port 0 >url &&
	node "$ROOT/tests/browser/dashboard.js" "$(cat url)" expect.json "$SHOTS" >browser.out 2>&1 ;
	rc=$? ; cat browser.out ; ss=0 ; stop_server s || ss=1 ;
	grep "^not ok" browser.out ; # repeated last: the harness shows the tail
	test $ss = 0 && test $rc = 0 &&
	test_grep "^browser: [0-9]* passed, 0 failed" browser.out &&
	for p in runs quality lineage lake business; do test_path_is_file "$SHOTS/$p.png" || exit 1; done
'

test_expect_success 'a project without models shows "not built yet"' '
	txnflow init empty >/dev/null &&
	echo "{\"n_dates\": 0, \"sla_missed_dates\": [], \"failed_tests\": 0, \"recon_not_holding\": 0, \"recon_holding\": 0, \"lineage_nodes\": [\"bronze\", \"silver\"], \"partitions\": 0, \"silver_rows\": 0}" >empty.json &&
	start_server e -C empty serve --port 0 >eurl &&
	node "$ROOT/tests/browser/dashboard.js" "$(cat eurl)" empty.json "$SHOTS/empty" >browser.out 2>&1 ;
	rc=$? ; cat browser.out ; ss=0 ; stop_server e || ss=1 ;
	grep "^not ok" browser.out ; # repeated last: the harness shows the tail
	test $ss = 0 && test $rc = 0
'

test_done
