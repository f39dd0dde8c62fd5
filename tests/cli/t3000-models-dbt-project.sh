#!/bin/bash
# txnflow models on a small dbt project (dbt_project.yml, profiles.yml,
# seeds, staging views, an ephemeral model, tables, an incremental model,
# the four generic tests, a singular test, a macro, doc blocks): it builds
# unchanged, and the commands around it behave.
. "$(dirname "$0")/../lib/test-lib.sh"

cp -r "$TEST_DATA/dbt_project_small" p
unset JAFFLE_DB
db=p/target/jaffle.duckdb

test_expect_success 'build runs seeds, models and tests, all passing' '
	txnflow -C p models build >out &&
	test_grep "^  [ 0-9]* of 10 START  seed        raw_orders$" out &&
	test_grep "^  [ 0-9]* of 10 OK     seed        raw_orders (8 rows" out &&
	test_grep "^  [ 0-9]* of 10 OK     view        stg_orders" out &&
	test_grep "^  [ 0-9]* of 10 OK     ephemeral   int_order_payments" out &&
	test_grep "^  [ 0-9]* of 10 OK     table       orders (8 rows" out &&
	test_grep "^  [ 0-9]* of 10 OK     incremental order_events (8 rows" out &&
	test_grep "^  PASS   relationships_orders_customer_id__customers_customer_id" out &&
	test_grep "^  PASS   assert_order_amount_not_negative" out &&
	test_grep "^Done: 9 ok, 0 error, 0 skipped; tests: 18 pass, 0 warn, 0 fail, 0 error" out
'

# Every build writes target/manifest.json and run_results.json (dbt's
# files), not only `models docs` (issue 18): the lineage follows the last
# build, and a script reads each node's and test's result.
test_expect_success 'build writes the manifest and run_results.json' '
	node -e "
		const fs = require(\"fs\");
		const fail = (m) => { console.error(m); process.exit(1); };
		const m = JSON.parse(fs.readFileSync(\"p/target/manifest.json\", \"utf8\"));
		const o = m.nodes[\"model.jaffle_small.orders\"];
		if (!o || !o.depends_on.nodes.includes(\"model.jaffle_small.stg_orders\")) fail(\"manifest: orders\");
		const r = JSON.parse(fs.readFileSync(\"p/target/run_results.json\", \"utf8\"));
		if (r.results.length !== 28) fail(\"results: \" + r.results.length);
		const by = Object.fromEntries(r.results.map((x) => [x.unique_id, x]));
		const ord = by[\"model.jaffle_small.orders\"];
		if (ord.status !== \"success\" || ord.adapter_response.rows_affected !== 8) fail(\"orders: \" + JSON.stringify(ord));
		if (r.results.filter((x) => x.unique_id.startsWith(\"test.\")).some((x) => x.status !== \"pass\" || x.failures !== 0)) fail(\"tests\");
	"
'

test_expect_success 'the macro, the for loop and the ephemeral CTE give the right numbers' '
	txnflow sql --db $db "SELECT order_id, credit_card_amount, gift_card_amount, amount FROM orders WHERE order_id = 8" >out &&
	printf "order_id,credit_card_amount,gift_card_amount,amount\n8,23.0,3.0,26.0\n" >expect &&
	test_cmp expect out &&
	txnflow sql --db $db "SELECT customer_id, number_of_orders, customer_lifetime_value FROM customers WHERE customer_id = 1" >out &&
	printf "customer_id,number_of_orders,customer_lifetime_value\n1,3,61.0\n" >expect &&
	test_cmp expect out &&
	txnflow sql --db $db "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '"'"'int_%'"'"'" >out &&
	test_grep "^0$" out
'

test_expect_success 'results are in the metadata database' '
	sqlite3 p/data/txnflow.db "SELECT count(*) FROM test_results WHERE status = '"'"'pass'"'"'" >out &&
	test_grep "^18$" out &&
	sqlite3 p/data/txnflow.db "SELECT state, n_rows FROM model_builds WHERE model = '"'"'orders'"'"'" >out &&
	test_grep "^success|8$" out
'

test_expect_success 'build --quiet prints the summary only; --json one event per line' '
	txnflow -C p models build --quiet >out &&
	echo "Done: 9 ok, 0 error, 0 skipped; tests: 18 pass, 0 warn, 0 fail, 0 error" >expect &&
	test_cmp expect out &&
	txnflow -C p models build --json >events &&
	node -e "
		const ev = require(\"fs\").readFileSync(\"events\", \"utf8\").trim().split(\"\n\").map(JSON.parse);
		const fail = (m) => { console.error(m); process.exit(1); };
		const of = (e) => ev.filter((x) => x.event === e);
		if (of(\"start\").length !== 9) fail(\"starts\");
		if (of(\"end\").length !== 10) fail(\"ends\");
		if (of(\"test\").length !== 18 || of(\"test\").some((t) => t.status !== \"pass\")) fail(\"tests\");
		const done = ev[ev.length - 1];
		if (done.event !== \"done\" || done.ok !== 9 || done.pass !== 18 || done.fail !== 0) fail(\"done\");
		const o = of(\"end\").find((e) => e.node === \"orders\");
		if (o.status !== \"success\" || o.rows !== 8 || o.total !== 10 || !(o.duration_s >= 0) ||
		    o.materialized !== \"table\" || o.resource_type !== \"model\") fail(\"orders: \" + JSON.stringify(o));
		const s = of(\"start\").find((e) => e.node === \"orders\");
		if (s.index !== o.index || ev.indexOf(s) > ev.indexOf(o)) fail(\"start after end\");
		if (ev.some((e) => typeof e.ts !== \"string\")) fail(\"ts\");
	"
'

test_expect_success 'a second build runs the incremental model incrementally' '
	txnflow -C p models build --select order_events >out &&
	test_grep "OK     incremental order_events (8 rows" out &&
	txnflow -C p models compile --select order_events >/dev/null &&
	test_grep "where order_date >= (select coalesce(max(order_date)" p/target/compiled/models/marts/order_events.sql
'

test_expect_success 'a failing error test exits 4 (permanent), shows its rows and SQL, keeps the published table' '
	sed -i "s/^8,1,2018-01-11,completed$/8,,2018-01-11,completed/" p/seeds/raw_orders.csv &&
	test_expect_code 4 txnflow -C p models build --select +orders >out 2>err &&
	test_grep "FAIL   not_null_orders_customer_id (1 failing row)" out &&
	grep -A3 "FAIL   not_null_orders_customer_id" out >fail &&
	test_grep "^         compiled SQL: target/compiled/tests/not_null_orders_customer_id.sql$" fail &&
	test_grep "^         order_id | customer_id | order_date *| status" fail &&
	test_grep "^         8        | NULL        | 2018-01-11 | completed" fail &&
	test_grep "where \"customer_id\" is null" p/target/compiled/tests/not_null_orders_customer_id.sql &&
	: the SQL reads the published table, which kept its previous version &&
	txnflow sql --db $db "$(cat p/target/compiled/tests/not_null_orders_customer_id.sql)" >rows &&
	test_grep "^order_id,customer_id," rows &&
	test_line_count = 1 rows &&
	test_grep "model orders: audit failed: test not_null_orders_customer_id" out &&
	test_grep "error: 1 node failed" err &&
	txnflow sql --db $db "SELECT count(*) FROM orders WHERE customer_id IS NULL" >out &&
	test_grep "^0$" out &&
	node -e "
		const r = JSON.parse(require(\"fs\").readFileSync(\"p/target/run_results.json\", \"utf8\"));
		const t = r.results.find((x) => x.unique_id === \"test.jaffle_small.not_null_orders_customer_id\");
		const o = r.results.find((x) => x.unique_id === \"model.jaffle_small.orders\");
		if (!t || t.status !== \"fail\" || t.failures !== 1 || !o || o.status !== \"error\")
			{ console.error(JSON.stringify(r.results)); process.exit(1); }
	" &&
	cp "$TEST_DATA/dbt_project_small/seeds/raw_orders.csv" p/seeds/raw_orders.csv
'

test_expect_success 'test runs the selected tests; a warn test does not fail the run' '
	txnflow -C p models test --select orders >out &&
	test_grep "PASS   accepted_values_orders_status" out &&
	sed -i "s/^5,5,2018-01-05,placed$/5,5,2018-01-05,lost/" p/seeds/raw_orders.csv &&
	txnflow -C p models build --select +orders --exclude stg_orders >out &&
	txnflow -C p models seed --select raw_orders >/dev/null &&
	test_expect_code 4 txnflow -C p models build --select stg_orders >out &&
	test_grep "FAIL   accepted_values_stg_orders_status (1 failing row)" out &&
	grep -A3 "FAIL   accepted_values_stg_orders_status" out >fail &&
	test_grep "value_field | n_records" fail &&
	test_grep "lost        | 1" fail &&
	cp "$TEST_DATA/dbt_project_small/seeds/raw_orders.csv" p/seeds/raw_orders.csv
'

test_expect_success 'ls with selectors' '
	txnflow -C p models ls --select "tag:staging" >out &&
	printf "model stg_customers\nmodel stg_orders\nmodel stg_payments\n" >expect &&
	grep "^model" out >got && test_cmp expect got &&
	txnflow -C p models ls --select "+customers" --exclude "tag:staging" >out &&
	grep -v "^test" out >got &&
	printf "model int_order_payments\nmodel customers\nmodel orders\nseed raw_customers\nseed raw_orders\nseed raw_payments\n" >expect &&
	test_cmp expect got &&
	txnflow -C p models ls --json --select orders >out &&
	test_grep "\"materialized\": \"table\"" out
'

test_expect_success 'docs writes the manifest and the lineage graph' '
	txnflow -C p models docs >out &&
	test_path_is_file p/target/manifest.json &&
	test_path_is_file p/target/lineage.dot &&
	test_path_is_file p/target/lineage.html &&
	txnflow sql "SELECT nodes.\"model.jaffle_small.orders\".description AS d FROM read_json_auto('"'"'p/target/manifest.json'"'"')" >out &&
	test_grep "One row per order, with the amount paid" out &&
	test_grep "\"seed.raw_orders\" -> \"model.stg_orders\"" p/target/lineage.dot &&
	test_grep "<svg" p/target/lineage.html &&
	test_grep "__dbt__cte__int_order_payments" p/target/manifest.json
'

test_expect_success '--target picks another output; an unknown one is named' '
	txnflow -C p models build --target other --select +stg_customers >out &&
	test_path_is_file p/target/other.duckdb &&
	test_expect_code 4 txnflow -C p models ls --target prd 2>err &&
	test_grep "has no target '"'"'prd'"'"'" err
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 txnflow -C p models biuld 2>err &&
	test_grep "unknown subcommand '"'"'biuld'"'"' (did you mean '"'"'build'"'"'?)" err &&
	test_expect_code 2 txnflow -C p models 2>err &&
	test_expect_code 2 txnflow -C p models run --threads x 2>err &&
	test_expect_code 2 txnflow -C p models run --vars "[1, 2]" 2>err &&
	test_grep "expected a map" err
'

test_expect_success 'an unknown selector names the closest model' '
	test_expect_code 4 txnflow -C p models run --select ordres 2>err &&
	test_grep "no node named '"'"'ordres'"'"' (did you mean '"'"'orders'"'"'?)" err
'

test_done
