#!/bin/bash
# Snapshots (issue 21): every clean that changes the lake commits a version
# with a snapshot of its partition files; `lake log` lists them and
# `sql --as-of` reads silver exactly as it was at a past version, compared
# here with copies of silver saved at those points.
. "$(dirname "$0")/../lib/test-lib.sh"

DAYS="01 02 03 04 05"
SNAP=silver/_snapshots/transactions
q() { txnflow sql --memory --format csv "$1" | tail -n +2; }
# every column of silver, hive columns included, in one order
COLS="transaction_id, customer_id, card_id, merchant_id, txn_ts, amount, currency,
      mcc, status, is_refund, channel, ingested_at, original_transaction_id,
      source_file, ingest_date, year, month, day"
rows_of() { # DIR: silver's rows under DIR, sorted
	q "SELECT $COLS FROM read_parquet('$1/**/*.parquet', hive_partitioning = true)
	   ORDER BY transaction_id"
}
as_of_rows() { # DATA AS_OF
	txnflow sql --data "$1" --memory --format csv --as-of "$2" \
		"SELECT $COLS FROM silver ORDER BY transaction_id" | tail -n +2
}
# the SHA-256 and file of each partition a snapshot record names, as
# sha256sum -c reads them
snap_sums() {
	awk -F'"' '/"file"/ { f = $4 } /"sha256"/ { print $4 "  " f }' "$1"
}

test_expect_success 'five days with every fault, each cleaned at its own time, silver saved after each' '
	txnflow generate --data d --date 2025-09-01 --days 5 --rows 400 \
		--late-rate 0.3 --version-rate 0.3 --dup-rate 0.1 --stale-rate 0.05 \
		--malformed-rate 0.02 >/dev/null &&
	for x in $DAYS; do
		TXNFLOW_NOW=2025-09-${x}T06:00:00+09:00 \
			txnflow clean --data d --date 2025-09-$x --json >clean$x.json &&
		cp -r d/silver/transactions saved$x || return 1
	done &&
	for x in $DAYS; do
		test_path_is_file d/$SNAP/v$(printf %010d ${x#0}).json || return 1
	done
'

test_expect_success 'lake log lists the five versions: time, run, batches, partitions, rows' '
	txnflow lake log --data d --json >log.json &&
	for x in $DAYS; do
		q "SELECT ${x#0}, strftime(TIMESTAMPTZ '"'"'2025-09-$x 06:00:00+09:00'"'"' AT TIME ZONE '"'"'UTC'"'"',
		                          '"'"'%Y-%m-%dT%H:%M:%SZ'"'"'),
		          run_id, ${x#0}, array_to_string(partitions_rewritten, '"'"' '"'"'),
		          (SELECT count(*) FROM read_parquet('"'"'saved$x/**/*.parquet'"'"'))
		   FROM read_json('"'"'clean$x.json'"'"')" >>expect || return 1
	done &&
	q "SELECT version, strftime(committed_at, '"'"'%Y-%m-%dT%H:%M:%SZ'"'"'), run_id, len(batches),
	          array_to_string(partitions_changed, '"'"' '"'"'), rows
	   FROM read_json('"'"'log.json'"'"') ORDER BY version" >actual &&
	test_cmp expect actual &&
	q "SELECT array_to_string(batches, '"'"' '"'"') FROM read_json('"'"'log.json'"'"')
	   WHERE version = 3" >b3 &&
	echo "2025-09-01 2025-09-02 2025-09-03" >want_b3 &&
	test_cmp want_b3 b3 &&
	txnflow lake log --data d >table &&
	test_grep "^ *5  2025-09-04T21:00:00Z  clean-2025-09-05-" table
'

test_expect_success 'sql --as-of three past versions equals the copies saved then' '
	for x in 01 02 03; do
		rows_of saved$x >want$x &&
		as_of_rows d ${x#0} >got$x &&
		test_cmp want$x got$x &&
		test $(wc -l <got$x) -gt 100 || return 1
	done &&
	! test_cmp want01 want03 &&
	rows_of d/silver/transactions >want_now &&
	as_of_rows d 5 >got_now &&
	test_cmp want_now got_now
'

test_expect_success 'each snapshot names files with the bytes silver had then' '
	for x in $DAYS; do
		v=$(printf "%010d" ${x#0}) &&
		snap_sums d/$SNAP/v$v.json >sums$x &&
		test $(wc -l <sums$x) = $(find saved$x -name "*.parquet" | wc -l) &&
		(cd d && sha256sum --quiet -c ../sums$x) &&
		(cd saved$x && find . -name "*.parquet" | sort | xargs sha256sum | cut -c1-64) >want &&
		cut -c1-64 sums$x | sort >a && sort want >b && test_cmp b a || return 1
	done
'

test_expect_success 'as of a timestamp: the last version committed at or before it; as of a run id: its version' '
	as_of_rows d 2025-09-03T05:59:59+09:00 >got_t &&
	test_cmp want02 got_t &&
	as_of_rows d 2025-09-02T21:00:00Z >got_t2 &&
	test_cmp want03 got_t2 &&
	run=$(sed -n "s/.*\"run_id\": \"\(.*\)\".*/\1/p" clean03.json) &&
	as_of_rows d "$run" >got_r &&
	test_cmp want03 got_r
'

test_expect_success 'an --as-of that names no version is an error that says what exists' '
	test_must_fail txnflow sql --data d --memory --as-of 42 "SELECT 1" 2>err &&
	test_grep "no lake version 42 (the lake has versions 1 to 5" err &&
	test_must_fail txnflow sql --data d --memory --as-of 2025-08-01T00:00:00Z "SELECT 1" 2>err &&
	test_grep "no lake version was committed at or before" err &&
	test_must_fail txnflow sql --data d --memory --as-of nope "SELECT 1" 2>err &&
	test_grep "neither a version" err
'

test_expect_success 'a rerun commits no version; replaced files stay readable' '
	txnflow clean --data d --date 2025-09-03 >/dev/null &&
	txnflow lake log --data d --json >log2.json &&
	test_cmp log.json log2.json &&
	as_of_rows d 1 >again &&
	test_cmp want01 again
'

test_expect_success 'lake log --help; an empty lake has no versions' '
	txnflow lake --help >help &&
	test_grep "usage: txnflow lake log" help &&
	test_grep "as-of" help &&
	txnflow sql --help >help &&
	test_grep "as-of" help &&
	mkdir empty &&
	txnflow lake log --data empty >out &&
	test_grep "no versions" out &&
	txnflow lake log --data empty --json >out &&
	test "$(cat out)" = "[]" &&
	test_must_fail txnflow sql --data empty --memory --as-of 1 "SELECT 1" 2>err &&
	test_grep "no snapshot yet" err
'

test_expect_success 'a lake from before snapshots: the first commit lists every partition' '
	cp -r d old && rm -rf old/silver/_snapshots &&
	txnflow generate --data old --date 2025-09-06 --rows 400 --late-rate 0.3 \
		--version-rate 0.3 >/dev/null &&
	txnflow clean --data old --date 2025-09-06 >/dev/null &&
	txnflow lake log --data old --json >log_old.json &&
	test_grep "\"version\": 6" log_old.json &&
	q "SELECT array_to_string(batches, '"'"' '"'"') FROM read_json('"'"'log_old.json'"'"')" >b6 &&
	echo "2025-09-01 2025-09-02 2025-09-03 2025-09-04 2025-09-05 2025-09-06" >want_b6 &&
	test_cmp want_b6 b6 &&
	rows_of old/silver/transactions >want6 &&
	as_of_rows old 6 >got6 &&
	test_cmp want6 got6 &&
	snap_sums old/$SNAP/v0000000006.json >sums6 &&
	(cd old && sha256sum --quiet -c ../sums6) &&
	test $(wc -l <sums6) = $(find old/silver/transactions -name "*.parquet" | wc -l)
'

# crash_at STEP:N: clean day 6 on a copy of d, crashing there; then every
# snapshot names files that are there with their bytes, and a rerun leaves
# version 6 readable as silver
crash_at() {
	rm -rf c && cp -r d c &&
	txnflow generate --data c --date 2025-09-06 --rows 400 --late-rate 0.3 \
		--version-rate 0.3 >/dev/null &&
	TXNFLOW_CRASH_AT=$1 txnflow clean --data c --date 2025-09-06 >/dev/null 2>&1
	rc=$?
	[ $rc = 3 ] || [ $rc = 0 ] || { echo "exit $rc at $1"; return 1; }
	for f in c/$SNAP/v*.json; do
		snap_sums $f >s && (cd c && sha256sum --quiet -c ../s) || return 1
	done &&
	txnflow clean --data c --date 2025-09-06 >/dev/null &&
	test_path_is_file c/$SNAP/v0000000006.json &&
	test_path_is_missing c/$SNAP/v0000000007.json &&
	rows_of c/silver/transactions >w && as_of_rows c 6 >g && test_cmp w g &&
	as_of_rows c 2 >g2 && test_cmp want02 g2
}

test_expect_success 'a crash at any commit step leaves whole snapshots; the rerun converges' '
	for s in stage:1 stage:3 journal:1 apply:1 apply:3 apply:9 apply:20 apply:40 meta:1 done:1; do
		crash_at $s || return 1
	done
'

test_done
