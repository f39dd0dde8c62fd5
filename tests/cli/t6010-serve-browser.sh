#!/bin/bash
# txnflow serve in a real browser, on a real project: 11 generated days
# through the pipeline (generate, backfill, the scheduler), a late run that
# misses its SLA and a planted failing data test whose failing rows carry
# markup. Headless Debian chromium (driven by playwright-core from npm)
# opens every page, finds no console errors, and sees the numbers the
# warehouse (read with `txnflow sql`) and the metadata database hold.
# Screenshots are kept in tests/out/screenshots/.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TEST_DATA/serve/serve-lib.sh"
# eleven days of models builds: no quarantine (decision 0001); the server's
# own paths keep it in t6000
test_duckdb_heavy
trap kill_servers EXIT

if [ ! -x /usr/bin/chromium ] || [ ! -d "$ROOT/node_modules/playwright-core" ]; then
	echo "# SKIP: /usr/bin/chromium or node_modules/playwright-core is missing (make deps installs both)"
	test_done
	exit 0
fi
SHOTS=$ROOT/tests/out/screenshots

# The first ten days are a parallel backfill (its models builds are batched,
# decision 0802: a models build takes seconds under the sanitizers), the
# eleventh a scheduled run that comes late.
test_expect_success 'eleven generated days through the pipeline' '
	txnflow init p >/dev/null &&
	sed -i "s/^  rows: 5000 /  rows: 300  /" p/txnflow.yml &&
	echo "retries: 0" >>p/txnflow.yml &&
	txnflow -C p generate --date 2025-09-01 --days 11 --rows 300 >/dev/null &&
	TXNFLOW_NOW=2025-09-11T06:00:00+09:00 txnflow -C p backfill --from 2025-09-01 --to 2025-09-10 --parallel 2 >out 2>err &&
	test_grep "10 succeeded" out &&
	test "$(db "SELECT count(*) FROM task_attempts WHERE task = '"'"'models'"'"' AND state = '"'"'success'"'"'")" = 10 &&
	: every attempt has its START and COMPLETE lineage events, none lost to a busy database &&
	! grep "lineage event not recorded" err &&
	test "$(db "SELECT count(*) FROM lineage_events")" = "$(db "SELECT 2 * count(*) FROM task_attempts")" &&
	: the scheduler starts watching the SLA on 09-11, before 09-10 is due &&
	txnflow -C p scheduler --once --now 2025-09-11T07:00:00+09:00 2>err
'

test_expect_success 'a late run of 2025-09-11 misses its SLA' '
	: the scheduler was down overnight and catches 09-11 up at 09:30, after the 08:00 SLA &&
	txnflow -C p scheduler --once --now 2025-09-12T09:30:00+09:00 2>err &&
	test_grep "2025-09-11: SLA missed" err &&
	test "$(db "SELECT group_concat(logical_date) FROM sla_misses")" = 2025-09-11 &&
	test "$(db "SELECT count(*) FROM runs WHERE state = '"'"'success'"'"'")" = 11 &&
	test "$(db "SELECT count(*) FROM lineage_events")" = "$(db "SELECT 2 * count(*) FROM task_attempts")"
'

test_expect_success '2025-09-11 built twice more by hand (three results of each test)' '
	for i in 1 2; do
		txnflow -C p models build --quiet --vars "{run_date: \"2025-09-11\", dates: [\"2025-09-11\"]}" >/dev/null || return 1
	done &&
	: every build writes the manifest and run_results.json &&
	test_path_is_file p/target/manifest.json &&
	test_path_is_file p/target/run_results.json
'

test_expect_success 'a planted data test fails, with markup in its failing rows' '
	cat >p/tests/assert_planted_top_amounts.sql <<-\EOF &&
	-- Planted by t6010: always fails; its failing rows carry markup.
	SELECT transaction_id, amount_krw, '\''<img src=x onerror=alert(1)><script>alert(2)</script>'\'' AS note
	FROM {{ ref('\''fact_transactions'\'') }}
	ORDER BY amount_krw DESC, transaction_id
	LIMIT 3
	EOF
	test_expect_code 4 txnflow -C p models test --select assert_planted_top_amounts \
		--vars "{run_date: \"2025-09-11\", dates: [\"2025-09-11\"]}" >out 2>err &&
	test "$(db "SELECT status || failures FROM test_results WHERE test_name = '"'"'assert_planted_top_amounts'"'"'")" = fail3
'

test_expect_success 'a run that fails (a model refs nothing) records why' '
	echo "select * from {{ ref('"'"'nope'"'"') }}" >p/models/marts/broken.sql &&
	test_expect_code 1 txnflow -C p run --date 2025-09-12 2>err &&
	rm p/models/marts/broken.sql &&
	test_grep "no model or seed named .nope." err
'

test_expect_success 'expected numbers, read from the warehouse and the metadata' '
	n_dates=$(db "SELECT count(DISTINCT logical_date) FROM runs") &&
	failed=$(db "SELECT count(*) FROM test_results t WHERE status IN (\"fail\", \"error\") AND result_id = (SELECT max(result_id) FROM test_results t2 WHERE t2.model IS t.model AND t2.test_name = t.test_name)") &&
	passing=$(db "SELECT count(*) FROM test_results t WHERE status = \"pass\" AND result_id = (SELECT max(result_id) FROM test_results t2 WHERE t2.model IS t.model AND t2.test_name = t.test_name)") &&
	misses=$(db "SELECT json_group_array(logical_date) FROM (SELECT logical_date FROM sla_misses ORDER BY 1)") &&
	parts=$(db "SELECT count(DISTINCT partition) FROM partition_commits") &&
	rows=$(db "SELECT sum(n_rows) FROM partition_commits p WHERE commit_id = (SELECT max(commit_id) FROM partition_commits p2 WHERE p2.partition = p.partition)") &&
	recon=$(db "SELECT count(*) FROM clean_runs WHERE lines_read = inserted + updated + duplicates + stale + quarantined") &&
	sales=$(txnflow -C p sql "SELECT sum(net_sales_krw) FROM mart_sales_daily WHERE event_date = DATE '\''2025-09-05'\''" | tail -1) &&
	mart_rows=$(db "SELECT n_rows FROM model_builds WHERE model = \"mart_sales_daily\" ORDER BY build_id DESC LIMIT 1") &&
	categories=$(txnflow -C p sql "SELECT count(DISTINCT category) FROM mart_sales_daily" | tail -1) &&
	txnflow -C p sql --format csv "SELECT category, sum(net_sales_krw) FROM mart_sales_daily GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1" | tail -1 >top &&
	test "$n_dates" = 12 && test "$failed" = 1 && test "$recon" = 12 && test "$sales" -gt 0 && test "$categories" -gt 7 &&
	cat >expect.json <<-EOF &&
	{"n_dates": $n_dates, "sla_missed_dates": $misses, "failed_tests": $failed, "passing_tests": $passing,
	 "sample_test": "assert_planted_top_amounts",
	 "log_date": "2025-09-11", "log_task": "clean", "log_contains": "clean --date 2025-09-11",
	 "run_error": {"date": "2025-09-12", "contains": "no model or seed named '"'"'nope'"'"'"},
	 "lineage_edges": [["silver", "transactions"], ["transactions", "stg_transactions"], ["stg_transactions", "fact_transactions"]],
	 "categories": $categories,
	 "category_total": {"category": "$(cut -d, -f1 top)", "total": "$(cut -d, -f2 top)"},
	 "recon_not_holding": 0, "recon_holding": $recon,
	 "lineage_nodes": ["bronze", "silver", "stg_transactions", "fact_transactions", "mart_sales_daily"],
	 "lineage_rows": {"node": "mart_sales_daily", "rows": $mart_rows},
	 "partitions": $parts, "silver_rows": $rows,
	 "net_sales": {"2025-09-05": "$sales"},
	 "hostile_text": "<img src=x onerror=alert(1)><script>alert(2)</script>"}
	EOF
	node -e "JSON.parse(require(\"fs\").readFileSync(\"expect.json\"))"
'

test_expect_success 'the quality chart: each test once per logical date, a batched backfill a point per date' '
	start_server q -C p serve --port 0 >qurl &&
	curl -s --max-time 60 "$(cat qurl)/api/quality" >q.json &&
	stop_server q &&
	batch=$(db "SELECT count(*) FROM test_results WHERE invocation_id = (SELECT invocation_id FROM invocation_dates WHERE logical_date = '"'"'2025-09-01'"'"')") &&
	last=$(db "SELECT count(DISTINCT coalesce(model, '"'"''"'"') || test_name) FROM test_results WHERE logical_date = '"'"'2025-09-11'"'"'") &&
	test "$batch" -gt 50 &&
	node -e "
		const q = JSON.parse(require(\"fs\").readFileSync(\"q.json\", \"utf8\"));
		const fail = (m) => { console.error(m, JSON.stringify(q.by_date)); process.exit(1); };
		const days = q.by_date.map((r) => r[0]);
		const want = Array.from({ length: 11 }, (_, i) => \"2025-09-\" + String(i + 1).padStart(2, \"0\"));
		if (JSON.stringify(days) !== JSON.stringify(want)) fail(\"one point per date\");
		for (const [d, pass, bad, warn] of q.by_date) {
			const n = pass + bad + warn;
			if (d < \"2025-09-11\" && n !== $batch) fail(d + \": \" + n + \" results, want $batch\");
			if (d === \"2025-09-11\" && n !== $last) fail(d + \": \" + n + \" results, want $last\");
		}
	"
'

test_expect_success 'chromium sees every page, the numbers, and no errors' '
	: and a project without models shows "not built yet" &&
	txnflow init empty >/dev/null &&
	echo "{\"n_dates\": 0, \"sla_missed_dates\": [], \"failed_tests\": 0, \"recon_not_holding\": 0, \"recon_holding\": 0, \"lineage_nodes\": [\"bronze\", \"silver\"], \"partitions\": 0, \"silver_rows\": 0}" >empty.json &&
	start_server s -C p serve --port 0 >url &&
	start_server e -C empty serve --port 0 >eurl &&
	node "$ROOT/tests/browser/dashboard.js" "$(cat url)" expect.json "$SHOTS" "$(cat eurl)" empty.json "$SHOTS/empty" >browser.out 2>&1 ;
	rc=$? ; cat browser.out ; ss=0 ; stop_server s || ss=1 ; stop_server e || ss=1 ;
	grep "^not ok" browser.out ; # repeated last: the harness shows the tail
	test $ss = 0 && test $rc = 0 &&
	test_grep "^browser: [0-9]* passed, 0 failed" browser.out &&
	for p in runs quality quality-sample lineage lake business empty/business; do test_path_is_file "$SHOTS/$p.png" || exit 1; done
'

test_done
