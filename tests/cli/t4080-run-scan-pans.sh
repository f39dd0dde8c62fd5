#!/bin/bash
# The daily DAG of a feed with card numbers (feed.pan) ends with scan_pans:
# scan-pans on what the run wrote (files changed since the run started),
# failing the run on a finding. The stages are shell commands here
# (tasks.NAME.command), so the test is about the task, not clean.
. "$(dirname "$0")/../lib/test-lib.sh"

# project CLEAN_SCRIPT: feed.pan on, clean is the shell script given
project() {
	rm -rf p && txnflow init p >/dev/null &&
	printf "%s\n" "$1" >clean.sh &&
	sed -i "s/^  rows: 5000 .*/  rows: 200\n  pan: true/" p/txnflow.yml &&
	cat >>p/txnflow.yml <<-EOF
	retries: 0
	tasks:
	  clean: {command: "sh ../clean.sh"}
	  models: {enabled: false}
	EOF
}

test_expect_success 'a clean run: scan_pans passes, bronze (with card numbers) left out' '
	project "echo clean >\$TXNFLOW_DATA_DIR/note.txt" &&
	txnflow -C p run --date 2025-09-01 >out 2>err &&
	test_grep "2025-09-01: success" out &&
	db "SELECT task, state FROM task_attempts ORDER BY attempt_id" >actual &&
	printf "generate|success\nclean|success\nscan_pans|success\n" >expect &&
	test_cmp expect actual &&
	log=p/data/logs/2025-09-01/scan_pans/attempt-1.log &&
	test_grep "scan-pans --newer-than .*/logs/2025-09-01/run.started" $log &&
	test_grep "^scan-pans: 0 card numbers in [1-9][0-9]* files scanned" $log &&
	# the bronze batch has them; the scan did not read it
	txnflow scan-pans --include-bronze p/data >all || test $? = 1 &&
	test_grep "card numbers in" all && ! test_grep "^scan-pans: 0 " all
'

test_expect_success 'a card number written by the run fails it, masked in the log' '
	project "printf \"id,note\\n1,card 4111 1111 1111 1111\\n\" >\$TXNFLOW_DATA_DIR/leak.csv" &&
	# written before the run: not what the run wrote, so not its finding
	mkdir -p p/data && printf "5555555555554444\n" >p/data/old.txt &&
	touch -d "2020-01-01" p/data/old.txt &&
	test_expect_code 1 txnflow -C p run --date 2025-09-01 >out 2>err &&
	db "SELECT task, state FROM task_attempts ORDER BY attempt_id" >actual &&
	printf "generate|success\nclean|success\nscan_pans|failed\n" >expect &&
	test_cmp expect actual &&
	log=p/data/logs/2025-09-01/scan_pans/attempt-1.log &&
	test_grep "leak.csv: line 2, column 8: 411111\*\*\*\*\*\*1111$" $log &&
	test_grep "^scan-pans: 1 card number in" $log &&
	! grep -q old.txt $log &&
	! grep -r "4111 1111 1111 1111" p/data/logs p/data/txnflow.db &&
	# the whole project, without --newer-than, has both
	test_expect_code 1 txnflow -C p scan-pans >all &&
	test_grep "old.txt: line 1, column 1: 555555\*\*\*\*\*\*4444" all
'

test_done
