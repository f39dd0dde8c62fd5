#!/bin/bash
# A commit left unfinished (issue 16): a clean stopped after its commit
# point, part of the way through applying it, leaves the live files under
# silver/transactions a mix of two versions until the next clean finishes
# it. Readers never see that mix: `sql`'s view silver is the last complete
# version (the latest snapshot record's files), and models, load and
# publish refuse to read the lake until the commit is finished.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TEST_DATA/serve/serve-lib.sh"
trap kill_servers EXIT

# one clock for every run: the same bytes whatever the order
export TXNFLOW_NOW=2025-09-03T06:00:00+09:00
# publish's credentials come from here, never from a network lookup
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secret

q() { txnflow sql --memory --format csv "$1" | tail -n +2; }
COLS="transaction_id, customer_id, card_id, merchant_id, txn_ts, amount, currency,
      mcc, status, is_refund, channel, ingested_at, original_transaction_id,
      source_file, ingest_date, year, month, day"
live_rows() { # PROJECT: the rows of the files under silver/transactions
	q "SELECT $COLS FROM read_parquet('$1/data/silver/transactions/**/*.parquet',
	   hive_partitioning = true) ORDER BY ALL"
}
view_rows() { # PROJECT: the rows `txnflow sql` shows as silver
	txnflow -C "$1" sql --format csv "SELECT $COLS FROM silver ORDER BY ALL" |
		tail -n +2
}

test_expect_success 'setup: two days cleaned and built, the third waiting; the reference cleans it' '
	txnflow init p >/dev/null &&
	txnflow -C p generate --date 2025-09-01 --days 3 --rows 1500 --seed 7 \
		--late-rate 0.3 --version-rate 0.2 --dup-rate 0.1 >/dev/null &&
	txnflow -C p clean --date 2025-09-01 >/dev/null &&
	txnflow -C p clean --date 2025-09-02 >/dev/null &&
	txnflow -C p models build --vars "{run_date: \"2025-09-02\"}" >/dev/null &&
	live_rows p >old_rows &&
	view_rows p >view_old &&
	test_cmp old_rows view_old &&
	cp -a p ref &&
	txnflow -C ref clean --date 2025-09-03 >/dev/null &&
	live_rows ref >new_rows &&
	! test_cmp old_rows new_rows
'

test_expect_success 'a stop after the commit point, three partitions into the apply: the live files mix two versions' '
	cp -a p j &&
	test_expect_code 3 env TXNFLOW_CRASH_AT=journal:1 \
		"$TXNFLOW" -C j clean --date 2025-09-03 2>/dev/null &&
	k=$(python3 -c "
import json
ops = json.load(open(\"j/data/.clean/journal.json\"))[\"ops\"]
parts = [i for i, o in enumerate(ops) if o[1].startswith(\"silver/transactions/\")]
assert len(parts) >= 4, parts
print(parts[2] + 1)") &&
	cp -a p c &&
	test_expect_code 3 env TXNFLOW_CRASH_AT=apply:$k \
		"$TXNFLOW" -C c clean --date 2025-09-03 2>/dev/null &&
	test_path_is_file c/data/.clean/journal.json &&
	live_rows c >mixed_rows &&
	! test_cmp old_rows mixed_rows &&
	! test_cmp new_rows mixed_rows &&
	# what a reader of the live files gets is a lake no commit made: some
	# rows of the new version (the partitions applied) without the rest
	sort old_rows >o && sort new_rows >n && sort mixed_rows >m &&
	comm -13 o m >seen_new &&
	comm -23 n m >missing_new &&
	test -s seen_new &&
	test -s missing_new
'

test_expect_success 'sql: the view silver is the last complete version, and it says why' '
	view_rows c >view_rows 2>err_unused &&
	test_cmp old_rows view_rows &&
	txnflow -C c sql "SELECT count(*) FROM silver" >/dev/null 2>err &&
	test_grep "last commit (clean-2025-09-03-.*) is not fully applied: the view silver is the last complete version" err &&
	txnflow -C c sql --as-of 2 --format csv "SELECT $COLS FROM silver ORDER BY ALL" |
		tail -n +2 >asof_rows &&
	test_cmp old_rows asof_rows
'

test_expect_success 'models, load and publish refuse the half-applied lake; the warehouse is unchanged' '
	warehouse_sums c/data/warehouse.duckdb >wh_before &&
	test_expect_code 1 txnflow -C c models build --vars "{run_date: \"2025-09-03\"}" 2>err &&
	test_grep "last commit (clean-2025-09-03-.*) is not fully applied" err &&
	test_grep "until .txnflow clean. finishes it" err &&
	test_expect_code 1 txnflow -C c models test 2>err &&
	test_grep "is not fully applied" err &&
	warehouse_sums c/data/warehouse.duckdb >wh_after &&
	test_cmp wh_before wh_after &&
	cp c/txnflow.yml yml.orig &&
	printf "load:\n  target: pg\npublish:\n  s3:\n    endpoint: http://127.0.0.1:9\n    bucket: lake\n" \
		>>c/txnflow.yml &&
	test_expect_code 1 txnflow -C c load --date 2025-09-03 2>err &&
	test_grep "is not fully applied" err &&
	test_expect_code 1 txnflow -C c publish --date 2025-09-03 2>err &&
	test_grep "is not fully applied" err &&
	cp yml.orig c/txnflow.yml &&
	test_path_is_file c/data/.clean/journal.json
'

test_expect_success 'the dashboard says a commit is unfinished, and shows the last complete version' '
	start_server s -C c serve --port 0 >url &&
	curl -s --max-time 60 "$(cat url)/api/summary" >summary.json &&
	run=$(python3 -c "import json; print(json.load(open(\"c/data/.clean/journal.json\"))[\"run_id\"])") &&
	python3 -c "
import json, sys
s = json.load(open(\"summary.json\"))
assert s[\"lake_unfinished_commit\"] == sys.argv[1], s
assert s[\"clean_runs\"] == 2, s" "$run" &&
	stop_server s
'

test_expect_success 'the next clean finishes the commit: the live files, the view and the models see the new version' '
	txnflow -C c clean --date 2025-09-03 >/dev/null 2>&1 &&
	test_path_is_missing c/data/.clean/journal.json &&
	lake_sums c/data >got &&
	lake_sums ref/data >want &&
	test_cmp want got &&
	view_rows c >view_new 2>err &&
	test_cmp new_rows view_new &&
	! test_grep "not fully applied" err &&
	start_server s2 -C c serve --port 0 >url &&
	curl -s --max-time 60 "$(cat url)/api/summary" >summary.json &&
	stop_server s2 &&
	python3 -c "
import json
s = json.load(open(\"summary.json\"))
assert s[\"lake_unfinished_commit\"] is None and s[\"clean_runs\"] >= 3, s" &&
	txnflow -C c models build --vars "{run_date: \"2025-09-03\"}" >/dev/null &&
	txnflow -C ref models build --vars "{run_date: \"2025-09-03\"}" >/dev/null &&
	warehouse_sums c/data/warehouse.duckdb >wh_c &&
	warehouse_sums ref/data/warehouse.duckdb >wh_ref &&
	test_cmp wh_ref wh_c
'

test_done
