#!/bin/bash
# txnflow scheduler with a fake clock (--now) and fault-injecting tasks:
# catch-up in order, catchup off, the SLA miss alerted exactly once,
# kill -9 mid-run then restart, SIGTERM.
. "$(dirname "$0")/../lib/test-lib.sh"

# project [CLEAN-COMMAND]: start_date 2025-09-01, 06:00 KST, SLA 08:00
project() {
	rm -rf p journal alerts fixed && txnflow init p >/dev/null &&
	cat >>p/txnflow.yml <<-EOF
	retry_delay: 100ms
	on_sla_miss: "echo \"\$TXNFLOW_EVENT \$TXNFLOW_DATE \$TXNFLOW_STATE \$TXNFLOW_SLA_DEADLINE\" >>../alerts"
	tasks:
	  generate: {command: "echo \$TXNFLOW_DATE generate >>../journal"}
	  clean: {command: "${1:-echo \$TXNFLOW_DATE clean >>../journal}"}
	  models: {command: "echo \$TXNFLOW_DATE models >>../journal"}
	EOF
}

test_expect_success 'a due date runs; 3 missed days are caught up in order' '
	project &&
	txnflow -C p scheduler --once --now 2025-09-02T06:30:00+09:00 2>err &&
	printf "2025-09-01 generate\n2025-09-01 clean\n2025-09-01 models\n" >expect &&
	test_cmp expect journal &&
	: scheduler down for three days &&
	txnflow -C p scheduler --once --now 2025-09-05T06:30:00+09:00 2>err &&
	for d in 01 02 03 04; do
		printf "2025-09-$d generate\n2025-09-$d clean\n2025-09-$d models\n"
	done >expect &&
	test_cmp expect journal &&
	db "SELECT logical_date, kind, state FROM runs ORDER BY run_id" >actual &&
	printf "2025-09-0%s|scheduled|success\n" 1 2 3 4 >expect &&
	test_cmp expect actual &&
	: nothing is due twice &&
	txnflow -C p scheduler --once --now 2025-09-05T07:00:00+09:00 2>err &&
	test_line_count = 12 journal
'

test_expect_success 'before 06:00 the previous day is not due yet' '
	project &&
	txnflow -C p scheduler --once --now 2025-09-03T05:59:00+09:00 2>err &&
	test "$(db "SELECT group_concat(logical_date) FROM runs")" = "2025-09-01"
'

test_expect_success 'a scheduler first started late catches up from start_date' '
	project &&
	grep -q "^start_date: 2025-09-01" p/txnflow.yml &&
	txnflow -C p scheduler --once --now 2025-09-04T09:00:00+09:00 2>err &&
	test "$(db "SELECT group_concat(logical_date) FROM (SELECT logical_date FROM runs ORDER BY run_id)")" = "2025-09-01,2025-09-02,2025-09-03"
'

test_expect_success 'catchup: false runs only the latest due date' '
	project &&
	echo "catchup: false" >>p/txnflow.yml &&
	sed -i "/^catchup: true/d" p/txnflow.yml &&
	txnflow -C p scheduler --once --now 2025-09-05T06:30:00+09:00 2>err &&
	test "$(db "SELECT group_concat(logical_date) FROM runs")" = "2025-09-04"
'

test_expect_success 'a run not done by the SLA is recorded and alerted exactly once' '
	project "sleep 3; echo \$TXNFLOW_DATE clean >>../journal" &&
	txnflow -C p scheduler --once --now 2025-09-02T07:59:58+09:00 2>err &&
	test_grep "2025-09-01: SLA missed" err &&
	test "$(db "SELECT state FROM runs")" = success &&
	test "$(db "SELECT logical_date, deadline_us FROM sla_misses")" = "2025-09-01|1756767600000000" &&
	test_line_count = 1 alerts &&
	test_grep -E "^sla_miss 2025-09-01 (running|not started) 2025-09-01T23:00:00Z$" alerts &&
	: later passes do not alert again &&
	txnflow -C p scheduler --once --now 2025-09-02T09:00:00+09:00 2>err &&
	txnflow -C p scheduler --once --now 2025-09-02T10:00:00+09:00 2>err &&
	test_line_count = 1 alerts &&
	test "$(db "SELECT count(*), kind FROM alerts")" = "1|sla_miss" &&
	: a date done in time is no miss &&
	sed -i "s/sleep 3; //" p/txnflow.yml &&
	txnflow -C p scheduler --once --now 2025-09-03T06:05:00+09:00 2>err &&
	txnflow -C p scheduler --once --now 2025-09-03T09:00:00+09:00 2>err &&
	test "$(db "SELECT count(*) FROM sla_misses")" = 1 &&
	txnflow -C p status >status &&
	test_grep "2025-09-01.*SLA missed" status
'

test_expect_success 'a date that never ran by its deadline is a miss too' '
	project "exit 1" &&
	sed -i "s/retry_delay: 100ms/retry_delay: 10ms/" p/txnflow.yml &&
	txnflow -C p scheduler --once --now 2025-09-02T07:00:00+09:00 2>err &&
	test "$(db "SELECT state FROM runs")" = failed &&
	txnflow -C p scheduler --once --now 2025-09-02T08:01:00+09:00 2>err &&
	test_grep "^sla_miss 2025-09-01 failed " alerts &&
	test_line_count = 1 alerts
'

test_expect_success 'kill -9 of the scheduler mid-run, then restart: the run completes, nothing runs twice' '
	project "echo \$TXNFLOW_DATE clean-start >>../journal; test -f ../fixed || sleep 60; echo \$TXNFLOW_DATE clean >>../journal" &&
	{ "$TXNFLOW" -C p scheduler --now 2025-09-02T06:30:00+09:00 2>err1 & } &&
	spid=$! &&
	for i in $(seq 150); do grep -q clean-start journal 2>/dev/null && break; sleep 0.1; done &&
	tpid=$(db "SELECT pid FROM task_attempts WHERE task = '"'"'clean'"'"' AND state = '"'"'running'"'"'") &&
	test -n "$tpid" &&
	kill -9 $spid && { wait $spid; touch fixed; } &&
	gone $tpid &&
	test "$(db "SELECT state FROM runs")" = running &&
	txnflow -C p scheduler --once --now 2025-09-02T06:40:00+09:00 2>err2 &&
	test_grep "left running by a dead runner" err2 &&
	db "SELECT run_id, task, attempt, state FROM task_attempts ORDER BY attempt_id" >actual &&
	printf "1|generate|1|success\n1|clean|1|failed\n1|clean|2|success\n1|models|1|success\n" >expect &&
	test_cmp expect actual &&
	test "$(db "SELECT count(*), state FROM runs")" = "1|success" &&
	test "$(grep -c generate journal)" = 1 &&
	test "$(grep -c "clean$" journal)" = 1 &&
	test "$(grep -c models journal)" = 1 &&
	: the orphaned sleep of the killed attempt was killed with its process group,
	: which is the attempt pid, not some other sleep on the machine &&
	for i in $(seq 50); do pgrep -g $tpid >/dev/null || break; sleep 0.1; done &&
	! pgrep -g $tpid >/dev/null
'

test_expect_success 'SIGTERM: clean exit, the run is interrupted and resumed later' '
	project "echo \$TXNFLOW_DATE clean-start >>../journal; test -f ../fixed || sleep 60; echo \$TXNFLOW_DATE clean >>../journal" &&
	{ "$TXNFLOW" -C p scheduler --now 2025-09-02T06:30:00+09:00 2>err1 & } &&
	spid=$! &&
	for i in $(seq 150); do grep -q clean-start journal 2>/dev/null && break; sleep 0.1; done &&
	kill -TERM $spid &&
	wait $spid &&
	test_grep "scheduler: stopped" err1 &&
	test "$(db "SELECT state FROM runs")" = interrupted &&
	test "$(db "SELECT state, error FROM task_attempts WHERE task = '"'"'clean'"'"'")" = "failed|interrupted (the runner was asked to stop)" &&
	touch fixed &&
	txnflow -C p scheduler --once --now 2025-09-02T06:40:00+09:00 2>err2 &&
	test "$(db "SELECT count(*), state FROM runs")" = "1|success"
'

test_expect_success 'a bad schedule is a config error' '
	project &&
	sed -i "s/^schedule: .*/schedule: \"0 25 * * *\"/" p/txnflow.yml &&
	test_expect_code 4 txnflow -C p scheduler --once 2>err &&
	test_grep "txnflow.yml:[0-9]*:11: key .schedule.: bad hour field .25. in .0 25 \* \* \*." err &&
	test_expect_code 4 txnflow -C p status 2>err &&
	test_grep "txnflow.yml:[0-9]*:11: key .schedule.: bad hour field .25." err &&
	test_expect_code 2 txnflow -C p scheduler --now yesterday 2>err
'

test_done
