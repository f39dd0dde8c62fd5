#!/bin/bash
# The real DAG (generate, clean, models build) over 2025-09-01..11 with
# every fault of the synthetic feed on: a --parallel 2 backfill (generates
# ahead, cleans in date order, one models build for the dates waiting at
# their models) leaves the same silver bytes and the same warehouse tables
# as the sequential backfill, and so does one split in two ranges (the
# incremental models' delete+insert path); txnflow audit passes on each.
#
# Time: a models build costs ~7 s of CPU under ASan (DuckDB's allocations
# go through the sanitizer's allocator) against ~2 s in the release build,
# so the two references that run many builds (the sequential backfill and
# the split one) and the digests use the release binary when it is there
# (make test builds it); the parallel backfill under test runs on $TXNFLOW.
. "$(dirname "$0")/../lib/test-lib.sh"
# the parallel backfill under test runs ten models builds: no quarantine
# (decision 0001); the executor's own paths keep it in t4020 and t4000
test_duckdb_heavy

REF=$ROOT/build/txnflow
test -x "$REF" || REF=$TXNFLOW
ref() { "$REF" "$@"; }

# project NAME: a fresh default project with small days (every fault rate
# stays at its default, all nonzero)
project() {
	ref init "$1" >/dev/null &&
	one_duckdb_thread "$1" &&
	sed -i "s/^  rows: .*/  rows: 1500/" "$1/txnflow.yml"
}

# digest NAME: SHA-256 of every silver file (partitions and id index; not
# the change log, whose commit times differ), then for every table of the
# warehouse's main schema its row count and the MD5 of its rows as text,
# sorted (DuckDB files are not byte-stable, their contents are)
digest() {
	(cd "$1/data" && find silver -type f -not -path "silver/_changes/*" -not -path "silver/_snapshots/*" | sort | xargs sha256sum) &&
	ref -C "$1" sql --format csv "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1" | tr -d "\"" >"$1.tables" &&
	test "$(wc -l <"$1.tables")" -gt 8 &&
	q= &&
	for t in $(tail -n +2 "$1.tables"); do
		q="$q${q:+ UNION ALL }SELECT '$t' AS name, count(*) AS n_rows, md5(coalesce(string_agg(CAST(x AS VARCHAR), chr(10) ORDER BY CAST(x AS VARCHAR)), '')) AS rows_md5 FROM $t x"
	done &&
	ref -C "$1" sql --format csv "$q ORDER BY name"
}

test_expect_success 'sequential backfill: one models build per date' '
	project seq &&
	ref -C seq backfill --from 2025-09-01 --to 2025-09-11 --parallel 1 >out 2>err &&
	test_grep "11 date(s): 11 succeeded" out &&
	test "$(db_at seq "SELECT count(DISTINCT log_path) FROM task_attempts WHERE task = '"'"'models'"'"'")" = 11 &&
	ref -C seq audit >audit &&
	test_grep "audit: ok" audit &&
	digest seq >seq.digest &&
	test "$(grep -c "^mart_" seq.digest)" -ge 5
'

test_expect_success 'parallel backfill: models batched, same silver and marts' '
	project par &&
	txnflow -C par backfill --from 2025-09-01 --to 2025-09-11 --parallel 2 >out 2>err &&
	test_grep "11 date(s): 11 succeeded" out &&
	: every date has its own successful models attempt, fewer processes ran &&
	test "$(db_at par "SELECT count(*) FROM task_attempts WHERE task = '"'"'models'"'"' AND state = '"'"'success'"'"'")" = 11 &&
	test "$(db_at par "SELECT count(DISTINCT log_path) FROM task_attempts WHERE task = '"'"'models'"'"'")" -lt 11 &&
	test_grep "one build for the models of 2025-09-0" par/data/logs/*/models/attempt-1.log &&
	: the cleans ran in date order, one at a time &&
	db_at par "SELECT r.logical_date FROM task_attempts a JOIN runs r USING(run_id) WHERE a.task = '"'"'clean'"'"' ORDER BY a.started_at_us" >order &&
	sort order >sorted && test_cmp sorted order &&
	test "$(db_at par "SELECT count(*) FROM task_attempts a, task_attempts b WHERE a.task = '"'"'clean'"'"' AND b.task IN ('"'"'clean'"'"', '"'"'models'"'"') AND a.attempt_id <> b.attempt_id AND a.started_at_us < b.ended_at_us AND b.started_at_us < a.ended_at_us")" = 0 &&
	txnflow -C par audit >audit &&
	test_grep "audit: ok" audit &&
	digest par >par.digest &&
	test_cmp seq.digest par.digest
'

test_expect_success 'parallel backfill in two ranges (incremental models) matches too' '
	project split &&
	ref -C split backfill --from 2025-09-01 --to 2025-09-05 --parallel 2 >out 2>err &&
	ref -C split backfill --from 2025-09-06 --to 2025-09-11 --parallel 2 >out 2>err &&
	test_grep "6 date(s): 6 succeeded" out &&
	ref -C split audit >audit &&
	test_grep "audit: ok" audit &&
	digest split >split.digest &&
	test_cmp seq.digest split.digest
'

test_done
