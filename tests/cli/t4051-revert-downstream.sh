#!/bin/bash
# A revert is a run of its own (issue 21, "like a late batch"): after
# `txnflow revert --ingest-date D` commits the lake, the daily DAG's
# downstream runs for it — models by change of the dates it rewrote, then
# publish to a real S3-compatible server on loopback. The warehouse marts
# and the published objects then equal those of a project that never saw
# D; the run is in `status --json` (kind revert). The server is stopped
# first, so publish fails: the revert stays committed, the message says
# how to resume, and the same command resumes the run at publish and
# converges. A dry run runs nothing; the daily run of D does not clean D
# back in.
. "$(dirname "$0")/../lib/test-lib.sh"
test_duckdb_heavy
. "$ROOT/tests/lib/s3/s3-lib.sh"

s3_start lake || exit 1

DAYS="01 02 03 04"
B=data/bronze/transactions
T=data/truth/transactions
q() { txnflow sql --memory --format csv "$1" | tail -n +2; }
marts() { warehouse_sums "$1/data/warehouse.duckdb" | grep "^mart_"; }
# published PREFIX: each silver object (key without the prefix, size,
# SHA-256) and each mart's rows as a sorted hash (its Parquet bytes may
# differ with the row order of an equal table)
published() {
	s3_check lake list "$1" >pub.raw || return 1
	grep -v "_manifest.json" pub.raw | sed "s|^$1||" | grep -v "^marts/" &&
	for k in $(cut -f1 pub.raw | grep "/marts/"); do
		s3_check lake get "$k" >m.parquet &&
		printf "%s %s\n" "${k#"$1"}" "$(q "SELECT count(*) || ':' ||
			COALESCE(SUM(hash(x)::HUGEINT), 0) FROM read_parquet('m.parquet') x")" ||
		return 1
	done
}
# config PROJECT PREFIX: publish PROJECT to the loopback server under PREFIX
config() {
	sed -i "s/^  rows: .*/  rows: 100/" "$1/txnflow.yml" &&
	cat >>"$1/txnflow.yml" <<-EOC
	retries: 0
	publish:
	  marts: true
	  s3:
	    endpoint: $S3_ENDPOINT
	    bucket: lake
	    prefix: $2
	    region: us-east-1
	    path_style: true
	    max_attempts: 2
	    retry_base_ms: 5
	    retry_max_ms: 20
	EOC
}
# reference NAME PREFIX DAY...: a copy of p that never saw DAY..., cleaned,
# built and published by hand
reference() {
	_n=$1 _p=$2
	shift 2
	cp -r p0 $_n &&
	sed -i "s|prefix: p/|prefix: $_p|" $_n/txnflow.yml &&
	for d in "$@"; do
		rm -rf $_n/$B/ingest_date=2025-09-$d $_n/$T/ingest_date=2025-09-$d
	done &&
	for x in $DAYS; do
		test -d $_n/$B/ingest_date=2025-09-$x || continue
		txnflow -C $_n clean --date 2025-09-$x >/dev/null || return 1
	done &&
	txnflow -C $_n models build --vars "{run_date: \"2025-09-04\"}" >$_n.build &&
	! grep -E "FAIL|ERROR" $_n.build &&
	txnflow -C $_n publish --date 2025-09-04 >/dev/null
}

test_expect_success 'setup: four days with every fault, run and published' '
	txnflow init p >/dev/null &&
	config p p/ &&
	txnflow -C p generate --date 2025-09-01 --days 4 --rows 100 --customers 40 \
		--late-rate 0.3 --version-rate 0.3 --dup-rate 0.1 --stale-rate 0.05 \
		--malformed-rate 0.02 >/dev/null &&
	cp -r p p0 &&
	txnflow -C p backfill --from 2025-09-01 --to 2025-09-04 >bf.out &&
	test_grep "4 succeeded" bf.out &&
	reference w w/ 03 &&
	marts p >orig_marts && test $(wc -l <orig_marts) -ge 4 &&
	marts w >want_marts && ! test_cmp want_marts orig_marts >/dev/null &&
	published w/ >want_pub && test $(grep -c "^silver/" want_pub) -ge 4 &&
	test $(grep -c "^marts/" want_pub) -ge 4 &&
	published p/ >orig_pub && ! test_cmp want_pub orig_pub >/dev/null
'

test_expect_success 'a dry run, or a batch not in the lake: nothing reverted, no run' '
	lake_sums p/data >before &&
	runs=$(sqlite3 p/data/txnflow.db "SELECT count(*) FROM runs") &&
	txnflow -C p revert --ingest-date 2025-09-03 --dry-run >dry.out &&
	test_grep "(dry run)" dry.out &&
	! grep -q "(revert):" dry.out &&
	lake_sums p/data >after && test_cmp before after &&
	test_expect_code 4 txnflow -C p revert --ingest-date 2025-09-20 2>err &&
	test_grep "batch 2025-09-20 is not in the lake" err &&
	test "$(sqlite3 p/data/txnflow.db "SELECT count(*) FROM runs")" = $runs
'

# tasks FILE DATE: the tasks of DATE's run in the status JSON FILE
tasks() {
	jq -r --arg d "$2" '.runs[] | select(.logical_date == $d) |
		"\(.kind) \(.state): " + ([.tasks[] | "\(.task) \(.state) \(.attempts)"] | join(", "))' "$1"
}

test_expect_success 'S3 stopped: the revert of 2025-09-03 commits, publish fails, and says how to resume' '
	s3_stop &&
	test_expect_code 1 txnflow -C p revert --ingest-date 2025-09-03 >out 2>err &&
	test_grep "the batch is reverted" err &&
	test_grep "publish" err &&
	test_grep "run .txnflow revert --ingest-date 2025-09-03. again" err &&
	test_grep "lines removed" out &&
	(cd p/data && find silver/transactions -type f | sort | xargs sha256sum) >lake_p &&
	(cd w/data && find silver/transactions -type f | sort | xargs sha256sum) >lake_w &&
	test_cmp lake_w lake_p &&
	marts p >got_marts && test_cmp want_marts got_marts &&
	txnflow -C p status --json >st.json &&
	tasks st.json 2025-09-03 >got &&
	echo "revert failed: revert success 1, models success 1, publish failed 1" >expect &&
	test_cmp expect got
'

test_expect_success 'the server back: the same command resumes at publish and converges' '
	s3_start lake &&
	for n in p w; do
		sed -i "s|endpoint: http://127.0.0.1:[0-9]*|endpoint: $S3_ENDPOINT|" $n/txnflow.yml || return 1
	done &&
	txnflow -C w publish --date 2025-09-04 >/dev/null &&
	published w/ >want_pub &&
	txnflow -C p revert --ingest-date 2025-09-03 --json >rev.json &&
	published p/ >got_pub && test_cmp want_pub got_pub &&
	marts p >got_marts && test_cmp want_marts got_marts &&
	jq -r "[.ingest_date, .operation, .rows_from_batch > 0, .run.kind, .run.state] | join(\" \")" rev.json >got &&
	echo "2025-09-03 revert true revert success" >expect &&
	test_cmp expect got &&
	txnflow -C p status --json >st.json &&
	tasks st.json 2025-09-03 >got &&
	echo "revert success: revert success 1, models success 1, publish success 2" >expect &&
	test_cmp expect got &&
	test "$(jq ".runs[] | select(.logical_date == \"2025-09-03\") | .sla_deadline" st.json)" = null
'

test_expect_success 'the models rebuilt the dates the revert rewrote, as of the latest day' '
	test_grep -- "revert --ingest-date 2025-09-03 --no-downstream" p/data/logs/2025-09-03/revert/attempt-1.log &&
	log=$(ls p/data/logs/2025-09-03/models/attempt-*.log | sort -V | tail -1) &&
	test_grep "run_date: \"2025-09-04\"" "$log" &&
	jq -r ".partitions_rewritten[]" rev.json >dates &&
	test $(wc -l <dates) -ge 2 &&
	while read -r d; do
		test_grep "\"$d\"" "$log" >/dev/null || return 1
	done <dates
'

test_expect_success 'the daily run of 2025-09-03 stays done: it does not clean the batch back' '
	lake_sums p/data >before &&
	txnflow -C p run --date 2025-09-03 >out &&
	test_grep "already succeeded" out &&
	lake_sums p/data >after && test_cmp before after
'

test_expect_success '--no-downstream: the lake step alone, no run' '
	runs=$(sqlite3 p/data/txnflow.db "SELECT count(*) FROM runs") &&
	txnflow -C p revert --ingest-date 2025-09-04 --no-downstream >out &&
	test_grep "lines removed" out &&
	! grep -q "(revert):" out &&
	test "$(sqlite3 p/data/txnflow.db "SELECT count(*) FROM runs")" = $runs &&
	txnflow revert --help >help &&
	test_grep -- "--no-downstream" help &&
	test_grep "resume the run at the" help
'

test_done
