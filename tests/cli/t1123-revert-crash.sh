#!/bin/bash
# Crash safety of revert (issue 21): exits injected at every commit step
# and at 25 points spread over the journal's apply, and kill -9 at random moments;
# after each, every file of the lake is its old or its new content, and a
# rerun of the revert converges to the bytes of an uninterrupted one
# (partitions, index, manifest, history, quarantine, the change log and
# the snapshot's files).
. "$(dirname "$0")/../lib/test-lib.sh"

# one clock for every run, so the change log's commit time is the same too
export TXNFLOW_NOW=2025-09-06T06:00:00+09:00
SNAP=silver/_snapshots/transactions

snap_files() { (cd "$1/$SNAP" && find files -type f | sort | xargs sha256sum); }

old_or_new() {
	sort -u old new >both &&
	lake_sums "$1" | sort | comm -23 - both >mixed &&
	if test -s mixed; then echo "neither old nor new:"; cat mixed; return 1; fi
}

test_expect_success 'setup: five days cleaned; the reference reverts 2025-09-03' '
	txnflow generate --data base --date 2025-09-01 --days 5 --rows 300 \
		--late-rate 0.3 --version-rate 0.3 --dup-rate 0.1 --stale-rate 0.05 \
		--malformed-rate 0.02 >/dev/null &&
	for x in 01 02 03 04 05; do
		txnflow clean --data base --date 2025-09-$x >/dev/null || return 1
	done &&
	lake_sums base >old &&
	cp -r base ref &&
	txnflow revert --threads 1 --data ref --ingest-date 2025-09-03 --json >ref.json &&
	lake_sums ref >new &&
	changes_sums ref >new_changes &&
	snap_files ref >new_snap &&
	! test_cmp old new &&
	grep -q "\"deleted\": [1-9]" ref.json &&
	grep -q "\"restored\": [1-9]" ref.json
'

# crash_at STEP:N THREADS: exit there, check, rerun on THREADS threads
crash_at() {
	rm -rf c && cp -r base c &&
	TXNFLOW_CRASH_AT=$1 txnflow revert --threads $2 --data c \
		--ingest-date 2025-09-03 >/dev/null 2>&1
	rc=$?
	[ $rc = 3 ] || [ $rc = 0 ] || { echo "exit $rc at $1"; return 1; }
	old_or_new c || { echo "at $1"; return 1; }
	txnflow revert --threads $2 --data c --ingest-date 2025-09-03 >/dev/null &&
	lake_sums c >got && test_cmp new got &&
	changes_sums c >got && test_cmp new_changes got &&
	snap_files c >got && test_cmp new_snap got &&
	test_path_is_missing c/.clean/journal.json
}

test_expect_success 'injected exits at every commit step and 25 apply points converge' '
	n=0 &&
	for s in stage:1 stage:2 stage:4 journal:1 meta:1 done:1; do
		crash_at $s $((n % 2 + 1)) || return 1
		n=$((n + 1))
	done &&
	rm -rf j && cp -r base j &&
	test_expect_code 3 env TXNFLOW_CRASH_AT=journal:1 "$TXNFLOW" revert --data j \
		--ingest-date 2025-09-03 &&
	ops=$(txnflow sql --memory --format csv \
		"SELECT len(ops) FROM read_json('"'"'j/.clean/journal.json'"'"')" | tail -1) &&
	test "$ops" -gt 30 &&
	for i in $(seq 1 $((ops / 25)) $ops | head -25); do
		crash_at apply:$i $((n % 2 + 1)) || return 1
		n=$((n + 1))
	done &&
	test $n -ge 30 &&
	txnflow audit --data c >/dev/null &&
	txnflow lake log --data c --json >log.json &&
	grep -q "\"operation\": \"revert\"" log.json
'

test_expect_success 'a crash after commit is finished by a clean of another date' '
	rm -rf c && cp -r base c &&
	test_expect_code 3 env TXNFLOW_CRASH_AT=apply:3 "$TXNFLOW" revert --data c \
		--ingest-date 2025-09-03 &&
	test_path_is_file c/.clean/journal.json &&
	txnflow clean --data c --date 2025-09-05 >/dev/null &&
	test_path_is_missing c/.clean/journal.json &&
	lake_sums c >got && test_cmp new got &&
	txnflow audit --data c >/dev/null
'

test_expect_success 'kill -9 at random moments converges' '
	i=0 && while [ $i -lt ${CRASH_KILLS:-4} ]; do
		rm -rf k && cp -r base k || return 1
		"$TXNFLOW" revert --data k --ingest-date 2025-09-03 >/dev/null 2>&1 &
		pid=$!
		sleep 0.$(( (RANDOM % 5) ))$((RANDOM % 10)) &&
		kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
		old_or_new k || return 1
		txnflow revert --data k --ingest-date 2025-09-03 >/dev/null &&
		lake_sums k >got && test_cmp new got &&
		changes_sums k >got && test_cmp new_changes got || return 1
		i=$((i + 1))
	done
'

test_done
