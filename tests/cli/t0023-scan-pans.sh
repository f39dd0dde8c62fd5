#!/bin/bash
# txnflow scan-pans: card numbers found in every kind of file the project
# keeps (text, zstd, Parquet decompressed, DuckDB, SQLite), reported with
# their place and masked; nothing found in a project without any.
. "$(dirname "$0")/../lib/test-lib.sh"

test_expect_success 'a project without card numbers scans clean' '
	txnflow init p &&
	txnflow -C p generate --date 2025-09-01 --rows 300 &&
	txnflow -C p clean --date 2025-09-01 &&
	txnflow -C p sql --write "CREATE TABLE mart AS SELECT 1 AS x" &&
	txnflow -C p scan-pans >out &&
	test_grep "^scan-pans: 0 card numbers in [0-9]* files scanned$" out &&
	txnflow -C p scan-pans --json >out.json &&
	test_grep "\"findings\": \[\]" out.json &&
	test_grep "p/data/bronze\"" out.json
'

test_expect_success 'files of every kind, each with card numbers in it' '
	mkdir f &&
	printf "id,card\n1,4111 1111 1111 1111\n2,4111111111111112\n" >f/a.csv &&
	printf "{\"c\":\"5555-5555-5555-4444\",\"ts\":1764547200000000}\n" >f/b.json &&
	printf "log line\nx 4111111111111111 y\n" | zstd -q >f/c.log.zst &&
	txnflow sql --write --db f/w.duckdb "
		CREATE TABLE cards AS SELECT * FROM (VALUES (1, '"'"'none'"'"'),
			(2, '"'"'card 5555 5555 5555 4444'"'"')) t(id, note);
		CREATE TABLE nums AS SELECT 4012888888881881::BIGINT AS n;
		CREATE VIEW v AS SELECT * FROM cards WHERE note = '"'"'6011111111111117'"'"'" &&
	txnflow sql --write --db scratch.duckdb "COPY (SELECT range AS i,
		CASE WHEN range = 700 THEN '"'"'row 700 4111-1111-1111-1111'"'"'
		ELSE '"'"'row '"'"' || range END AS s FROM range(1000))
		TO '"'"'f/d.parquet'"'"' (FORMAT parquet, COMPRESSION zstd)" &&
	# nested: our reader says unsupported, DuckDB reads it
	txnflow sql --write --db scratch.duckdb "COPY (SELECT [1, 2] AS l,
		'"'"'x 4111111111111111'"'"' AS s) TO '"'"'f/n.parquet'"'"' (FORMAT parquet)" &&
	sqlite3 f/e.db "CREATE TABLE t(a TEXT, b INTEGER);
		INSERT INTO t VALUES ('"'"'ok'"'"', 1), ('"'"'4111111111111111'"'"', 2),
		(NULL, 5555555555554444);" &&
	mkdir -p f/data/bronze && cp f/a.csv f/data/bronze/ &&
	# compressed: the bytes of the file do not show the number
	! grep -q "4111-1111-1111-1111" f/d.parquet &&
	! zstd -q -d -c f/c.log.zst | grep -q 1111-1111
'

test_expect_success 'scan-pans finds each one, masked, where it is' '
	test_expect_code 1 txnflow scan-pans f >out &&
	cat >expect <<-\EOT &&
	f/a.csv: line 2, column 3: 411111******1111
	f/b.json: line 1, column 7: 555555******4444
	f/c.log.zst: line 2, column 3: 411111******1111
	f/d.parquet: row 701, column s: 411111******1111
	f/e.db: table t, column a, row 2: 411111******1111
	f/e.db: table t, column b, row 3: 555555******4444
	f/n.parquet: parquet (read by DuckDB), column s, row 1: 411111******1111
	f/w.duckdb: table main.cards, column note, row 2: 555555******4444
	f/w.duckdb: table main.nums, column n, row 1: 401288******1881
	f/w.duckdb: view definitions, column sql, row 1: 601111******1117
	scan-pans: 10 card numbers in 7 files scanned
	EOT
	test_cmp expect out &&
	! grep -q "4111111111111111\|5555555555554444" out
'

test_expect_success 'a string column'"'"'s statistics are read too' '
	txnflow sql --write --db scratch.duckdb "COPY (SELECT '"'"'a 4111111111111111'"'"' AS s
		UNION ALL SELECT '"'"'b'"'"') TO '"'"'st.parquet'"'"' (FORMAT parquet)" &&
	test_expect_code 1 txnflow scan-pans st.parquet >out &&
	test_grep "^st.parquet: footer (line [0-9]* of .txnflow parquet inspect.): 411111\*\*\*\*\*\*1111$" out &&
	test_grep "^st.parquet: row 1, column s: 411111\*\*\*\*\*\*1111$" out
'

test_expect_success 'bronze is left out unless --include-bronze' '
	test_expect_code 1 txnflow scan-pans --json f >out.json &&
	test_grep "\"f/data/bronze\"" out.json &&
	test_expect_code 1 txnflow scan-pans --include-bronze f >out &&
	test_grep "^f/data/bronze/a.csv: line 2, column 3: 411111\*\*\*\*\*\*1111$" out &&
	test_grep "^scan-pans: 11 card numbers in 8 files" out &&
	txnflow scan-pans f/data >out &&
	test_grep "^scan-pans: 0 card numbers in 0 files" out
'

test_expect_success 'a file that cannot be read proves nothing: exit 1' '
	printf "x" | zstd -q | head -c 6 >cut.zst &&
	test_expect_code 1 txnflow scan-pans cut.zst >out 2>err &&
	test_grep "cannot scan cut.zst: zstd" err &&
	test_grep "some files unreadable" out &&
	# a path that is not there: an error a retry would not fix (exit 4)
	test_expect_code 4 txnflow scan-pans no-such-file 2>err &&
	test_grep "no-such-file" err
'

test_expect_success 'scan-pans --help; a bad option is a usage error' '
	txnflow scan-pans --help >out &&
	test_grep "^usage: txnflow scan-pans" out &&
	test_expect_code 2 txnflow scan-pans --bronze
'

test_done
