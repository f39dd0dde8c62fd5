#!/bin/bash
# Incremental by change equals a full build: six days with every fault of
# the feed turned up (late arrivals, newer versions that move rows to other
# days, re-deliveries, stale copies), each cleaned and built by change; after
# days 3 and 6 every table of the warehouse equals a --full-refresh build of
# a copy (count and a sum of row hashes per table). The RFM window is 2 days
# so days leave it; a rerun of an earlier date (as-of back in time) and a
# build after a skipped day (a window of two versions) must agree too; a
# copy of the project elsewhere (the lake's path is in the compiled SQL)
# still builds by change.
. "$(dirname "$0")/../lib/test-lib.sh"
test_duckdb_heavy

test_expect_success 'a project with a short RFM window and a faulty feed' '
	txnflow init p >/dev/null &&
	printf "vars:\n  rfm_window_days: 2\n" >>p/txnflow.yml &&
	txnflow -C p generate --date 2025-09-01 --days 7 --rows 2500 --customers 600 \
		--late-rate 0.3 --version-rate 0.25 --dup-rate 0.05 --stale-rate 0.05 >/dev/null
'

test_expect_success 'six days cleaned and built by change' '
	for d in 01 02 03 04 05 06; do
		txnflow -C p clean --date 2025-09-$d >/dev/null &&
		txnflow -C p models build --vars "{run_date: \"2025-09-$d\"}" >build$d.out || return 1
		! grep -E "FAIL|ERROR|WARN" build$d.out || return 1
		if [ $d = 03 ]; then full_equal p 2025-09-03 || return 1; fi
	done &&
	test_grep "stg_transactions (.*by change: +[0-9]* -[1-9]" build06.out &&
	test_grep "int_customer_totals (.*by change" build06.out &&
	test_grep "mart_sales_daily (.*by change" build06.out
'

test_expect_success 'the tables equal a full refresh' '
	full_equal p 2025-09-06
'

# The warehouse's checkpoints do not vacuum (decision 1801, twelfth
# round): a table whose rows the change mostly replaces is written again
# whole, so its deleted rows do not pile up, day after day; the fact, a
# few rows replaced a day, keeps its deletes (and says so).
dead_rows() {
	txnflow -C "${2:-p}" sql --format csv "SELECT (SELECT sum(count) FROM pragma_storage_info('$1')
		WHERE column_id = 0 AND segment_type <> 'VALIDITY') - (SELECT count(*) FROM $1)" | tail -1
}
test_expect_success 'a table mostly replaced each day keeps no deleted rows' '
	test_grep "int_customer_totals (.*by change" build06.out &&
	test "$(dead_rows int_customer_totals)" = 0 &&
	test "$(dead_rows dim_customer)" = 0 &&
	test "$(dead_rows fact_transactions)" -gt 0
'

# ... and one whose deleted rows, a few a day, have reached its live ones
# is written again whole by its next build: mart_sales_daily (the reach's
# days of its cells replaced each day) after six days, built on a copy
test_expect_success 'a table whose deleted rows reach its live ones is written again whole' '
	cp -R p p7 &&
	live=$(txnflow -C p7 sql --format csv "SELECT count(*) FROM mart_sales_daily" | tail -1) &&
	test "$live" -gt 100 &&
	test "$(dead_rows mart_sales_daily p7)" -ge "$live" &&
	txnflow -C p7 clean --date 2025-09-07 >/dev/null &&
	TXNFLOW_LOG_LEVEL=debug txnflow -C p7 models build \
		--vars "{run_date: \"2025-09-07\"}" >build07.out 2>debug07 &&
	test_grep "mart_sales_daily (.*by change" build07.out &&
	test_grep "FROM \"main\".\"mart_sales_daily__txf_rewrite\"" debug07 &&
	test "$(dead_rows mart_sales_daily p7)" = 0 &&
	rm -rf p7
'

# The small tables a build and the warehouse's copies write row by row
# (each model's state, the copies' state and log) are made again whole
# each session: under held checkpoints each write left a row group of
# deleted rows, which every first read after an open loaded again
# (decision 1801, seventeenth round). After six days: 6, 5, 18 and 6 row
# groups before.
row_groups() {
	txnflow -C p sql --format csv "SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('$1')" | tail -1
}
test_expect_success 'the state tables do not pile up row groups, day after day' '
	test "$(row_groups _txnflow.model_state)" -le 2 &&
	test "$(row_groups _txnflow.model_rows)" -le 2 &&
	test "$(row_groups _txnflow_copies.copy_state)" -le 4 &&
	test "$(row_groups _txnflow_copies.copy_log)" -le 2 &&
	test "$(txnflow -C p sql --format csv "SELECT count(*) FROM _txnflow.model_state" | tail -1)" -ge 10
'

# relationships in the audit of a build by change: its new rows' values
# looked for first among the parent's rows of the same event dates (not
# in the whole lake); not found there, in the whole parent; not found at
# all, a failure. ref_check's rows point at stg_transactions' rows; with
# a shift its event_date is not theirs (the model is kept in order of ev).
# compiled TEST: the SQL the last build ran for test TEST (run_results)
compiled() {
	python3 -c "import json, sys
for r in json.load(open(sys.argv[1]))['results']:
    if sys.argv[2] in r['unique_id']: print(r['compiled_code'].replace(chr(10), ' '))" \
		rc/target/run_results.json "$1"
}
test_expect_success 'relationships of a build by change: near its own days, else the whole parent' '
	cp -a p rc &&
	cat >rc/models/marts/ref_check.sql <<-\EOF &&
	{{ config(materialized="incremental", incremental_strategy="changes",
	          unique_key="transaction_id", cluster_by="ev") }}
	SELECT transaction_id, event_date AS ev,
	       event_date + {{ var("shift", 0) }} AS event_date,
	       {{ var("ref", "transaction_id") }} AS ref_id
	FROM {{ ref("stg_transactions") }}
	EOF
	cat >rc/models/marts/ref_check.yml <<-\EOF &&
	version: 2
	models:
	  - name: ref_check
	    columns:
	      - name: ref_id
	        tests:
	          - relationships: {to: ref("stg_transactions"), field: transaction_id}
	EOF
	txnflow -C rc models build --select ref_check --full-refresh --vars "{run_date: \"2025-09-06\"}" >r0.out &&
	txnflow -C rc clean --date 2025-09-07 >/dev/null &&
	txnflow -C rc models build --select "stg_transactions ref_check" --vars "{run_date: \"2025-09-07\"}" >r1.out &&
	test_grep "ref_check (.*by change" r1.out &&
	test_grep "PASS .*relationships_ref_check" r1.out &&
	compiled relationships_ref_check >sql1 &&
	test_grep "parent.\"event_date\" BETWEEN" sql1
'

# (the rows of event dates after 2025-09-08 point at no row: md5 of an id)
V='shift: 400, ref: "CASE WHEN year(event_date) * 10000 + month(event_date) * 100 + day(event_date) > 20250908 THEN md5(transaction_id) ELSE transaction_id END"'
test_expect_success 'relationships: values of other days are found in the whole parent, missing ones fail' '
	txnflow -C rc models build --select ref_check --full-refresh --vars "{run_date: \"2025-09-07\", $V}" >r2.out &&
	txnflow -C rc generate --date 2025-09-08 --rows 2500 --customers 600 --late-rate 0.3 >/dev/null &&
	txnflow -C rc clean --date 2025-09-08 >/dev/null &&
	txnflow -C rc models build --select "stg_transactions ref_check" --vars "{run_date: \"2025-09-08\", $V}" >r3.out &&
	test_grep "ref_check (.*by change" r3.out &&
	test_grep "PASS .*relationships_ref_check" r3.out &&
	compiled relationships_ref_check >sql3 &&
	! grep "BETWEEN" sql3 &&
	txnflow -C rc generate --date 2025-09-09 --rows 2500 --customers 600 --late-rate 0.3 >/dev/null &&
	txnflow -C rc clean --date 2025-09-09 >/dev/null &&
	test_expect_code 4 txnflow -C rc models build --select "stg_transactions ref_check" \
		--vars "{run_date: \"2025-09-09\", $V}" >r4.out &&
	test_grep "FAIL .*relationships_ref_check" r4.out &&
	test_grep "ref_check: audit failed" r4.out
'

# int_customer_totals looks up a customer's lost first or last day in the
# days the change reached and var('customer_edges_near_days') before them;
# a customer whose last day went (its only fact row reversed) with no row
# in those days is looked up in every day. With no days before them, no
# late arrivals (the change reaches a day or two back) and sparse
# customers, some are (far_edges: a last day moved back before every day
# of the lake's newest change), and the tables still equal a full refresh.
# far_edges DIR [TABLE COLUMN]: the customers whose last day (default
# int_customer_totals' last_activity_date) the last build moved back before
# every day of the lake's newest change
far_edges() {
	table=${2:-int_customer_totals} col=${3:-last_activity_date}
	pub=$(readlink "$1/data/warehouse.duckdb") &&
	case $pub in *.a) other=${pub%.a}.b ;; *) other=${pub%.b}.a ;; esac &&
	newest=$(ls -d "$1"/data/silver/_changes/transactions/version=* | tail -1) &&
	first=$(ls "$newest" | sed -n "s/^part-\([0-9]\{4\}\)\([0-9]\{2\}\)\([0-9]\{2\}\).*/\1-\2-\3/p" | sort | head -1) &&
	test -n "$first" &&
	n=$(txnflow -C "$1" sql --write --memory --format csv "
		ATTACH 'data/$pub' AS n (READ_ONLY);
		ATTACH 'data/$other' AS o (READ_ONLY);
		SELECT count(*) AS far FROM n.$table n
		JOIN o.$table o USING (customer_id)
		WHERE n.$col < o.$col
		  AND n.$col < DATE '$first'") &&
	echo "$n" | tail -1
}

test_expect_success 'lost edges looked up beyond the near days equal a full refresh' '
	txnflow init e >/dev/null &&
	printf "vars:\n  customer_edges_near_days: 0\n" >>e/txnflow.yml &&
	txnflow -C e generate --date 2025-09-01 --days 8 --rows 150 --customers 300 \
		--late-rate 0 --version-rate 0.5 >/dev/null &&
	for d in 01 02 03 04 05 06 07 08; do
		txnflow -C e clean --date 2025-09-$d >/dev/null &&
		txnflow -C e models build --vars "{run_date: \"2025-09-$d\"}" >e$d.out || return 1
		! grep -E "FAIL|ERROR|WARN" e$d.out || return 1
		if [ $d != 01 ]; then far_edges e >>far.txt || return 1; fi
	done &&
	cat far.txt &&
	test_grep "int_customer_totals (.*by change" e08.out &&
	test "$(awk "{ s += \$1 } END { print s + 0 }" far.txt)" -gt 0 &&
	full_equal e 2025-09-08
'

# dim_customer looks up a lost last seen day the same way. An attempt
# leaves stg_transactions only when its batch is reverted (a moved one
# lands on a day of the change): reverting the last batch of the sparse
# project takes some customers' last day with their only attempts, with
# none in the days the change reached.
test_expect_success 'dim_customer: lost edges looked up beyond the near days equal a full refresh' '
	txnflow -C e revert --ingest-date 2025-09-08 --no-downstream >/dev/null &&
	txnflow -C e models build --vars "{run_date: \"2025-09-08\"}" >erev.out &&
	! grep -E "FAIL|ERROR|WARN" erev.out &&
	test_grep "dim_customer (.*by change" erev.out &&
	far_edges e dim_customer last_seen_date >far_seen.txt &&
	cat far_seen.txt &&
	test "$(cat far_seen.txt)" -gt 0 &&
	full_equal e 2025-09-08
'

test_expect_success 'a copy of the project in another directory still builds by change' '
	cp -a p moved &&
	txnflow -C moved clean --date 2025-09-07 >/dev/null &&
	txnflow -C moved models build --vars "{run_date: \"2025-09-07\"}" >moved.out &&
	! grep -E "FAIL|ERROR|WARN" moved.out &&
	test_grep "stg_transactions (.*by change: +[0-9]* -[0-9]" moved.out &&
	test_grep "fact_transactions (.*by change" moved.out &&
	test_grep "mart_sales_daily (.*by change" moved.out &&
	txnflow -C moved sql --format csv "SELECT sql FROM duckdb_views() WHERE view_name = '"'"'stg_transactions'"'"'" >view.sql &&
	test_grep "/moved/data/silver/transactions" view.sql &&
	! grep "/p/data/silver" view.sql &&
	rm -rf moved
'

test_expect_success 'a rerun of an earlier date (as of it) equals a full refresh' '
	txnflow -C p models build --vars "{run_date: \"2025-09-04\"}" >rerun.out &&
	! grep -E "FAIL|ERROR|WARN" rerun.out &&
	full_equal p 2025-09-04 &&
	txnflow -C p sql --format csv "SELECT DISTINCT as_of_date FROM mart_rfm_customer" >asof &&
	test_grep 2025-09-04 asof
'

test_expect_success 'two versions in one build (a day cleaned without a build)' '
	txnflow -C p clean --date 2025-09-07 >/dev/null &&
	txnflow -C p generate --date 2025-09-08 --rows 2500 --customers 600 \
		--late-rate 0.3 --version-rate 0.25 >/dev/null &&
	txnflow -C p clean --date 2025-09-08 >/dev/null &&
	txnflow -C p models build --vars "{run_date: \"2025-09-08\"}" >two.out &&
	test_grep "stg_transactions (.*by change" two.out &&
	full_equal p 2025-09-08
'

test_expect_success 'a drifted table is caught, not published' '
	txnflow -C p sql --write "DELETE FROM fact_transactions WHERE transaction_id IN
		(SELECT transaction_id FROM fact_transactions WHERE event_date = DATE '\''2025-09-07'\'' LIMIT 5)" >/dev/null &&
	txnflow -C p generate --date 2025-09-09 --rows 2500 --customers 600 \
		--late-rate 0.3 --version-rate 0.5 >/dev/null &&
	txnflow -C p clean --date 2025-09-09 >/dev/null &&
	test_expect_code 4 txnflow -C p models build --vars "{run_date: \"2025-09-09\"}" >drift.out &&
	grep -E "ERROR .*(out of step with its input|mismatch|audit failed)" drift.out &&
	txnflow -C p models build --full-refresh --vars "{run_date: \"2025-09-09\"}" >fixed.out &&
	! grep -E "FAIL|ERROR" fixed.out
'

test_expect_success 'a row-by-row model whose SQL changes the key is refused' '
	txnflow init q >/dev/null &&
	txnflow -C q generate --date 2025-09-01 --days 2 --rows 300 >/dev/null &&
	cat >q/models/staging/stg_renamed.sql <<-\EOF &&
	{{ config(materialized="incremental", incremental_strategy="changes",
	          unique_key="transaction_id", cluster_by="event_date") }}
	SELECT transaction_id || '"'"'-x'"'"' AS transaction_id, event_date
	FROM {{ ref("stg_transactions") }}
	EOF
	txnflow -C q clean --date 2025-09-01 >/dev/null &&
	txnflow -C q models build --vars "{run_date: \"2025-09-01\"}" >q1.out &&
	txnflow -C q clean --date 2025-09-02 >/dev/null &&
	test_expect_code 4 txnflow -C q models build --vars "{run_date: \"2025-09-02\"}" >q2.out &&
	test_grep "of stg_renamed have a key its input.s change does not hold" q2.out &&
	test_grep "fact_transactions (.*by change" q2.out
'

test_expect_success 'a full build counts the lake for the view and keeps the fact in event-date order' '
	txnflow init r >/dev/null &&
	txnflow -C r generate --date 2025-09-01 --rows 300000 --late-rate 0.3 >/dev/null &&
	txnflow -C r clean --date 2025-09-01 >/dev/null &&
	txnflow -C r models build --vars "{run_date: \"2025-09-01\"}" >r1.out &&
	! grep -E "FAIL|ERROR|WARN" r1.out &&
	txnflow -C r sql --format csv "SELECT count(*) FROM stg_transactions" >n &&
	txnflow -C r sql --format csv "SELECT sql FROM duckdb_views() WHERE view_name = '"'"'stg_transactions'"'"'" >rview.sql &&
	test_grep "explicit_cardinality = $(tail -n 1 n))" rview.sql &&
	txnflow -C r sql --format csv "SELECT count(*) FROM (SELECT lo, max(hi) OVER (ORDER BY g
		ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before FROM (SELECT rowid // 122880 AS g,
		min(event_date) AS lo, max(event_date) AS hi FROM fact_transactions GROUP BY g)) WHERE lo < before" >back &&
	test "$(tail -n 1 back)" -eq 0 &&
	txnflow -C r sql --format csv "SELECT count(*) > 245760 FROM fact_transactions" >big &&
	test "$(tail -n 1 big)" = true
'

test_done
