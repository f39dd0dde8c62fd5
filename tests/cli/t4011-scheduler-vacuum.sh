#!/bin/bash
# The scheduler applies retention: once a day (issue 21): after the day's
# run, when nothing else is due, `lake vacuum` runs as the task "vacuum"
# of that run (an attempt with its log), under the lake's (clean's) lock;
# once per day, also after a catch-up of several; a vacuum that finds the
# lake locked fails and is tried again ten minutes later; `vacuum: off`
# and a project without retention: run none.
. "$(dirname "$0")/../lib/test-lib.sh"

# project [RETENTION-LINES]: start_date 2025-09-01, 06:00 KST; real
# generate and clean, the models a no-op (not what this is about)
project() {
	rm -rf p && txnflow init p >/dev/null &&
	sed -i "s/^  rows: 5000 .*/  rows: 200/" p/txnflow.yml &&
	cat >>p/txnflow.yml <<-EOF
	retry_delay: 100ms
	tasks:
	  models: {command: "true"}
	EOF
	if [ -n "$1" ]; then printf "retention:\n$1" >>p/txnflow.yml; fi
}
vacuums() {
	db "SELECT r.logical_date, a.attempt, a.state FROM task_attempts a JOIN runs r USING (run_id) WHERE a.task = 'vacuum' ORDER BY a.attempt_id"
}
batches() {
	ls p/data/bronze/transactions | tr "\n" " "
}

test_expect_success 'after the day'"'"'s run, one vacuum, recorded as its task with a log' '
	project "  bronze: 2d\n" &&
	txnflow -C p scheduler --once --now 2025-09-02T06:30:00+09:00 2>err &&
	test "$(db "SELECT state FROM runs")" = success &&
	test "$(vacuums)" = "2025-09-01|1|success" &&
	test_grep "2025-09-01: vacuum done" err &&
	log=$(db "SELECT log_path FROM task_attempts WHERE task = '"'"'vacuum'"'"'") &&
	test "$log" = "$PWD/p/data/logs/2025-09-01/vacuum/attempt-1.log" &&
	tr -d " \n" <"$log" | grep -q "\"bronze_removed\":\[\]" &&
	test "$(batches)" = "ingest_date=2025-09-01 " &&
	: once a day: nothing new is due, so no second vacuum &&
	txnflow -C p scheduler --once --now 2025-09-02T09:00:00+09:00 2>err &&
	test "$(vacuums)" = "2025-09-01|1|success"
'

test_expect_success 'a catch-up of three days vacuums once, after the last, by the rule' '
	: 2025-09-04T21:30Z: a batch of 09-01 kept 2 days is gone, 09-02 not yet &&
	txnflow -C p scheduler --once --now 2025-09-05T06:30:00+09:00 2>err &&
	db "SELECT logical_date, state FROM runs ORDER BY run_id" >actual &&
	printf "2025-09-0%s|success\n" 1 2 3 4 >expect &&
	test_cmp expect actual &&
	printf "2025-09-01|1|success\n2025-09-04|1|success\n" >expect &&
	vacuums >actual &&
	test_cmp expect actual &&
	test "$(batches)" = "ingest_date=2025-09-02 ingest_date=2025-09-03 ingest_date=2025-09-04 " &&
	tr -d " \n" <p/data/logs/2025-09-04/vacuum/attempt-1.log |
		grep -q "\"bronze_removed\":\[\"2025-09-01\"\]"
'

test_expect_success 'the lake locked by a clean: the vacuum fails, and is tried again 10 minutes later' '
	: the run of the day done by hand, then a clean holds the lake when the scheduler comes &&
	TXNFLOW_NOW=2025-09-06T06:30:00+09:00 txnflow -C p run --date 2025-09-05 --kind scheduled >/dev/null 2>&1 &&
	exec {lockfd}>p/data/.clean.lock &&
	flock -n $lockfd &&
	txnflow -C p scheduler --once --now 2025-09-06T06:30:00+09:00 2>err &&
	test "$(db "SELECT state FROM runs ORDER BY run_id DESC LIMIT 1")" = success &&
	test "$(vacuums | tail -1)" = "2025-09-05|1|failed" &&
	test_grep "2025-09-05: vacuum failed" err &&
	test_grep "another clean is running" p/data/logs/2025-09-05/vacuum/attempt-1.log &&
	test "$(batches)" = "ingest_date=2025-09-02 ingest_date=2025-09-03 ingest_date=2025-09-04 ingest_date=2025-09-05 " &&
	: 5 minutes later, not yet &&
	txnflow -C p scheduler --once --now 2025-09-06T06:35:00+09:00 2>err &&
	test "$(vacuums | tail -1)" = "2025-09-05|1|failed" &&
	: the clean ends &&
	exec {lockfd}>&- &&
	txnflow -C p scheduler --once --now 2025-09-06T06:41:00+09:00 2>err &&
	test "$(vacuums | tail -1)" = "2025-09-05|2|success" &&
	test "$(batches)" = "ingest_date=2025-09-03 ingest_date=2025-09-04 ingest_date=2025-09-05 "
'

test_expect_success 'vacuum: off, or no retention: no vacuum' '
	project "  bronze: 2d\n  vacuum: off\n" &&
	txnflow -C p scheduler --once --now 2025-09-05T06:30:00+09:00 2>err &&
	test "$(db "SELECT count(*) FROM runs WHERE state = '"'"'success'"'"'")" = 4 &&
	test -z "$(vacuums)" &&
	test "$(batches)" = "ingest_date=2025-09-01 ingest_date=2025-09-02 ingest_date=2025-09-03 ingest_date=2025-09-04 " &&
	project &&
	txnflow -C p scheduler --once --now 2025-09-03T06:30:00+09:00 2>err &&
	test "$(db "SELECT count(*) FROM runs WHERE state = '"'"'success'"'"'")" = 2 &&
	test -z "$(vacuums)"
'

test_expect_success 'a bad retention: stops the scheduler with file, line and key' '
	project "  bronze: 2 days\n" &&
	test_expect_code 4 txnflow -C p scheduler --once --now 2025-09-02T06:30:00+09:00 2>err &&
	test_grep "txnflow.yml:[0-9]*:[0-9]*: retention.bronze: .2 days." err
'

test_done
