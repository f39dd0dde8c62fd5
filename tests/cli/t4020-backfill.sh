#!/bin/bash
# txnflow backfill with fault-injecting tasks: what runs in parallel and
# what is serialized, failure stops later dates' lake tasks, resume after a
# failure, idempotence, and the date locks.
. "$(dirname "$0")/../lib/test-lib.sh"

# Each task journals its start and end (with the date). With "pair",
# generate waits (up to 10 s) until two generates have started, which
# only parallel slots allow.
project() {
	if [ "${1:-}" = pair ]; then
		echo 'touch ../gen-$TXNFLOW_DATE; for i in $(seq 100); do test $(ls ../gen-* | wc -l) -ge 2 && break; sleep 0.1; done' >wait.sh
	else
		echo 'sleep 0.3' >wait.sh
	fi
	rm -rf p journal gen-* && txnflow init p >/dev/null &&
	cat >>p/txnflow.yml <<-\EOF
	retries: 0
	tasks:
	  generate: {command: "echo start generate $TXNFLOW_DATE >>../journal; . ../wait.sh; echo end generate $TXNFLOW_DATE >>../journal"}
	  clean: {command: "echo start clean $TXNFLOW_DATE >>../journal; test ! -f ../fail-$TXNFLOW_DATE; rc=$?; sleep 0.05; echo end clean $TXNFLOW_DATE >>../journal; exit $rc"}
	  models: {command: "echo start models $TXNFLOW_DATE >>../journal; sleep 0.05; echo end models $TXNFLOW_DATE >>../journal"}
	EOF
}

# check_lake JOURNAL: clean/models never overlap and run in date order
check_lake() {
	grep -E " (clean|models) " "$1" | awk '
		$1 == "start" { if (open) { print "overlap: " $0; bad = 1 } open = 1
		                key = $3 " " ($2 == "clean" ? 0 : 1)
		                if (key < last) { print "out of order: " $0; bad = 1 }
		                last = key }
		$1 == "end" { open = 0 }
		END { exit bad }'
}

test_expect_success 'parallel backfill: generates overlap, lake tasks serialized in date order' '
	project pair &&
	txnflow -C p backfill --from 2025-09-01 --to 2025-09-06 --parallel 2 >out 2>err &&
	test_grep "6 date(s): 6 succeeded, 0 already done, 0 failed" out &&
	check_lake journal &&
	test "$(grep -c "^end models" journal)" = 6 &&
	: two generates were running at the same time at some point &&
	awk "/ generate /{ if (\$1 == \"start\") n++; else n--; if (n > max) max = n } END { exit !(max >= 2) }" journal &&
	db "SELECT DISTINCT kind, state FROM runs" >actual &&
	echo "backfill|success" >expect &&
	test_cmp expect actual
'

test_expect_success 'parallel backfill batches models: one build stands for waiting dates' '
	project pair &&
	sed -i "/^  models:/d" p/txnflow.yml &&
	cat >>p/txnflow.yml <<-\EOF &&
	  models: {batch: true, retries: 1, retry_delay: 100ms, command: "echo start models $TXNFLOW_DATE $TXNFLOW_DATES >>../journal; test ! -f ../fail-models; rc=$?; sleep 0.05; echo end models $TXNFLOW_DATE >>../journal; exit $rc"}
	EOF
	txnflow -C p backfill --from 2025-09-01 --to 2025-09-06 --parallel 2 >out 2>err &&
	test_grep "6 date(s): 6 succeeded" out &&
	check_lake journal &&
	: fewer builds than dates, and every date was in one build s TXNFLOW_DATES &&
	test "$(grep -c "^start models" journal)" -lt 6 &&
	for d in 01 02 03 04 05 06; do
		grep "^start models" journal | grep -q " 2025-09-$d" || return 1
	done &&
	: the last build ran as the last date &&
	grep "^start models" journal | tail -1 | grep -q "^start models 2025-09-06 " &&
	test "$(db "SELECT count(*) FROM task_attempts WHERE task = '"'"'models'"'"' AND state = '"'"'success'"'"'")" = 6 &&
	: with --parallel 1 each date has its own build &&
	: >journal &&
	txnflow -C p backfill --from 2025-09-07 --to 2025-09-09 --parallel 1 >out 2>err &&
	test "$(grep -c "^start models" journal)" = 3 &&
	: a failing batched build fails every date it stood for, after its retry &&
	touch fail-models && : >journal &&
	test_expect_code 1 txnflow -C p backfill --from 2025-09-10 --to 2025-09-12 --parallel 2 >out 2>err &&
	test_grep "0 succeeded, 0 already done, 3 failed" out &&
	test_grep "failed: 2025-09-10 models: exit 1 after 2 attempts" err &&
	test "$(grep -c "^start models 2025-09-12 2025-09-10 2025-09-11 2025-09-12" journal)" = 2 &&
	test "$(db "SELECT count(*) FROM task_attempts a JOIN runs r USING(run_id) WHERE r.logical_date >= '"'"'2025-09-10'"'"' AND a.task = '"'"'models'"'"' AND a.state = '"'"'failed'"'"'")" = 3 &&
	rm fail-models &&
	txnflow -C p backfill --from 2025-09-10 --to 2025-09-12 --parallel 2 >out 2>err &&
	test_grep "3 succeeded" out
'

test_expect_success 'sequential backfill runs one task at a time' '
	project &&
	txnflow -C p backfill --from 2025-09-01 --to 2025-09-03 --parallel 1 >out 2>err &&
	awk "\$1 == \"start\" { if (open) exit 1; open = 1 } \$1 == \"end\" { open = 0 }" journal &&
	test "$(grep -c "^start" journal)" = 9
'

test_expect_success 'a failed date stops later dates; a second backfill resumes; a third does nothing' '
	project &&
	touch fail-2025-09-03 &&
	test_expect_code 1 txnflow -C p backfill --from 2025-09-01 --to 2025-09-05 >out 2>err &&
	test_grep "2 succeeded, 0 already done, 3 failed" out &&
	test_grep "failed: 2025-09-03 clean: exit 1" err &&
	check_lake journal &&
	! grep -q "start clean 2025-09-04" journal &&
	test "$(db "SELECT error FROM runs WHERE logical_date = '"'"'2025-09-04'"'"'")" = "not run: 2025-09-03 failed first" &&
	rm fail-2025-09-03 && : >journal &&
	txnflow -C p backfill --from 2025-09-01 --to 2025-09-05 >out 2>err &&
	test_grep "3 succeeded, 2 already done, 0 failed" out &&
	! grep -q "generate 2025-09-0[1-3]" journal &&
	grep "^start" journal >started &&
	printf "start clean 2025-09-03\nstart models 2025-09-03\n" >expect &&
	head -2 started >actual && test_cmp expect actual &&
	test "$(db "SELECT count(DISTINCT run_id) FROM runs")" = 5 &&
	: >journal &&
	txnflow -C p backfill --from 2025-09-01 --to 2025-09-05 >out 2>err &&
	test_grep "0 succeeded, 5 already done, 0 failed" out &&
	test_line_count = 0 journal &&
	txnflow -C p status --last 3 >status &&
	test_line_count = 4 status
'

test_expect_success 'a date held by another run: backfill refuses and runs nothing' '
	project &&
	echo "touch ../gen-started; for i in \$(seq 300); do test -f ../release && break; sleep 0.1; done" >wait.sh &&
	{ "$TXNFLOW" -C p run --date 2025-09-02 >/dev/null 2>&1 & } &&
	pid=$! &&
	for i in $(seq 100); do test -f gen-started && break; sleep 0.1; done &&
	test_expect_code 1 txnflow -C p backfill --from 2025-09-01 --to 2025-09-03 2>err &&
	test_grep "2025-09-02: a run of this date is already in progress" err &&
	touch release &&
	wait $pid &&
	test "$(db "SELECT group_concat(logical_date) FROM runs")" = "2025-09-02"
'

test_expect_success 'landed feed: the sensor waits for the manifest, or times out' '
	project &&
	cat >>p/txnflow.yml <<-\EOF &&
	  sensor: {retries: 0}
	EOF
	sed -i "s/^  kind: synthetic/  kind: landed\n  poke_interval: 50ms\n  sensor_timeout: 20s/" p/txnflow.yml &&
	m=p/data/bronze/transactions/ingest_date=2025-09-02 &&
	l=p/data/logs/2025-09-02/sensor/attempt-1.log &&
	{ (for i in $(seq 200); do grep -q "not yet" $l 2>/dev/null && break; sleep 0.05; done
	   mkdir -p $m; echo {} >$m/_manifest.json) & } &&
	txnflow -C p backfill --from 2025-09-02 --to 2025-09-02 >out 2>err &&
	wait &&
	test "$(db "SELECT task FROM task_attempts ORDER BY attempt_id LIMIT 1")" = sensor &&
	test_grep "found" p/data/logs/2025-09-02/sensor/attempt-1.log &&
	test_grep "not yet" p/data/logs/2025-09-02/sensor/attempt-1.log &&
	sed -i "s/sensor_timeout: 20s/sensor_timeout: 300ms/" p/txnflow.yml &&
	test_expect_code 1 txnflow -C p run --date 2025-09-03 2>err &&
	test_grep "sensor timed out after 0.3s waiting for .*ingest_date=2025-09-03/_manifest.json" err
'

test_expect_success 'usage errors' '
	test_expect_code 2 txnflow -C p backfill --from 2025-09-02 2>err &&
	test_expect_code 2 txnflow -C p backfill --from 2025-09-02 --to 2025-09-01 2>err &&
	test_grep "before" err &&
	test_expect_code 2 txnflow -C p backfill --from 2025-09-01 --to 2025-09-02 --parallel 0 2>err
'

test_expect_success 'backfill --json: each date'"'"'s run, oldest first' '
	project &&
	txnflow -C p backfill --from 2025-09-01 --to 2025-09-03 --json >out.json 2>err &&
	node -e "const j = JSON.parse(require(\"fs\").readFileSync(\"out.json\", \"utf8\"));
		const ok = j.dates === 3 && j.succeeded === 3 && j.failed === 0 &&
			j.runs.map(r => r.logical_date).join() === \"2025-09-01,2025-09-02,2025-09-03\" &&
			j.runs.every(r => r.state === \"success\" && r.kind === \"backfill\" &&
				r.tasks.filter(t => t.task === \"clean\" && t.attempts === 1).length === 1);
		if (!ok) { console.log(JSON.stringify(j)); process.exit(1); }"
'

test_done
