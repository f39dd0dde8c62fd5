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

# The read-only session (issue 16): without --write nothing is written,
# attached writable, installed or loaded, and settings cannot be changed;
# reading the lake keeps working.
test_expect_success 'a lake to attack' '
	txnflow init lake &&
	txnflow -C lake generate --date 2025-09-01 --rows 50 &&
	txnflow -C lake clean --date 2025-09-01 &&
	txnflow -C lake sql --write "CREATE TABLE mart AS SELECT 1 AS x" &&
	(cd lake/data && find silver -name "*.parquet" -path "*day=*" | head -1) >part &&
	test -s part &&
	(cd lake/data && sha256sum txnflow.db warehouse.duckdb "$(cat ../../part)") >sums
'

test_expect_success 'sql without --write reads the lake (relative and absolute paths)' '
	txnflow -C lake sql "SELECT count(*) AS n FROM read_parquet('"'"'data/silver/transactions/**/*.parquet'"'"', hive_partitioning = true)" >out &&
	test_grep "^[1-9][0-9]*$" out &&
	txnflow sql "SELECT count(*) AS n FROM read_parquet('"'"'lake/data/silver/transactions/**/*.parquet'"'"')" >out2 &&
	test_cmp out out2 &&
	txnflow sql --memory "SELECT count(*) AS n FROM read_parquet('"'"'$PWD/lake/data/silver/transactions/**/*.parquet'"'"')" >out3 &&
	test_cmp out out3 &&
	txnflow -C lake sql "SELECT x FROM mart" >out &&
	test_grep "^1$" out
'

test_expect_success 'sql without --write cannot COPY over a silver partition' '
	part=$(cat part) &&
	test_expect_code 4 txnflow -C lake sql "COPY (SELECT 1 AS a) TO '"'"'data/$part'"'"' (FORMAT parquet)" 2>err &&
	test_grep "read-only.*--write" err &&
	test_expect_code 4 txnflow -C lake sql --memory "COPY (SELECT 1 AS a) TO '"'"'$PWD/lake/data/$part'"'"' (FORMAT parquet)" 2>err &&
	test_expect_code 4 txnflow sql "COPY (SELECT 1 AS a) TO '"'"'lake/data/$part'"'"' (FORMAT parquet)" 2>err &&
	(cd lake/data && sha256sum -c ../../sums)
'

test_expect_success 'sql without --write cannot overwrite the metadata database' '
	test_expect_code 4 txnflow -C lake sql "COPY (SELECT '"'"'x'"'"') TO '"'"'data/txnflow.db'"'"'" 2>err &&
	test_grep "read-only" err &&
	test_expect_code 4 txnflow -C lake sql "EXPORT DATABASE '"'"'data/exp'"'"'" 2>err &&
	test_path_is_missing lake/data/exp &&
	(cd lake/data && sha256sum -c ../../sums) &&
	txnflow -C lake status >/dev/null
'

test_expect_success 'sql without --write cannot attach a database writable' '
	test_expect_code 4 txnflow -C lake sql "ATTACH '"'"'data/warehouse.duckdb'"'"' AS w2 (READ_WRITE); DROP TABLE w2.mart" 2>err &&
	test_grep "read-only" err &&
	test_expect_code 4 txnflow -C lake sql --memory "ATTACH '"'"'data/warehouse.duckdb'"'"' AS w2 (READ_WRITE); DROP TABLE w2.mart" 2>err &&
	test_expect_code 4 txnflow -C lake sql --memory "ATTACH '"'"'data/new.duckdb'"'"' AS n" 2>err &&
	test_path_is_missing lake/data/new.duckdb &&
	(cd lake/data && sha256sum -c ../../sums) &&
	txnflow -C lake sql "SELECT x FROM mart" >out &&
	test_grep "^1$" out
'

test_expect_success 'sql without --write installs and loads nothing, reaches no network' '
	test_expect_code 4 txnflow sql "INSTALL httpfs" 2>err &&
	test_grep "read-only" err &&
	test_expect_code 4 txnflow sql "LOAD httpfs" 2>err &&
	test_expect_code 4 txnflow sql "SELECT * FROM read_csv('"'"'https://example.com/x.csv'"'"')" 2>err &&
	txnflow sql --format csv "SELECT current_setting('"'"'enable_external_access'"'"') AS e, current_setting('"'"'lock_configuration'"'"') AS l, current_setting('"'"'autoinstall_known_extensions'"'"') AS i, current_setting('"'"'allow_persistent_secrets'"'"') AS s" >out &&
	printf "e,l,i,s\nfalse,true,false,false\n" >expect &&
	test_cmp expect out
'

test_expect_success 'sql without --write cannot change its settings back' '
	test_expect_code 4 txnflow sql "SET enable_external_access = true; COPY (SELECT 1) TO '"'"'x.csv'"'"'" 2>err &&
	test_expect_code 4 txnflow sql "SET lock_configuration = false" 2>err &&
	test_expect_code 4 txnflow sql "RESET enable_external_access" 2>err &&
	test_path_is_missing x.csv
'

test_expect_success 'sql without --write writes no log file either' '
	mkdir logdir &&
	test_expect_code 4 txnflow sql "SELECT * FROM enable_logging(level = '"'"'debug'"'"', storage = '"'"'file'"'"', storage_path = '"'"'logdir'"'"'); SELECT 1" 2>err &&
	test_grep "enable_logging is refused" err &&
	test "$(ls logdir | wc -l)" = 0
'

# What no statement kind shows (a table function named in a string) the
# kernel stops, where it has Landlock: DuckDB may then die, but writes
# nothing.
test_expect_success 'sql without --write: the kernel guard stops what gets past DuckDB' '
	TXNFLOW_LOG_LEVEL=debug txnflow sql "SELECT 1" >/dev/null 2>dbg &&
	if grep "no kernel guard" dbg; then
		say "skipped: no Landlock here"
	else
		txnflow sql "SELECT * FROM query('"'"'SELECT * FROM enable_'"'"' || '"'"'logging(level = '"''"'debug'"''"', storage = '"''"'file'"''"', storage_path = '"''"'logdir'"''"')'"'"'); SELECT 1; SELECT 2" >out 2>err ;
		test "$(ls logdir | wc -l)" = 0
	fi
'

test_expect_success 'sql --write unlocks writing files, and its help says so' '
	txnflow sql --write --memory "COPY (SELECT 1 AS a) TO '"'"'w.csv'"'"'" &&
	test_path_is_file w.csv &&
	txnflow sql --help >help &&
	test_grep "read-only" help &&
	test_grep "COPY ... TO and EXPORT write files" help
'

test_done
