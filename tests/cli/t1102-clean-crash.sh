#!/bin/bash
# Crash safety: kill the clean at every commit step and at random moments;
# every partition is always either its old or its new file, and a rerun
# converges to the same bytes as a clean run. The reference is cleaned on
# one thread, the crashed runs and reruns on 1, 2 and 8 in turn: the bytes
# do not depend on it.
. "$(dirname "$0")/../lib/test-lib.sh"

# one clock for every run, so the change log's commit time is the same too
export TXNFLOW_NOW=2025-09-03T06:00:00+09:00

# every file of lake $1 has the content it had in $2 (old) or $3 (new):
# each partition, shard and quarantine file is replaced whole
old_or_new() {
	sort -u "$2" "$3" >both &&
	lake_sums "$1" | sort | comm -23 - both >mixed &&
	if test -s mixed; then echo "neither old nor new:"; cat mixed; return 1; fi
	# the change log: nothing, or files of the new version, each whole
	changes_sums "$1" | sort | comm -23 - new_changes_sorted >mixed &&
	if test -s mixed; then echo "a change file not of the commit:"; cat mixed; return 1; fi
}

test_expect_success 'setup: a lake after day 1, and the reference after day 2' '
	txnflow generate --data base --date 2025-09-01 --days 2 --rows 400 \
		--late-rate 0.3 --version-rate 0.2 --malformed-rate 0.02 >/dev/null &&
	txnflow clean --data base --date 2025-09-01 >/dev/null &&
	lake_sums base >old &&
	cp -r base ref &&
	txnflow clean --threads 1 --data ref --date 2025-09-02 --json >ref.json &&
	lake_sums ref >new &&
	changes_sums ref >new_changes &&
	sort new_changes >new_changes_sorted &&
	test -s new_changes &&
	! test_cmp old new
'

# crash_at STEP:N THREADS: crash there, check, rerun on THREADS threads
crash_at() {
	rm -rf c && cp -r base c &&
	TXNFLOW_CRASH_AT=$1 txnflow clean --threads $2 --data c --date 2025-09-02 >/dev/null 2>&1
	rc=$?
	[ $rc = 3 ] || [ $rc = 0 ] || { echo "exit $rc at $1"; return 1; }
	old_or_new c old new || return 1
	txnflow clean --threads $2 --data c --date 2025-09-02 >/dev/null &&
	lake_sums c >got && test_cmp new got &&
	changes_sums c >got && test_cmp new_changes got
}

test_expect_success 'injected exits at every commit step converge' '
	n_apply=$(grep -c "" new) &&
	for t in 1 2 8; do
		for s in stage:1 stage:2 journal:1 meta:1 done:1; do
			crash_at $s $t || return 1
		done
	done &&
	for t in 1 2 8; do
		for i in 1 $((n_apply / 2)) $((n_apply + 5)); do
			crash_at apply:$i $t || return 1
		done
	done &&
	txnflow audit --data c >/dev/null
'

test_expect_success 'a crash after commit is finished by the clean of another date' '
	rm -rf c && cp -r base c &&
	test_expect_code 3 env TXNFLOW_CRASH_AT=apply:2 "$TXNFLOW" clean --data c --date 2025-09-02 &&
	test_path_is_file c/.clean/journal.json &&
	txnflow clean --data c --date 2025-09-01 >/dev/null &&
	test_path_is_missing c/.clean/journal.json &&
	lake_sums c >got && test_cmp new got
'

test_expect_success 'kill -9 at random moments converges' '
	i=0 && while [ $i -lt ${CRASH_KILLS:-6} ]; do
		t=$(( i % 3 == 0 ? 1 : i % 3 == 1 ? 2 : 8 ))
		rm -rf k && cp -r base k || return 1
		"$TXNFLOW" clean --threads $t --data k --date 2025-09-02 >/dev/null 2>&1 &
		pid=$!
		sleep 0.$(( (RANDOM % 9) + 1 ))$((RANDOM % 10)) &&
		kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
		old_or_new k old new || return 1
		txnflow clean --threads $t --data k --date 2025-09-02 >/dev/null || return 1
		lake_sums k >got && test_cmp new got || return 1
		changes_sums k >got && test_cmp new_changes got || return 1
		i=$((i + 1))
	done
'

test_done
