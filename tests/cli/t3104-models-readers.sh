#!/bin/bash
# The warehouse stays readable while `models build` writes it: readers open
# data/warehouse.duckdb, a link to the copy the last build published, and a
# build writes the other copy, brought up to date by replaying the last
# build's log (docs/models.md, "Readers during a build"). A loop of
# `txnflow sql` during a build never fails and only ever sees the state
# before the build or after it; the dashboard answers too. The two copies
# agree after each catch-up; a warehouse from before the copies, a killed
# build and a hand-made change are each caught up by copying the file once.
. "$(dirname "$0")/../lib/test-lib.sh"
test_duckdb_heavy
. "$TEST_DATA/serve/serve-lib.sh"
trap kill_servers EXIT

# the state readers check: four tables of three layers, which a half-built
# warehouse would show out of step (not stg_transactions: a view of the
# lake, ahead of the marts from a clean to the build after it)
Q="SELECT (SELECT sum(n_attempts) FROM dim_customer) || ':' || (SELECT count(*) FROM fact_transactions) || ':' || (SELECT sum(txn_count) FROM mart_sales_daily) || ':' || (SELECT count(*) FROM mart_customer_ltv)"
state() { txnflow -C p sql --format csv "$Q" | tail -1; }

# copies_agree: after a session that only catches up (a seed rebuilt with
# the same rows), both copies hold the same tables, and the same state of
# the models kept by change
MS="SELECT count(*) || ':' || COALESCE(SUM(hash(x)::HUGEINT), 0) FROM _txnflow.model_state x"
copies_agree() {
	txnflow -C p models seed --select fx_rates >/dev/null &&
	warehouse_sums p/data/warehouse.duckdb.a >a.sums &&
	warehouse_sums p/data/warehouse.duckdb.b >b.sums &&
	txnflow_ref sql --db p/data/warehouse.duckdb.a --format csv "$MS" | tail -1 >>a.sums &&
	txnflow_ref sql --db p/data/warehouse.duckdb.b --format csv "$MS" | tail -1 >>b.sums &&
	test $(wc -l <a.sums) -ge 18 &&
	test_cmp a.sums b.sums
}

test_expect_success 'a project, two days built: the link and its two copies' '
	txnflow init p >/dev/null &&
	one_duckdb_thread p &&
	txnflow -C p generate --date 2025-09-01 --days 4 --rows 6000 --customers 2000 \
		--late-rate 0.2 --version-rate 0.2 >/dev/null &&
	for d in 01 02; do
		txnflow -C p clean --date 2025-09-$d >/dev/null &&
		txnflow -C p models build --quiet --vars "{run_date: \"2025-09-$d\"}" >build$d.out || return 1
	done &&
	test -L p/data/warehouse.duckdb &&
	test_path_is_file p/data/warehouse.duckdb.a &&
	test_path_is_file p/data/warehouse.duckdb.b &&
	test "$(readlink p/data/warehouse.duckdb)" = warehouse.duckdb.b &&
	test "$(txnflow -C p sql --format csv "SELECT seq || '"'"':'"'"' || dirty FROM _txnflow_copies.copy_state" | tail -1)" = "2:false"
'

# The models kept by change reach the other copy as the rows their build
# deleted and inserted, not copied whole (a copy would cost the table,
# every day); the published log says which.
test_expect_success 'the other copy, caught up by the log, equals the published one' '
	txnflow -C p sql --format csv "SELECT ident || '"'"':'"'"' || how FROM _txnflow_copies.copy_log ORDER BY ident" >log &&
	test_grep -x "fact_transactions:delta" log &&
	test_grep -x "stg_transactions:view" log &&
	test_grep -x "mart_sales_daily:delta" log &&
	test_grep -x "model_state:copy" log &&
	copies_agree
'

test_expect_success 'a loop of txnflow sql during a build: always an answer, before or after' '
	txnflow -C p clean --date 2025-09-03 >/dev/null &&
	before=$(state) &&
	start_server s -C p serve --port 0 >url &&
	{ "$TXNFLOW" -C p models build --vars "{run_date: \"2025-09-03\"}" >build03.out 2>&1 & } &&
	pid=$! &&
	: >answers && : >errors && : >business &&
	while kill -0 $pid 2>/dev/null; do
		"$TXNFLOW" -C p sql --format csv "$Q" >answer 2>>errors || echo "FAILED" >>answers
		tail -1 answer >>answers
		curl -s -o /dev/null -w "%{http_code}\n" "$(cat url)/api/business" >>business
	done &&
	wait $pid &&
	stop_server s &&
	after=$(state) &&
	test_grep "^Done: 20 ok, 0 error" build03.out &&
	test "$before" != "$after" &&
	cat answers &&
	test $(wc -l <answers) -ge 3 &&
	test ! -s errors &&
	! grep -v -x -e "$before" -e "$after" answers &&
	grep -x -e "$before" answers &&
	! grep -v -x 200 business
'

test_expect_success 'after a build the copies agree, and equal a full refresh' '
	copies_agree &&
	full_equal p 2025-09-03
'

# The other copy is caught up by whichever costs less: a copy of the file
# (the copy patched in place: both read, what differs written) or the
# replay of the log (the rows it wrote, through DuckDB); these small
# warehouses are replayed. Either way the build writes through the
# catch-up's handle on the copy and records the publish through its own
# (decision 1801, eighteenth round): no second or third open of the copy.
test_expect_success 'a catch-up by a copy of the file, or by the log: the copies agree' '
	TXNFLOW_WAREHOUSE_CATCHUP=copy TXNFLOW_LOG_LEVEL=debug txnflow -C p models build \
		--vars "{run_date: \"2025-09-03\"}" >c.out 2>c.err &&
	test_grep "copy brought up" c.err &&
	test_grep "warehouse: copy patched: [0-9]* of [0-9]* bytes written" c.err &&
	! grep "warehouse: replayed" c.err &&
	test_grep "caught-up copy kept open for the session" c.err &&
	test_grep "warehouse: recorded and closed" c.err &&
	! grep "publish checkpointed" c.err &&
	copies_agree &&
	TXNFLOW_LOG_LEVEL=debug txnflow -C p models build \
		--vars "{run_date: \"2025-09-03\"}" >r.out 2>r.err &&
	test_grep "the log writes [0-9]* rows, the file holds [0-9]* bytes: replayed" r.err &&
	test_grep "caught-up copy kept open for the session" r.err &&
	! grep "publish checkpointed" r.err &&
	copies_agree &&
	full_equal p 2025-09-03
'

test_expect_success 'a killed build: readers keep the published state; the next build recovers' '
	txnflow -C p clean --date 2025-09-04 >/dev/null &&
	before=$(state) &&
	{ "$TXNFLOW" -C p models build --vars "{run_date: \"2025-09-04\"}" >killed.out 2>&1 & } &&
	pid=$! &&
	for i in $(seq 300); do grep -q "START  incremental fact_transactions" killed.out && break; sleep 0.1; done &&
	kill -9 $pid && { wait $pid; true; } &&
	test "$(state)" = "$before" &&
	txnflow -C p models build --quiet --vars "{run_date: \"2025-09-04\"}" >again.out &&
	test_grep "^Done: 20 ok, 0 error" again.out &&
	test "$(state)" != "$before" &&
	full_equal p 2025-09-04 &&
	copies_agree
'

test_expect_success 'a hand-made change (sql --write) is published, and the next build starts from it' '
	txnflow -C p sql --write "CREATE TABLE my_notes AS SELECT 42 AS answer" &&
	test "$(txnflow -C p sql --format csv "SELECT answer FROM my_notes" | tail -1)" = 42 &&
	txnflow -C p models build --quiet --vars "{run_date: \"2025-09-04\"}" >b.out &&
	test "$(txnflow -C p sql --format csv "SELECT answer FROM my_notes" | tail -1)" = 42 &&
	copies_agree
'

test_expect_success 'a warehouse from before the copies (a plain file) becomes copy a' '
	cp -L p/data/warehouse.duckdb plain.duckdb &&
	rm p/data/warehouse.duckdb p/data/warehouse.duckdb.a p/data/warehouse.duckdb.b &&
	mv plain.duckdb p/data/warehouse.duckdb &&
	before=$(state) &&
	txnflow -C p models build --vars "{run_date: \"2025-09-04\"}" >m.out &&
	test_grep "stg_transactions (.*by change" m.out &&
	test -L p/data/warehouse.duckdb &&
	test "$(state)" = "$before" &&
	copies_agree
'

test_expect_success 'removing the link starts a new warehouse' '
	rm p/data/warehouse.duckdb &&
	txnflow -C p models build --quiet --vars "{run_date: \"2025-09-04\"}" >n.out &&
	test_grep "^Done: 20 ok, 0 error" n.out &&
	test "$(readlink p/data/warehouse.duckdb)" = warehouse.duckdb.a &&
	test_path_is_missing p/data/warehouse.duckdb.b &&
	full_equal p 2025-09-04
'

test_expect_success 'one build at a time: a second writer is refused, readers are not' '
	txnflow -C p clean --date 2025-09-04 >/dev/null &&
	exec 8>p/data/warehouse.duckdb.lock && flock -n 8 &&
	test_expect_code 1 txnflow -C p models build --vars "{run_date: \"2025-09-04\"}" >out 2>err &&
	test_grep "is being written by another process" err &&
	test_expect_code 1 txnflow -C p sql --write "CREATE TABLE x AS SELECT 1" 2>err &&
	test_grep "is being written by another process" err &&
	state >/dev/null &&
	exec 8>&-
'

test_done
