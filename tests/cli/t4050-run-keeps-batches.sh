#!/bin/bash
# The orchestrator never replaces a bronze batch that exists: run and
# backfill generate only the missing days (generate --if-missing), so a
# batch made by hand with other rates and already cleaned stays as it is and
# the audit still passes. --regenerate is the one way to replace it (with
# the project's feed settings); it cleans and builds again.
. "$(dirname "$0")/../lib/test-lib.sh"

sums() { (cd p/data/bronze && sha256sum */*/*); }

test_expect_success 'a batch generated and cleaned by hand' '
	txnflow init p >/dev/null &&
	sed -i "s/^  rows: .*/  rows: 300/" p/txnflow.yml &&
	txnflow -C p generate --date 2025-09-03 --late-rate 0.3 >/dev/null &&
	txnflow -C p clean --date 2025-09-03 >/dev/null &&
	sums >before
'

test_expect_success 'backfill keeps it; the audit still passes' '
	txnflow -C p backfill --from 2025-09-02 --to 2025-09-03 >out &&
	test_grep "2 succeeded" out &&
	sums >after &&
	grep 2025-09-03 before >b3 && grep 2025-09-03 after >a3 &&
	test_cmp b3 a3 &&
	test_path_is_dir p/data/bronze/transactions/ingest_date=2025-09-02 &&
	test_grep -- "--if-missing" p/data/logs/2025-09-03/generate/attempt-1.log &&
	test_grep "ingest_date=2025-09-03: the batch exists; kept" p/data/logs/2025-09-03/generate/attempt-1.log &&
	head -1 p/data/logs/2025-09-03/generate/attempt-1.log >cmd &&
	! grep -e "--force" cmd &&
	txnflow -C p audit >audit.out &&
	test_grep "audit: ok" audit.out
'

test_expect_success 'run --from-scratch keeps it too' '
	txnflow -C p run --date 2025-09-03 --from-scratch >out &&
	sums | grep 2025-09-03 >a3 &&
	test_cmp b3 a3 &&
	txnflow -C p audit >audit.out &&
	test_grep "audit: ok" audit.out
'

test_expect_success 'generate --if-missing alone: the existing day is kept, the missing one made' '
	txnflow -C p generate --date 2025-09-03 --days 2 --if-missing --json >gen.json &&
	test_grep "\"kept\": true" gen.json &&
	test_path_is_file p/data/bronze/transactions/ingest_date=2025-09-04/_manifest.json &&
	sums | grep 2025-09-03 >a3 && test_cmp b3 a3 &&
	test_expect_code 2 txnflow -C p generate --date 2025-09-03 --if-missing --force 2>err &&
	test_grep "contradict" err
'

test_expect_success '--regenerate replaces it with the project settings, then cleans and builds again' '
	runs=$(sqlite3 p/data/txnflow.db "SELECT count(*) FROM runs WHERE logical_date = '"'"'2025-09-03'"'"'") &&
	cleans=$(sqlite3 p/data/txnflow.db "SELECT count(*) FROM clean_runs WHERE ingest_date = '"'"'2025-09-03'"'"'") &&
	txnflow -C p run --date 2025-09-03 --regenerate >out &&
	test_grep "2025-09-03: success" out &&
	txnflow generate --data fresh --date 2025-09-03 --rows 300 --seed 42 >/dev/null &&
	(cd fresh/bronze && sha256sum */*/*) >expect &&
	sums | grep 2025-09-03 >actual &&
	test_cmp expect actual &&
	test_grep -- "--force" p/data/logs/2025-09-03/generate/attempt-3.log &&
	test "$(sqlite3 p/data/txnflow.db "SELECT count(*) FROM runs WHERE logical_date = '"'"'2025-09-03'"'"'")" = $((runs + 1)) &&
	test "$(sqlite3 p/data/txnflow.db "SELECT count(*) FROM clean_runs WHERE ingest_date = '"'"'2025-09-03'"'"'")" = $((cleans + 1)) &&
	sqlite3 p/data/txnflow.db "SELECT task || '"'"' '"'"'|| state FROM task_attempts WHERE run_id = (SELECT max(run_id) FROM runs) ORDER BY attempt_id" >tasks &&
	printf "generate success\nclean success\nmodels success\n" >expect &&
	test_cmp expect tasks
'

test_expect_success '--regenerate on a landed feed is a usage error' '
	txnflow init l >/dev/null &&
	sed -i "s/^  kind: synthetic/  kind: landed/" l/txnflow.yml &&
	grep -q "kind: landed" l/txnflow.yml &&
	test_expect_code 2 txnflow -C l run --date 2025-09-03 --regenerate 2>err &&
	test_grep "feed is landed" err
'

# A landed feed: the orchestrator only waits for the batch (a sensor), and
# never writes bronze; replacing the landed files and running again with
# --from-scratch is the way to take a new batch: cleaned again, built again.
test_expect_success 'a landed batch is replaced by hand; --from-scratch cleans and builds it again' '
	sed -i "s/^  rows: .*/  rows: 300/" l/txnflow.yml &&
	txnflow -C l generate --date 2025-09-03 --seed 1 >/dev/null &&
	(cd l/data/bronze && sha256sum */*/*) >landed &&
	txnflow -C l run --date 2025-09-03 >out &&
	test_grep "2025-09-03: success" out &&
	(cd l/data/bronze && sha256sum */*/*) >after && test_cmp landed after &&
	txnflow -C l run --date 2025-09-03 --from-scratch >out &&
	(cd l/data/bronze && sha256sum */*/*) >after && test_cmp landed after &&
	txnflow -C l generate --date 2025-09-03 --seed 2 --force >/dev/null &&
	(cd l/data/bronze && sha256sum */*/*) >replaced &&
	! test_cmp landed replaced >/dev/null &&
	txnflow -C l run --date 2025-09-03 --from-scratch >out &&
	test_grep "2025-09-03: success" out &&
	(cd l/data/bronze && sha256sum */*/*) >after && test_cmp replaced after &&
	test "$(sqlite3 l/data/txnflow.db "SELECT count(*) FROM clean_runs WHERE ingest_date = '"'"'2025-09-03'"'"' AND state = '"'"'success'"'"'")" = 3 &&
	: every transaction of the new batch reached the warehouse &&
	b=data/bronze/transactions/ingest_date=2025-09-03 &&
	n_new=$(txnflow -C l sql --format csv "SELECT count(*) FROM read_csv('"'"'$b/*.csv'"'"', all_varchar = true) b WHERE b.transaction_id NOT IN (SELECT transaction_id FROM stg_transactions)" | tail -1) &&
	test "$n_new" = 0
'

test_done
