#!/bin/bash
# A failed run says why: each failed attempt records its first error line
# and its log in the metadata, and status, status --json, the on_failure
# alert's TXNFLOW_ERROR show it. A permanent failure (a compile error, a
# failed data test: exit 4) is not retried; a transient one (exit 1) is.
. "$(dirname "$0")/../lib/test-lib.sh"

# jcheck FILE EXPR: the JSON in FILE is j; EXPR must be true
jcheck() {
	node -e "const j = JSON.parse(require('fs').readFileSync('$1', 'utf8'));
		if (!($2)) { console.log(JSON.stringify(j, null, 1)); process.exit(1); }"
}

test_expect_success 'a project with retries and an alert' '
	txnflow init p >/dev/null &&
	sed -i "s/^  rows: .*/  rows: 300/" p/txnflow.yml &&
	cat >>p/txnflow.yml <<-\EOF
	retries: 2
	retry_delay: 30s
	on_failure: "printf \"%s\\n\" \"$TXNFLOW_ERROR\" >>../alerts"
	EOF
'

test_expect_success 'a compile error fails at once and every report names the cause' '
	echo "select * from {{ ref('"'"'nope'"'"') }}" >p/models/marts/bad.sql &&
	start=$(date +%s) &&
	test_expect_code 1 txnflow -C p run --date 2025-09-01 2>err &&
	test $(( $(date +%s) - start )) -lt 25 &&
	test "$(db "SELECT count(*) FROM task_attempts WHERE task = '"'"'models'"'"'")" = 1 &&
	db "SELECT state, exit_status, error FROM task_attempts WHERE task = '"'"'models'"'"'" >att &&
	test_grep "^failed|4|models/marts/bad.sql: ref(.nope.): no model or seed named .nope. (exit 4, permanent; log .*/logs/2025-09-01/models/attempt-1.log)$" att &&
	test_grep "not retried" err &&
	txnflow -C p status >status &&
	test_grep "2025-09-01: models: models/marts/bad.sql: ref(.nope.): no model or seed named .nope. (exit 4 after 1 attempt, not retried: permanent)" status &&
	test_grep "log: .*/logs/2025-09-01/models/attempt-1.log" status &&
	txnflow -C p status --json >s.json &&
	jcheck s.json "j.runs[0].error.includes(\"no model or seed named \\x27nope\\x27\") &&
		j.runs[0].tasks[2].error.includes(\"ref(\\x27nope\\x27)\") &&
		j.runs[0].tasks[2].attempt_list[0].exit_status === 4" &&
	test_line_count = 1 alerts &&
	test_grep "^models: models/marts/bad.sql: ref(.nope.): no model or seed named .nope." alerts &&
	rm p/models/marts/bad.sql
'

test_expect_success 'a failing data test is permanent: not retried, its rows in the log' '
	cat >p/tests/assert_no_sales.sql <<-\EOF &&
	select event_date, category from {{ ref("mart_sales_daily") }}
	EOF
	start=$(date +%s) &&
	test_expect_code 1 txnflow -C p run --date 2025-09-01 2>err &&
	test $(( $(date +%s) - start )) -lt 25 &&
	: the run resumed at models, which ran once more, and only once &&
	test "$(db "SELECT count(*) FROM task_attempts WHERE task = '"'"'models'"'"'")" = 2 &&
	log=$(db "SELECT log_path FROM task_attempts WHERE task = '"'"'models'"'"' ORDER BY attempt_id DESC LIMIT 1") &&
	test_grep "FAIL   assert_no_sales" "$log" &&
	test_grep "compiled SQL: target/compiled/tests/assert_no_sales.sql" "$log" &&
	test_grep "event_date *| category" "$log" &&
	test_path_is_file p/target/compiled/tests/assert_no_sales.sql &&
	txnflow -C p status >status &&
	test_grep "2025-09-01: models: FAIL assert_no_sales ([0-9]* failing rows) (exit 4 after 1 attempt, not retried: permanent)" status &&
	test_line_count = 2 alerts &&
	rm p/tests/assert_no_sales.sql
'

test_expect_success 'a transient failure (exit 1) is still retried' '
	cat >>p/txnflow.yml <<-\EOF &&
	tasks:
	  models: {command: "echo \"could not reach the warehouse\" >&2; exit 1", retry_delay: 10ms}
	EOF
	test_expect_code 1 txnflow -C p run --date 2025-09-02 2>err &&
	test "$(db "SELECT count(*) FROM task_attempts t JOIN runs r USING (run_id) WHERE r.logical_date = '"'"'2025-09-02'"'"' AND t.task = '"'"'models'"'"'")" = 3 &&
	txnflow -C p status >status &&
	test_grep "2025-09-02: models: could not reach the warehouse (exit 1 after 3 attempts)" status
'

test_done
