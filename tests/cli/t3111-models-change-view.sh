#!/bin/bash
# A view of the changes strategy (decision 1501, fourth round): the default
# stg_transactions is stored nowhere, yet a build passes its change on to
# the models that follow it (built by change, equal to a full refresh);
# both copies of the warehouse hold it as the view of its full SQL, never
# of a build's working relations; the rows a table model's build inserted
# and deleted are made where the other copy's replay reads them; and a
# view that is not row by row is refused.
. "$(dirname "$0")/../lib/test-lib.sh"
test_duckdb_heavy

# view_sql DB: the stored SQL of stg_transactions in DB
view_sql() {
	txnflow sql --db "$1" --format csv "SELECT sql FROM duckdb_views() WHERE view_name = 'stg_transactions'" | tail -n +2
}

test_expect_success 'two days: stg_transactions is a view, and the second build passes its change on' '
	txnflow init p >/dev/null &&
	txnflow -C p generate --date 2025-09-01 --days 3 --rows 800 --customers 300 \
		--late-rate 0.3 --version-rate 0.3 >/dev/null &&
	for d in 01 02; do
		txnflow -C p clean --date 2025-09-$d >/dev/null &&
		txnflow -C p models build --vars "{run_date: \"2025-09-$d\"}" >build$d.out || return 1
		! grep -E "FAIL|ERROR|WARN" build$d.out || return 1
	done &&
	test "$(txnflow -C p sql --format csv "SELECT table_type FROM information_schema.tables WHERE table_name = '"'"'stg_transactions'"'"'" | tail -1)" = VIEW &&
	test_grep "OK .*view .*stg_transactions (by change: +[1-9][0-9]* -[1-9]" build02.out &&
	test_grep "fact_transactions (.*by change: +[1-9]" build02.out &&
	full_equal p 2025-09-02
'

test_expect_success 'both copies hold the view of its full SQL, not of a build'"'"'s working views' '
	view_sql p/data/warehouse.duckdb.b >b.sql &&
	test_grep "silver/transactions" b.sql &&
	! grep _txnflow b.sql &&
	txnflow -C p models seed --select fx_rates >/dev/null &&
	view_sql p/data/warehouse.duckdb.a >a.sql &&
	test_cmp b.sql a.sql
'

test_expect_success 'the fact'"'"'s new rows are made where the replay reads them: as many as the build inserted' '
	txnflow -C p clean --date 2025-09-03 >/dev/null &&
	txnflow -C p models build --vars "{run_date: \"2025-09-03\"}" >build03.out &&
	ins=$(sed -n "s/.*fact_transactions (.*by change: +\([0-9]*\) .*/\1/p" build03.out) &&
	test -n "$ins" &&
	test "$(txnflow -C p sql --format csv "SELECT count(*) FROM _txnflow_copies.new__main__fact_transactions" | tail -1)" = "$ins" &&
	test "$(txnflow -C p sql --format csv "SELECT how FROM _txnflow_copies.copy_log WHERE ident = '"'"'fact_transactions'"'"'" | tail -1)" = delta &&
	txnflow -C p models seed --select fx_rates >/dev/null &&
	warehouse_sums p/data/warehouse.duckdb.a >a.sums &&
	warehouse_sums p/data/warehouse.duckdb.b >b.sums &&
	test_cmp a.sums b.sums
'

test_expect_success 'a view of the strategy that is not row by row is refused' '
	cat >p/models/marts/card_counts.sql <<-\EOF &&
	{{ config(materialized="view", incremental_strategy="changes", unique_key="card_id") }}
	SELECT card_id, count(*) AS n FROM {{ ref("stg_transactions") }} GROUP BY card_id
	EOF
	txnflow -C p models build --select card_counts --vars "{run_date: \"2025-09-03\"}" >v1.out &&
	txnflow -C p generate --date 2025-09-04 --rows 300 --customers 300 >/dev/null &&
	txnflow -C p clean --date 2025-09-04 >/dev/null &&
	test_expect_code 4 txnflow -C p models build --select "stg_transactions card_counts" \
		--vars "{run_date: \"2025-09-04\"}" >v2.out &&
	test_grep "card_counts: a view of incremental_strategy=.changes. passes its input.s change on row by row" v2.out
'

test_done
