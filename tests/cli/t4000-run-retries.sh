#!/bin/bash
# txnflow run: retries with backoff, timeouts that kill the process group,
# resume at the failed task, --from-scratch, the per-date lock, late data
# passed to models, on_failure alerts. Tasks are fault-injecting shell
# commands (tasks.NAME.command), so this runs without the real stages.
. "$(dirname "$0")/../lib/test-lib.sh"

# project NAME: a project whose tasks journal what they do
project() {
	rm -rf p && txnflow init p >/dev/null &&
	sed -i "/^# retries/d; /^# retry_delay/d; /^# timeout/d; /^# on_failure/d; /^# on_sla_miss/d" p/txnflow.yml
}

test_expect_success 'a task that fails twice then succeeds: 3 attempts, backoff recorded' '
	project &&
	cat >>p/txnflow.yml <<-\EOF &&
	retry_delay: 200ms
	retry_backoff: 2
	tasks:
	  generate: {command: "echo generate $TXNFLOW_DATE >>../journal"}
	  clean:
	    command: "n=$(cat ../count 2>/dev/null || echo 0); n=$((n+1)); echo $n >../count; echo clean try $n; test $n -ge 3"
	    retries: 2
	  models: {command: "echo models $TXNFLOW_DATES >>../journal"}
	EOF
	txnflow -C p run --date 2025-09-01 >out 2>err &&
	test_grep "2025-09-01: success" out &&
	db "SELECT task, attempt, state, exit_status FROM task_attempts ORDER BY attempt_id" >actual &&
	cat >expect <<-\EOF &&
	generate|1|success|0
	clean|1|up_for_retry|1
	clean|2|up_for_retry|1
	clean|3|success|0
	models|1|success|0
	EOF
	test_cmp expect actual &&
	db "SELECT retry_at_us - ended_at_us FROM task_attempts WHERE task = '"'"'clean'"'"' AND state = '"'"'up_for_retry'"'"' ORDER BY attempt" >delays &&
	# the planned delays: 200ms then 400ms (backoff 2), within 50 ms
	awk "NR==1 && (\$1 < 150000 || \$1 > 250000) {exit 1} NR==2 && (\$1 < 350000 || \$1 > 450000) {exit 1}" delays &&
	# and the next attempt did wait that long
	db "SELECT b.started_at_us - a.ended_at_us FROM task_attempts a JOIN task_attempts b ON b.task = a.task AND b.attempt = a.attempt + 1 WHERE a.task = '"'"'clean'"'"' ORDER BY a.attempt" >gaps &&
	awk "NR==1 && \$1 < 190000 {exit 1} NR==2 && \$1 < 390000 {exit 1}" gaps &&
	test_grep "clean try 2" p/data/logs/2025-09-01/clean/attempt-2.log &&
	test_grep "clean try 3" p/data/logs/2025-09-01/clean/attempt-3.log &&
	test "$(db "SELECT state FROM runs")" = success &&
	txnflow -C p status >status &&
	test_grep "2025-09-01" status
'

test_expect_success 'a second run of a successful date does nothing' '
	txnflow -C p run --date 2025-09-01 >out &&
	test_grep "already succeeded" out &&
	test "$(grep -c generate journal)" = 1
'

test_expect_success 'a hung task is killed by its timeout, with its whole process group' '
	project &&
	cat >>p/txnflow.yml <<-\EOF &&
	tasks:
	  generate: {command: "true"}
	  clean:
	    command: "sleep 60 & echo $! >../bgpid; sleep 60"
	    timeout: 3s
	    retries: 0
	  models: {command: "true"}
	EOF
	start=$(date +%s) &&
	test_expect_code 1 txnflow -C p run --date 2025-09-01 2>err &&
	test $(( $(date +%s) - start )) -lt 60 &&
	test_grep "timed out after 3.0s" err &&
	db "SELECT task, state FROM task_attempts ORDER BY attempt_id" >actual &&
	printf "generate|success\nclean|failed\nmodels|skipped\n" >expect &&
	test_cmp expect actual &&
	test "$(db "SELECT state FROM runs")" = failed &&
	bg=$(cat bgpid) &&
	gone $bg &&
	test_grep "process group" p/data/logs/2025-09-01/clean/attempt-1.log
'

test_expect_success 'a rerun of a failed date resumes at the failed task' '
	sed -i "s/command: \"sleep 60 & echo .*/command: \"echo fixed\"/; s/timeout: 3s/timeout: 1m/" p/txnflow.yml &&
	txnflow -C p run --date 2025-09-01 >out 2>err &&
	test_grep "resuming run 1 at task clean" err &&
	db "SELECT run_id, task, attempt, state FROM task_attempts WHERE state != '"'"'skipped'"'"' ORDER BY attempt_id" >actual &&
	printf "1|generate|1|success\n1|clean|1|failed\n1|clean|2|success\n1|models|1|success\n" >expect &&
	test_cmp expect actual &&
	test "$(db "SELECT count(*), state FROM runs")" = "1|success"
'

test_expect_success '--from-scratch starts a new run of every task' '
	txnflow -C p run --date 2025-09-01 --from-scratch >out &&
	test "$(db "SELECT count(*) FROM task_attempts WHERE run_id = 2")" = 3 &&
	test "$(db "SELECT attempt FROM task_attempts WHERE run_id = 2 AND task = '"'"'clean'"'"'")" = 3 &&
	test_path_is_file p/data/logs/2025-09-01/clean/attempt-3.log
'

test_expect_success 'two concurrent runs of one date: the second refuses' '
	project &&
	cat >>p/txnflow.yml <<-\EOF &&
	tasks:
	  generate: {command: "touch ../started; for i in $(seq 300); do test -f ../release && break; sleep 0.1; done"}
	  clean: {command: "true"}
	  models: {command: "true"}
	EOF
	{ "$TXNFLOW" -C p run --date 2025-09-02 >out1 2>err1 & } &&
	pid=$! &&
	for i in $(seq 100); do test -f started && break; sleep 0.1; done &&
	test_expect_code 1 txnflow -C p run --date 2025-09-02 2>err2 &&
	test_grep "2025-09-02: a run of this date is already in progress" err2 &&
	test_grep "held by pid" err2 &&
	touch release &&
	wait $pid &&
	test_grep success out1 &&
	test "$(db "SELECT count(*) FROM runs")" = 1
'

test_expect_success 'a run killed with -9 leaves no lock; the next run resumes' '
	project &&
	cat >>p/txnflow.yml <<-\EOF &&
	retry_delay: 100ms
	tasks:
	  generate: {command: "echo generate >>../journal"}
	  clean: {command: "echo clean-start >>../journal; test -f ../fixed || sleep 60; echo clean-end >>../journal"}
	  models: {command: "true"}
	EOF
	rm -f journal &&
	{ "$TXNFLOW" -C p run --date 2025-09-03 2>err & } &&
	pid=$! &&
	for i in $(seq 100); do grep -q clean-start journal 2>/dev/null && break; sleep 0.1; done &&
	kill -9 $pid && { wait $pid; touch fixed; } &&
	test "$(db "SELECT state FROM task_attempts WHERE task = '"'"'clean'"'"'")" = running &&
	txnflow -C p run --date 2025-09-03 2>err &&
	test_grep "left running by a dead runner" err &&
	db "SELECT task, attempt, state FROM task_attempts ORDER BY attempt_id" >actual &&
	printf "generate|1|success\nclean|1|failed\nclean|2|success\nmodels|1|success\n" >expect &&
	test_cmp expect actual &&
	test "$(grep -c generate journal)" = 1 &&
	test "$(grep -c clean-end journal)" = 1
'

test_expect_success 'late data: the dates clean rewrote are passed to models' '
	project &&
	cat >>p/txnflow.yml <<-\EOF &&
	tasks:
	  generate: {command: "true"}
	  clean: {command: "echo progress on stderr >&2; printf \"{\\n  \\\"inserted\\\": 5,\\n  \\\"partitions_rewritten\\\": [\\\"2025-09-09\\\", \\\"2025-09-07\\\", \\\"2025-09-10\\\"]\\n}\\n\""}
	  models: {command: "echo \"$TXNFLOW_DATES\" >../dates"}
	EOF
	txnflow -C p run --date 2025-09-10 &&
	echo "2025-09-07 2025-09-09 2025-09-10" >expect &&
	test_cmp expect dates
'

test_expect_success 'a failed run calls on_failure with the details' '
	project &&
	cat >>p/txnflow.yml <<-\EOF &&
	on_failure: "echo \"$TXNFLOW_EVENT $TXNFLOW_DATE run=$TXNFLOW_RUN_ID task=$TXNFLOW_TASK state=$TXNFLOW_STATE log=$TXNFLOW_LOG err=$TXNFLOW_ERROR\" >>../alerts"
	tasks:
	  generate: {command: "exit 5", retries: 1, retry_delay: 10ms}
	EOF
	test_expect_code 1 txnflow -C p run --date 2025-09-04 2>err &&
	test_grep "generate: exit 5 after 2 attempts" err &&
	test_line_count = 1 alerts &&
	test_grep "failure 2025-09-04 run=1 task=generate state=failed log=.*/logs/2025-09-04/generate/attempt-2.log err=generate: exit 5 after 2 attempts" alerts &&
	test "$(db "SELECT kind, exit_status FROM alerts")" = "failure|0"
'

test_expect_success 'TXNFLOW_LOG_LEVEL reaches the txnflow a task runs; TXNFLOW_LOG is the attempt log' '
	project &&
	rm -rf q && txnflow init q >/dev/null &&
	cat >>q/txnflow.yml <<-\EOF &&
	tasks:
	  generate: {command: "true"}
	  clean: {command: "true"}
	  models: {command: "true"}
	EOF
	cat >>p/txnflow.yml <<-\EOF &&
	tasks:
	  generate: {command: "echo \"level=$TXNFLOW_LOG_LEVEL log=$TXNFLOW_LOG\" >../env"}
	  clean: {command: "\"$TXNFLOW_BIN\" -C ../q run --date $TXNFLOW_DATE"}
	  models: {command: "true"}
	EOF
	TXNFLOW_LOG_LEVEL=debug txnflow -C p run --date 2025-09-06 2>err &&
	test_grep "^level=debug log=.*/p/data/logs/2025-09-06/generate/attempt-1.log$" env &&
	test_grep "2025-09-06 generate: attempt 1 started" p/data/logs/2025-09-06/clean/attempt-1.log &&
	TXNFLOW_LOG_LEVEL=info txnflow -C p run --date 2025-09-07 2>err &&
	test_grep "^level=info log=.*/p/data/logs/2025-09-07/generate/attempt-1.log$" env &&
	! grep "attempt 1 started" p/data/logs/2025-09-07/clean/attempt-1.log &&
	TXNFLOW_LOG_LEVEL=loud test_expect_code 2 txnflow -C p status 2>err &&
	test_grep "TXNFLOW_LOG_LEVEL=.loud. is not one of error, warn, info, debug" err
'

# jcheck FILE EXPR: the JSON in FILE is j; EXPR must be true
jcheck() {
	node -e "const j = JSON.parse(require('fs').readFileSync('$1', 'utf8'));
		if (!($2)) { console.log(JSON.stringify(j, null, 1)); process.exit(1); }"
}

test_expect_success 'run --json: the run with each task state, attempts and durations' '
	project &&
	cat >>p/txnflow.yml <<-\EOF &&
	retry_delay: 10ms
	tasks:
	  generate: {command: "true"}
	  clean: {command: "n=$(cat ../jcount 2>/dev/null || echo 0); n=$((n+1)); echo $n >../jcount; test $n -ge 2", retries: 1}
	  models: {command: "test ! -f ../jfail"}
	EOF
	txnflow -C p run --date 2025-09-08 --json >out.json 2>err &&
	jcheck out.json "j.dates === 1 && j.from === \"2025-09-08\" && j.succeeded === 1 &&
		j.failed === 0 && j.already_done === 0 && j.first_failure === null &&
		j.elapsed_s > 0 && j.runs.length === 1 && j.runs[0].run_id === 1 &&
		j.runs[0].logical_date === \"2025-09-08\" && j.runs[0].state === \"success\" &&
		j.runs[0].tasks.map(t => t.task + \":\" + t.state + \":\" + t.attempts).join() ===
			\"generate:success:1,clean:success:2,models:success:1\" &&
		j.runs[0].tasks[1].attempt_list[0].state === \"up_for_retry\" &&
		j.runs[0].tasks.every(t => typeof t.duration_s === \"number\")" &&
	txnflow -C p run --date 2025-09-08 --json >again.json &&
	jcheck again.json "j.already_done === 1 && j.runs[0].run_id === 1" &&
	touch jfail &&
	test_expect_code 1 txnflow -C p run --date 2025-09-09 --json >fail.json 2>err &&
	test_grep "2025-09-09: failed: 2025-09-09 models: exit 1" err &&
	jcheck fail.json "j.failed === 1 && j.first_failure.includes(\"models\") &&
		j.runs[0].state === \"failed\" && j.runs[0].tasks[2].state === \"failed\""
'

test_expect_success 'the real DAG runs the txnflow subcommands end to end' '
	project &&
	cat >>p/txnflow.yml <<-\EOF &&
	retries: 0
	EOF
	txnflow -C p run --date 2025-09-05 >out 2>err &&
	test_grep "2025-09-05: success" out &&
	head -1 p/data/logs/2025-09-05/generate/attempt-1.log >hdr &&
	test_grep "txnflow -C .*/p generate --date 2025-09-05 --rows 5000 --seed 42 --if-missing" hdr &&
	test_path_is_file p/data/logs/2025-09-05/clean/attempt-1.log &&
	test_path_is_file p/data/logs/2025-09-05/models/attempt-1.log &&
	txnflow -C p audit >audit.out &&
	txnflow -C p sql "SELECT count(*) > 0 AS ok FROM mart_sales_daily" >m &&
	test_grep "^true$" m
'

test_expect_success 'usage errors' '
	test_expect_code 2 txnflow -C p run 2>err &&
	test_grep "date D is required" err &&
	test_expect_code 2 txnflow -C p run --date 2025-02-30 2>err &&
	test_expect_code 2 txnflow -C p run --date 2025-09-01 --kind cron 2>err &&
	test_grep "expected manual" err
'

test_done
