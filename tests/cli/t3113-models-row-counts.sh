#!/bin/bash
# A table kept by change is not counted after its build: the build
# records its rows (the rows it held, less those the change deleted, plus
# those it inserted) beside the rows its storage holds, in
# _txnflow.model_rows, in the build's transaction; a later build takes the
# record while the catalog still shows that many stored rows, and
# mart_reconciliation reads the fact's rows the same way (table_rows()).
# A DuckDB COUNT(*) of a table with deleted rows reads every row group's
# deletes (decision 1801, fourteenth round). Checked here: every count the
# builds report equals COUNT(*), days after day; a hand-made delete is
# never hidden by a record (`sql --write` drops them, and the
# reconciliation reports the fact short); a record stops counting once
# anything inserted rows beside the builds.
. "$(dirname "$0")/../lib/test-lib.sh"
test_duckdb_heavy

MODELS="fact_transactions int_customer_sales_daily int_customer_attempts_daily int_merchant_daily int_fraud_candidates mart_sales_daily"
# those whose change deletes a few of their rows (in this project
# mart_sales_daily's is most of it: written whole, it has none to count)
DELETED="fact_transactions int_customer_sales_daily int_customer_attempts_daily int_merchant_daily int_fraud_candidates"

# What table_rows() takes for the fact (-1: no record stands), and a
# record made to say 12345
cat >taken.sql <<\EOF
SELECT COALESCE((SELECT r.n_rows FROM "_txnflow"."model_rows" r JOIN duckdb_tables() t
    ON t.database_name = current_database()
   AND '"' || t.schema_name || '"."' || t.table_name || '"' = '"main"."fact_transactions"'
   AND t.estimated_size = r.stored_rows WHERE r.model = '"main"."fact_transactions"'), -1)
EOF
cat >up.sql <<\EOF
UPDATE _txnflow.model_rows SET n_rows = 12345 WHERE model = '"main"."fact_transactions"';
EOF

# counts_agree DATE: each model above built by change on DATE reported
# COUNT(*) of its table as its rows, and its record says so too
counts_agree() {
	for t in $MODELS; do
		reported=$(sqlite3 p/data/txnflow.db "SELECT b.n_rows FROM model_builds b
			WHERE b.model = '$t' ORDER BY b.rowid DESC LIMIT 1") &&
		counted=$(txnflow -C p sql --format csv "SELECT count(*) FROM $t" | tail -1) &&
		echo "$1 $t reported $reported counted $counted" &&
		test "$reported" = "$counted" || return 1
	done
}

test_expect_success 'a project, three days built by change' '
	txnflow init p >/dev/null &&
	one_duckdb_thread p &&
	txnflow -C p generate --date 2025-09-01 --days 4 --rows 4000 --customers 600 \
		--late-rate 0.3 --version-rate 0.3 >/dev/null &&
	for d in 01 02 03; do
		txnflow -C p clean --date 2025-09-$d >/dev/null &&
		TXNFLOW_LOG_LEVEL=debug txnflow -C p models build --quiet \
			--vars "{run_date: \"2025-09-$d\"}" >build$d.out 2>build$d.log &&
		counts_agree 2025-09-$d || return 1
	done
'

# day 2 counted each table once (no record after day 1's full build);
# day 3 counted none: the debug log names each count and each record taken
test_expect_success 'the last build counted none of them: it took the records' '
	for t in $DELETED; do
		test_grep -F "SELECT count(*) FROM \"main\".\"$t\"" build02.log &&
		! grep -F "SELECT count(*) FROM \"main\".\"$t\"" build03.log &&
		test_grep "^node $t: [0-9]* rows, as its change left them" build03.log || return 1
	done &&
	txnflow -C p sql --format csv "SELECT count(*) FROM _txnflow.model_rows" | tail -1 >n &&
	test "$(cat n)" -ge 5
'

test_expect_success 'the reconciliation reads the record: every check ok' '
	txnflow -C p sql --format csv "SELECT count(*) FROM mart_reconciliation WHERE status <> '"'"'ok'"'"'" | tail -1 >bad &&
	test "$(cat bad)" = 0
'

# the reconciliation'"'"'s SQL over a copy whose record says 12345 fact rows:
# it takes them, so it did not count the fact
test_expect_success 'table_rows() takes the record while it stands' '
	txnflow -C p models compile --select mart_reconciliation >/dev/null &&
	cp -L p/data/warehouse.duckdb w0.duckdb &&
	txnflow_ref sql --db w0.duckdb --write --format csv "$(cat up.sql) SELECT left_value FROM (
		$(cat p/target/compiled/models/marts/mart_reconciliation.sql)
		) WHERE check_order = 4" | tail -1 >taken0 &&
	test "$(cat taken0)" = 12345
'

test_expect_success 'rows deleted by hand: the records go, the reconciliation sees it' '
	txnflow -C p sql --write "DELETE FROM fact_transactions WHERE transaction_id IN
		(SELECT transaction_id FROM fact_transactions ORDER BY transaction_id LIMIT 3)" >/dev/null &&
	txnflow -C p sql --format csv "SELECT count(*) FROM _txnflow.model_rows" | tail -1 >n &&
	test "$(cat n)" = 0 &&
	test_must_fail txnflow -C p models build --select mart_reconciliation \
		--vars "{run_date: \"2025-09-03\"}" >recon.out 2>&1 &&
	test_grep "audit failed: test accepted_values_mart_reconciliation_status" recon.out &&
	test_grep "mismatch *| 2" recon.out
'

test_expect_success 'after it, a day built by change counts once, then is right again' '
	txnflow -C p models build --quiet --full-refresh --vars "{run_date: \"2025-09-03\"}" >full.out &&
	txnflow -C p clean --date 2025-09-04 >/dev/null &&
	TXNFLOW_LOG_LEVEL=debug txnflow -C p models build --quiet \
		--vars "{run_date: \"2025-09-04\"}" >build04.out 2>build04.log &&
	counts_agree 2025-09-04 &&
	txnflow -C p sql --format csv "SELECT count(*) FROM mart_reconciliation WHERE status <> '"'"'ok'"'"'" | tail -1 >bad &&
	test "$(cat bad)" = 0
'

# (one write session each: `sql --write` forgets the records after it)
test_expect_success 'a record stands only while the stored rows are what it names' '
	cp -L p/data/warehouse.duckdb w1.duckdb &&
	txnflow_ref sql --db w1.duckdb --write --format csv "$(cat up.sql) $(cat taken.sql)" | tail -1 >taken1 &&
	test "$(cat taken1)" = 12345 &&
	cp -L p/data/warehouse.duckdb w2.duckdb &&
	txnflow_ref sql --db w2.duckdb --write --format csv "$(cat up.sql) INSERT INTO fact_transactions SELECT * FROM fact_transactions LIMIT 1; $(cat taken.sql)" | tail -1 >taken2 &&
	test "$(cat taken2)" = -1
'

# a hook's SQL may delete rows as well: the records go after it
test_expect_success 'rows deleted by an on-run-end hook: the reconciliation sees it' '
	cp p/txnflow.yml txnflow.yml.orig &&
	cat >>p/txnflow.yml <<-\EOF &&
	on-run-end: "DELETE FROM fact_transactions WHERE transaction_id IN (SELECT transaction_id FROM fact_transactions ORDER BY transaction_id LIMIT 2)"
	EOF
	txnflow -C p models build --quiet --select fact_transactions \
		--vars "{run_date: \"2025-09-04\"}" >hook.out 2>&1 &&
	cp txnflow.yml.orig p/txnflow.yml &&
	txnflow -C p sql --format csv "SELECT count(*) FROM _txnflow.model_rows" | tail -1 >n &&
	test "$(cat n)" = 0 &&
	test_must_fail txnflow -C p models build --select mart_reconciliation \
		--vars "{run_date: \"2025-09-04\"}" >recon2.out 2>&1 &&
	test_grep "audit failed: test accepted_values_mart_reconciliation_status" recon2.out
'

test_done
