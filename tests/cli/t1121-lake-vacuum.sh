#!/bin/bash
# Retention (issue 21): `lake vacuum` removes snapshot records older than
# retention.snapshots (never the latest), then the kept partition files no
# remaining record names, and bronze and quarantine batches past theirs;
# nothing a kept snapshot names is removed, silver is untouched, and a
# vacuum killed at any of its removals leaves every record readable and
# converges on a rerun.
. "$(dirname "$0")/../lib/test-lib.sh"

DAYS="01 02 03 04 05"
SNAP=silver/_snapshots/transactions
# after day 5's clean: 2025-09-05T21:00:00Z
NOW=2025-09-06T06:00:00+09:00
COLS="transaction_id, customer_id, card_id, merchant_id, txn_ts, amount, currency,
      mcc, status, is_refund, channel, ingested_at, original_transaction_id,
      source_file, ingest_date, year, month, day"
as_of_rows() { # DATA AS_OF
	txnflow sql --data "$1" --memory --format csv --as-of "$2" \
		"SELECT $COLS FROM silver ORDER BY transaction_id" | tail -n +2
}
snap_sums() {
	awk -F'"' '/"file"/ { f = $4 } /"sha256"/ { print $4 "  " f }' "$1"
}
# every record of DATA names files that are there with their bytes
records_whole() {
	for f in "$1"/$SNAP/v*.json; do
		snap_sums "$f" >"$PWD/rec.sums" && (cd "$1" && sha256sum --quiet -c "$OLDPWD/rec.sums") ||
			{ echo "record $f names a missing or changed file"; return 1; }
	done
}
# the files of DATA's history, bronze and quarantine, with their bytes
tree_sums() {
	(cd "$1" && find silver/_snapshots bronze quarantine -type f | sort | xargs sha256sum)
}

test_expect_success 'a project, five days with every fault, cleaned a day apart' '
	txnflow init p >/dev/null &&
	txnflow -C p generate --date 2025-09-01 --days 5 --rows 300 \
		--late-rate 0.3 --version-rate 0.3 --dup-rate 0.1 --stale-rate 0.05 \
		--malformed-rate 0.03 >/dev/null &&
	for x in $DAYS; do
		TXNFLOW_NOW=2025-09-${x}T06:00:00+09:00 txnflow -C p clean --date 2025-09-$x >/dev/null &&
		as_of_rows p/data ${x#0} >want$x || return 1
	done &&
	test $(ls p/data/$SNAP/*.json | wc -l) = 5 &&
	(cd p/data && find silver/transactions -type f | sort | xargs sha256sum) >silver_before
'

test_expect_success 'retention in txnflow.yml: a bad duration names its line' '
	cp p/txnflow.yml yml.orig &&
	printf "retention:\n  snapshots: 2 days\n" >>p/txnflow.yml &&
	test_must_fail txnflow -C p lake vacuum --dry-run 2>err &&
	test_grep "txnflow.yml:[0-9]*:[0-9]*: retention.snapshots: .2 days. is not a duration" err &&
	cp yml.orig p/txnflow.yml &&
	printf "retention:\n  snapshot: 2d\n" >>p/txnflow.yml &&
	test_must_fail txnflow -C p lake vacuum --dry-run 2>err &&
	test_grep "snapshot" err &&
	test_expect_code 2 txnflow -C p lake vacuum --keep-bronze soon 2>err &&
	test_grep "keep-bronze: .soon. is not a duration" err &&
	cp yml.orig p/txnflow.yml &&
	printf "retention:\n  snapshots: 2d\n  quarantine: 3d\n" >>p/txnflow.yml
'

test_expect_success 'without retention nothing is removed' '
	cp -r p/data keepall &&
	TXNFLOW_NOW=$NOW txnflow lake vacuum --data keepall --json >out.json &&
	test_grep "\"snapshots_removed\": \[\]" out.json &&
	test_grep "\"files_removed\": \[\]" out.json &&
	tree_sums p/data >a && tree_sums keepall >b && test_cmp a b
'

test_expect_success 'vacuum --dry-run lists what would go and removes nothing' '
	tree_sums p/data >before &&
	TXNFLOW_NOW=$NOW txnflow -C p lake vacuum --dry-run --json >dry.json &&
	tree_sums p/data >after &&
	test_cmp before after &&
	tr -d " \n" <dry.json >dry1 &&
	test_grep "\"snapshots_removed\":\[1,2,3\],\"snapshots_kept\":\[4,5\]" dry1 &&
	test_grep "\"quarantine_removed\":\[\"2025-09-01\"\]" dry1 &&
	test_grep "\"bronze_removed\":\[\]" dry1
'

test_expect_success 'vacuum removes old records and the files only they named; kept versions read the same' '
	TXNFLOW_NOW=$NOW txnflow -C p lake vacuum --json >vac.json &&
	tr -d " \n" <dry.json | sed "s/\"dry_run\":true/\"dry_run\":false/" >a &&
	tr -d " \n" <vac.json >b && test_cmp a b &&
	ls p/data/$SNAP/*.json | sed "s|.*/||" >recs &&
	printf "v0000000004.json\nv0000000005.json\n" >want_recs &&
	test_cmp want_recs recs &&
	records_whole p/data &&
	for f in p/data/$SNAP/v*.json; do snap_sums $f || return 1; done |
		awk "{ print \$2 }" | sort -u >named &&
	(cd p/data && find $SNAP/files -type f | sort) >present &&
	test_cmp named present &&
	grep -c parquet vac.json >n_removed && test $(cat n_removed) -gt 5 &&
	as_of_rows p/data 4 >got4 && test_cmp want04 got4 &&
	as_of_rows p/data 5 >got5 && test_cmp want05 got5 &&
	test_must_fail txnflow sql --data p/data --memory --as-of 3 "SELECT 1" 2>err &&
	test_grep "no lake version 3 (the lake has versions 4 to 5" err &&
	(cd p/data && find silver/transactions -type f | sort | xargs sha256sum) >silver_after &&
	test_cmp silver_before silver_after &&
	test_path_is_missing p/data/quarantine/transactions/ingest_date=2025-09-01 &&
	test_path_is_dir p/data/quarantine/transactions/ingest_date=2025-09-02 &&
	txnflow -C p audit >/dev/null
'

test_expect_success 'a second vacuum finds nothing; a clean afterwards commits version 6 as usual' '
	TXNFLOW_NOW=$NOW txnflow -C p lake vacuum >out &&
	test_grep "removed 0 snapshots (2 kept), 0 partition files" out &&
	txnflow -C p generate --date 2025-09-06 --rows 300 --late-rate 0.3 --version-rate 0.3 >/dev/null &&
	TXNFLOW_NOW=2025-09-06T06:00:00+09:00 txnflow -C p clean --date 2025-09-06 >/dev/null &&
	records_whole p/data &&
	as_of_rows p/data 4 >got4 && test_cmp want04 got4 &&
	txnflow -C p audit >/dev/null
'

test_expect_success 'bronze past retention goes whole, batch by batch' '
	cp -r keepall bz &&
	TXNFLOW_NOW=$NOW txnflow lake vacuum --data bz --keep-bronze 2d --json >out.json &&
	tr -d " \n" <out.json >o1 &&
	test_grep "\"bronze_removed\":\[\"2025-09-01\",\"2025-09-02\"\]" o1 &&
	ls bz/bronze/transactions >left &&
	printf "ingest_date=2025-09-03\ningest_date=2025-09-04\ningest_date=2025-09-05\n" >want_left &&
	test_cmp want_left left &&
	test_path_is_missing bz/.clean/vacuum
'

# The reference: one uninterrupted vacuum of the lake of five versions
# with every kind of removal.
KEEP="--keep-snapshots 1d --keep-quarantine 3d --keep-bronze 3d"
test_expect_success 'setup: the reference vacuum' '
	cp -r keepall ref &&
	TXNFLOW_NOW=$NOW txnflow lake vacuum --data ref $KEEP --json >ref.json &&
	tree_sums ref >ref_sums &&
	tr -d " \n" <ref.json >r1 &&
	test_grep "\"snapshots_removed\":\[1,2,3,4\]" r1 &&
	test_grep "\"bronze_removed\":\[\"2025-09-01\"\],\"quarantine_removed\":\[\"2025-09-01\"\]" r1
'

test_expect_success 'a vacuum killed at each of its removals (30+ kills) leaves whole records and converges' '
	kills=0 && n=1 &&
	while :; do
		rm -rf k && cp -r keepall k &&
		TXNFLOW_NOW=$NOW TXNFLOW_CRASH_AT=vacuum:$n txnflow lake vacuum --data k $KEEP >/dev/null 2>&1
		rc=$?
		[ $rc = 3 ] || [ $rc = 0 ] || { echo "exit $rc at vacuum:$n"; return 1; }
		records_whole k || return 1
		as_of_rows k 5 >g && test_cmp want05 g || return 1
		[ $rc = 0 ] && break
		kills=$((kills + 1))
		TXNFLOW_NOW=$NOW txnflow lake vacuum --data k $KEEP >/dev/null &&
		tree_sums k >got && test_cmp ref_sums got || { echo "no convergence after vacuum:$n"; return 1; }
		n=$((n + 1))
	done &&
	echo "$kills kills" &&
	test $kills -ge 30
'

test_done
