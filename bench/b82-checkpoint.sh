#!/bin/sh
# What a DuckDB checkpoint costs once a table carries deletes in many of
# its row groups (decision 1801, "Found in the eleventh round"). The models
# kept by change delete the old versions of late-arriving rows from the
# row groups they were first written to, so over the weeks nearly every
# row group of fact_transactions and the customer-day tables carries
# deletes. DuckDB 1.4.4's full checkpoint loads the deletes of every row
# group to decide on a vacuum (RowGroupCollection::InitializeVacuumState ->
# GetCommittedRowCount) and a row group whose deletes are loaded counts as
# changed (RowGroup::HasChanges), so every checkpoint rewrites all of
# them, in every table, whatever the checkpoint is for. This script shows
# it on a plain table, side by side in one run:
#   1. a checkpoint after a one-row change, on a table without deletes;
#   2. the same after 10 % of the rows were deleted, spread over every
#      row group (as late arrivals spread them);
#   3. the same after the row groups carrying deletes were rewritten
#      (their rows copied to the end, the old row groups deleted whole:
#      a row group with no rows left is dropped, not rewritten).
# Prints each step's CPU (user + sys) and peak RSS, and the ratios.
#   ROWS=N (default 4000000)
set -eu
TXNFLOW=${TXNFLOW:-build/txnflow}
ROWS=${ROWS:-4000000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/txnflow-b82.XXXXXX")
trap 'rm -rf "$dir"' EXIT
db="$dir/w.duckdb"

# cpu STEP SQL: run SQL on the database, print "STEP cpu_s rss_mib"
cpu() {
	/usr/bin/time -f "%U %S %M" -o "$dir/t" "$TXNFLOW" sql --db "$db" --write "$2" >/dev/null
	awk -v s="$1" '{ printf "%s %.2f %.0f\n", s, $1 + $2, $3 / 1024 }' "$dir/t"
}
one_row='CREATE OR REPLACE TABLE one(a INT); INSERT INTO one VALUES (1); CHECKPOINT'

echo "checkpoint cost and row groups carrying deletes: $ROWS rows"
"$TXNFLOW" sql --db "$db" --write "CREATE TABLE t AS SELECT i, md5(i::VARCHAR) AS a,
	md5((i + 1)::VARCHAR) AS b FROM range($ROWS) r(i); CHECKPOINT" >/dev/null
{
	cpu no_deletes "$one_row"
	"$TXNFLOW" sql --db "$db" --write "DELETE FROM t WHERE i % 10 = 1; CHECKPOINT" >/dev/null
	cpu deletes_spread "$one_row"
	cpu deletes_spread_again "$one_row"
	cpu rewrite "BEGIN;
		CREATE TEMP TABLE blk AS SELECT rowid // 122880 AS g FROM t GROUP BY 1
			HAVING count(*) < 122880;
		CREATE TEMP TABLE kept AS SELECT * FROM t WHERE rowid // 122880 IN (SELECT g FROM blk);
		DELETE FROM t WHERE rowid // 122880 IN (SELECT g FROM blk);
		INSERT INTO t SELECT * FROM kept ORDER BY i;
		COMMIT; CHECKPOINT"
	cpu after_rewrite "$one_row"
} | tee "$dir/steps" | awk '{ printf "%-22s %6.2f s CPU %6.0f MiB\n", $1, $2, $3 }'
awk '{ c[$1] = $2; m[$1] = $3 }
	END {
		printf "one-row checkpoint with deletes spread / without: %.1fx CPU, %.1fx RSS\n",
			c["deletes_spread_again"] / c["no_deletes"], m["deletes_spread_again"] / m["no_deletes"]
		printf "after the row groups were rewritten / without deletes: %.1fx CPU\n",
			c["after_rewrite"] / c["no_deletes"]
	}' "$dir/steps"
"$TXNFLOW" sql --db "$db" "SELECT count(*) AS rows_left FROM t"
