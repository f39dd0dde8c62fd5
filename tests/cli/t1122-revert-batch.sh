#!/bin/bash
# Reverting one batch (issue 21): for several D of eleven days with every
# fault of the feed on, `revert --ingest-date D` leaves silver (every
# partition, the id index and its manifest, the history files) byte for
# byte as cleaning the ten other days without D does; the marts built by
# change after it equal a project's that never saw D; cleaning D again
# brings back the original bytes; audit passes after each step.
# The projects without D are the reference: cleaned and built by
# txnflow_ref (the release build); p, the project under test, by the ASan
# build.
. "$(dirname "$0")/../lib/test-lib.sh"
test_duckdb_heavy

DAYS="01 02 03 04 05 06 07 08 09 10 11"
B=data/bronze/transactions
# the files that make up the lake (not its versions, not the change log),
# each with its SHA-256
lake_bytes() {
	(cd "$1/silver" && find transactions _index _history -type f | sort |
		xargs sha256sum)
}
q() { txnflow_ref sql --memory --format csv "$1" | tail -n +2; }
marts() { warehouse_sums "$1/data/warehouse.duckdb" | grep "^mart_"; }

test_expect_success 'eleven days with every fault; projects without 01, 05 and 11' '
	txnflow init p >/dev/null &&
	txnflow -C p generate --date 2025-09-01 --days 11 --rows 200 --customers 80 \
		--late-rate 0.3 --version-rate 0.3 --dup-rate 0.1 --stale-rate 0.05 \
		--malformed-rate 0.02 >/dev/null &&
	for d in 01 05 11; do
		cp -r p without$d &&
		rm -rf without$d/$B/ingest_date=2025-09-$d \
			without$d/data/truth/transactions/ingest_date=2025-09-$d &&
		for x in $DAYS; do
			[ $x = $d ] && continue
			txnflow_ref -C without$d clean --date 2025-09-$x >/dev/null || return 1
		done &&
		lake_bytes without$d/data >want$d || return 1
	done &&
	for d in 01 05 11; do
		txnflow_ref -C without$d models build --vars "{run_date: \"2025-09-11\"}" >b$d.out &&
		! grep -E "FAIL|ERROR" b$d.out &&
		marts without$d >want_marts$d &&
		test $(wc -l <want_marts$d) -ge 4 || return 1
	done
'

test_expect_success 'all eleven cleaned and built' '
	for x in $DAYS; do
		txnflow -C p clean --date 2025-09-$x >/dev/null || return 1
	done &&
	txnflow -C p models build --vars "{run_date: \"2025-09-11\"}" >b.out &&
	! grep -E "FAIL|ERROR" b.out &&
	lake_bytes p/data >orig &&
	marts p >orig_marts &&
	! test_cmp want05 orig &&
	txnflow -C p audit >audit.out
'

test_expect_success 'a dry run decides and changes nothing' '
	txnflow -C p revert --ingest-date 2025-09-05 --dry-run --json >dry.json &&
	lake_bytes p/data >now && test_cmp orig now &&
	q "SELECT dry_run, rows_from_batch > 0, restored > 0, deleted > 0,
	          lines_removed = valid_lines + quarantined
	   FROM read_json('"'"'dry.json'"'"')" >got &&
	echo "true,true,true,true,true" >expect && test_cmp expect got
'

test_expect_success 'revert 2025-09-05: silver as if never delivered, marts too' '
	txnflow -C p revert --ingest-date 2025-09-05 --no-downstream --json >rev05.json &&
	lake_bytes p/data >now && test_cmp want05 now &&
	test_path_is_missing p/data/quarantine/transactions/ingest_date=2025-09-05 &&
	txnflow -C p audit >audit.out &&
	txnflow -C p models build --vars "{run_date: \"2025-09-11\"}" >b2.out &&
	! grep -E "FAIL|ERROR" b2.out &&
	test_grep "stg_transactions (.*by change" b2.out &&
	marts p >got_marts && test_cmp want_marts05 got_marts
'

test_expect_success 'the same counts as the dry run; the reconciliation adds up' '
	for f in dry rev05; do
		q "SELECT lines_removed, valid_lines, quarantined, ids_in_batch,
		          rows_from_batch, restored, deleted, moved, reconciled
		   FROM read_json('"'"'$f.json'"'"')" >$f.counts || return 1
	done &&
	test_cmp dry.counts rev05.counts &&
	q "SELECT lines_removed = valid_lines + quarantined AND reconciled,
	          rows_from_batch = restored + deleted
	   FROM read_json('"'"'rev05.json'"'"')" >got &&
	echo "true,true" >expect && test_cmp expect got
'

test_expect_success 'its change log: the rows that left and those that came back' '
	v=$(q "SELECT commit_version FROM read_json('"'"'rev05.json'"'"')") &&
	q "SELECT _change_type, count(*) FROM read_parquet(
	     '"'"'p/data/silver/_changes/transactions/version=$(printf %010d $v)/*.parquet'"'"')
	   GROUP BY 1 ORDER BY 1" >got &&
	q "SELECT '"'"'delete'"'"', deleted FROM read_json('"'"'rev05.json'"'"') WHERE deleted > 0
	   UNION ALL SELECT '"'"'update_postimage'"'"', restored FROM read_json('"'"'rev05.json'"'"')
	   UNION ALL SELECT '"'"'update_preimage'"'"', restored FROM read_json('"'"'rev05.json'"'"')
	   ORDER BY 1" >expect &&
	test_cmp expect got &&
	txnflow -C p lake log --json >log.json &&
	q "SELECT operation, ingest_date, len(batches), list_contains(batches, '"'"'2025-09-05'"'"')
	   FROM read_json('"'"'log.json'"'"') WHERE version = $v" >got &&
	echo "revert,2025-09-05,10,false" >expect && test_cmp expect got
'

test_expect_success 'a second revert of it has nothing to do; an unknown batch is refused' '
	txnflow -C p revert --ingest-date 2025-09-05 --no-downstream >again.out &&
	test_grep "reverted already" again.out &&
	test_must_fail txnflow -C p revert --ingest-date 2025-09-20 2>err &&
	test_grep "batch 2025-09-20 is not in the lake" err &&
	test_expect_code 2 txnflow -C p revert 2>err &&
	test_grep "ingest-date is required" err &&
	txnflow revert --help >help && test_grep "as if\|never been" help
'

test_expect_success 'cleaning 2025-09-05 again brings back the original bytes and marts' '
	txnflow -C p clean --date 2025-09-05 >/dev/null &&
	lake_bytes p/data >now && test_cmp orig now &&
	txnflow -C p audit >audit.out &&
	txnflow -C p models build --vars "{run_date: \"2025-09-11\"}" >b3.out &&
	! grep -E "FAIL|ERROR" b3.out &&
	marts p >got_marts && test_cmp orig_marts got_marts
'

test_expect_success 'the first and the last day too: revert, compare silver and marts, clean again' '
	for d in 01 11; do
		txnflow -C p revert --ingest-date 2025-09-$d --no-downstream >rev$d.out &&
		lake_bytes p/data >now && test_cmp want$d now &&
		txnflow -C p audit >audit$d.out &&
		txnflow -C p models build --vars "{run_date: \"2025-09-11\"}" >b$d.rev &&
		! grep -E "FAIL|ERROR" b$d.rev &&
		marts p >got_marts && test_cmp want_marts$d got_marts &&
		txnflow -C p clean --date 2025-09-$d >/dev/null &&
		lake_bytes p/data >now && test_cmp orig now &&
		txnflow -C p audit >audit$d.again &&
		txnflow -C p models build --vars "{run_date: \"2025-09-11\"}" >b$d.again &&
		marts p >got_marts && test_cmp orig_marts got_marts || return 1
	done
'

test_expect_success 'a bronze file the fallbacks need is gone: refused, nothing changes' '
	mv p/$B/ingest_date=2025-09-06 aside06 &&
	test_must_fail txnflow -C p revert --ingest-date 2025-09-05 2>err &&
	test_grep "ingest_date=2025-09-06/.* is gone (bronze retention?)" err &&
	mv aside06 p/$B/ingest_date=2025-09-06 &&
	lake_bytes p/data >now && test_cmp orig now &&
	txnflow -C p audit >audit.out
'

test_done
