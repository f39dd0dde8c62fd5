#!/bin/bash
# txnflow sql: DuckDB queries from the command line.
. "$(dirname "$0")/../lib/test-lib.sh"

test_expect_success 'sql runs in memory outside a project' '
	txnflow sql "SELECT 40 + 2 AS answer" >out &&
	printf "answer\n42\n" >expect &&
	test_cmp expect out
'

test_expect_success 'sql --format json' '
	txnflow sql --format json "SELECT 1.50::DECIMAL(18,2) AS amount" >out &&
	test_grep "\"amount\": \"1.50\"" out
'

test_expect_success 'sql reports DuckDB errors and exits 4 (a SQL error is permanent)' '
	test_expect_code 4 txnflow sql "SELECT nosuchcol" 2>err &&
	test_grep "txnflow sql: error:.*nosuchcol" err
'

test_expect_success 'sql --write --db creates a database' '
	txnflow sql --write --db w.duckdb "CREATE TABLE t AS SELECT 5 AS x" &&
	txnflow sql --db w.duckdb "SELECT x FROM t" >out &&
	test_grep "^5$" out
'

test_expect_success 'sql on a project uses its warehouse when present' '
	txnflow init p &&
	txnflow -C p sql --write "CREATE TABLE m AS SELECT 9 AS v" &&
	test_path_is_file p/data/warehouse.duckdb &&
	txnflow -C p sql "SELECT v FROM m" >out &&
	test_grep "^9$" out
'

test_done
