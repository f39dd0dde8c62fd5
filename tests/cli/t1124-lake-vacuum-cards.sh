#!/bin/bash
# Retention of bronze files that hold card numbers (issue 22): `lake
# vacuum` removes them, one by one, after retention.bronze_card_files,
# by default the shortest duration configured; the bronze files without
# card numbers, the batches' manifests, silver and the rest stay under
# their own rules. Which files hold card numbers is read here from each
# file's header, independently of txnflow; a scan of bronze afterwards
# finds card numbers only in the files that were kept.
. "$(dirname "$0")/../lib/test-lib.sh"

unset TXNFLOW_PAN_KEY TXNFLOW_PAN_KEY_FILE
export TXNFLOW_PAN_KEY=0123456789abcdef0123456789abcdef
B=p/data/bronze/transactions
# UTC 2025-09-07: with 3 days, batches of 09-03 and before are past it
NOW=2025-09-08T06:00:00+09:00

# the bronze files whose header ends in card_number, relative to p/data
card_files() {
	(cd p/data && for f in bronze/transactions/*/*.csv; do
		head -1 "$f" | grep -q ",card_number$" && echo "$f"
	done) | sort
}
bronze_files() {
	(cd p/data && find bronze -type f | sort)
}
silver_sums() {
	(cd p/data && find silver -type f | sort | xargs sha256sum)
}

test_expect_success 'a card feed on 09-02..09-04, a feed without them on 09-01, cleaned' '
	txnflow init p >/dev/null &&
	sed -i "s/^  rows: 5000 .*/  rows: 300\n  pan: true/" p/txnflow.yml &&
	txnflow -C p generate --date 2025-09-02 --days 3 --malformed-rate 0.05 &&
	txnflow generate --data plain --date 2025-09-01 --rows 300 &&
	mv plain/bronze/transactions/ingest_date=2025-09-01 $B/ &&
	for d in 02 03 04; do
		txnflow -C p clean --date 2025-09-$d >/dev/null || return 1
	done &&
	card_files >cards &&
	test_line_count = 3 cards &&
	test_grep ingest_date=2025-09-02 cards &&
	! test_grep ingest_date=2025-09-01 cards &&
	cp p/txnflow.yml yml.orig &&
	cp -r p/data data.orig
'

test_expect_success 'bad values name file, line and key' '
	while IFS="|" read -r yml says; do
		cp yml.orig p/txnflow.yml && printf "retention:\n$yml" >>p/txnflow.yml &&
		test_must_fail txnflow -C p lake vacuum --dry-run 2>err &&
		test_grep "txnflow.yml:[0-9]*:[0-9]*: $says" err || return 1
	done <<-\EOT &&
	  bronze: 30d\n  bronze_card_files: 3 days\n|retention.bronze_card_files: .3 days. is not a duration
	  bronze: 30d\n  vacuum: weekly\n|retention.vacuum: .weekly. is neither
	EOT
	test_expect_code 2 txnflow -C p lake vacuum --keep-bronze-card-files soon 2>err &&
	test_grep "keep-bronze-card-files: .soon. is not a duration" err &&
	cp yml.orig p/txnflow.yml
'

test_expect_success 'no retention configured: the card files are kept' '
	TXNFLOW_NOW=$NOW txnflow -C p lake vacuum --json >out.json &&
	test_grep "\"bronze_card_files_removed\": \[\]" out.json &&
	card_files >now && test_cmp cards now
'

test_expect_success 'by default the shortest duration: quarantine 3d takes 09-02 and 09-03' '
	printf "retention:\n  bronze: 30d\n  quarantine: 3d\n" >>p/txnflow.yml &&
	bronze_files >b_before &&
	silver_sums >s_before &&
	TXNFLOW_NOW=$NOW txnflow -C p lake vacuum --dry-run --json >dry.json &&
	bronze_files >b_after && test_cmp b_before b_after &&
	grep -E "ingest_date=2025-09-0[23]" cards >want_gone &&
	sed -n "/bronze_card_files_removed/,/]/p" dry.json | grep -o "bronze/[^\"]*" >listed &&
	test_cmp want_gone listed &&
	TXNFLOW_NOW=$NOW txnflow -C p lake vacuum >out &&
	test_grep "removed 2 bronze files holding card numbers (retention.quarantine)" out &&
	card_files >left &&
	grep ingest_date=2025-09-04 cards >want_left &&
	test_cmp want_left left &&
	: the rest of bronze, the manifests and the day without cards stay &&
	grep -v -F -f want_gone b_before >want_bronze &&
	bronze_files >now_bronze &&
	test_cmp want_bronze now_bronze &&
	test_grep "bronze/transactions/ingest_date=2025-09-02/_manifest.json" now_bronze &&
	test_grep "bronze/transactions/ingest_date=2025-09-01/part-00000.csv" now_bronze &&
	silver_sums >s_after && test_cmp s_before s_after &&
	: card numbers are left in the kept file only &&
	test_expect_code 1 txnflow scan-pans --include-bronze p/data/bronze --json >scan.json &&
	grep -o "ingest_date=2025-09-0[0-9]" scan.json | sort -u >scan_dates &&
	echo ingest_date=2025-09-04 >want_dates &&
	test_cmp want_dates scan_dates &&
	: a second vacuum finds nothing more &&
	TXNFLOW_NOW=$NOW txnflow -C p lake vacuum --json >again.json &&
	test_grep "\"bronze_card_files_removed\": \[\]" again.json
'

test_expect_success 'bronze_card_files says otherwise; --keep-bronze-card-files over it' '
	rm -rf p/data && cp -r data.orig p/data &&
	cp yml.orig p/txnflow.yml &&
	printf "retention:\n  quarantine: 3d\n  bronze_card_files: 2d\n" >>p/txnflow.yml &&
	TXNFLOW_NOW=$NOW txnflow -C p lake vacuum --dry-run --json >dry.json &&
	sed -n "/bronze_card_files_removed/,/]/p" dry.json | grep -o "bronze/[^\"]*" >listed &&
	test_cmp cards listed &&
	TXNFLOW_NOW=$NOW txnflow -C p lake vacuum --dry-run --json \
		--keep-bronze-card-files forever >dry2.json &&
	test_grep "\"bronze_card_files_removed\": \[\]" dry2.json &&
	printf "retention:\n  quarantine: 3d\n  bronze_card_files: forever\n" >p/ret.yml &&
	cp yml.orig p/txnflow.yml && cat p/ret.yml >>p/txnflow.yml &&
	TXNFLOW_NOW=$NOW txnflow -C p lake vacuum --json >keep.json &&
	test_grep "\"bronze_card_files_removed\": \[\]" keep.json &&
	card_files >now && test_cmp cards now
'

test_expect_success 'a vacuum killed at a card file leaves it whole or gone; a rerun finishes' '
	rm -rf p/data && cp -r data.orig p/data &&
	cp yml.orig p/txnflow.yml &&
	printf "retention:\n  bronze_card_files: 3d\n" >>p/txnflow.yml &&
	(cd p/data && sha256sum bronze/transactions/*/*.csv) >sums &&
	TXNFLOW_NOW=$NOW TXNFLOW_CRASH_AT=vacuum:1 test_expect_code 3 txnflow -C p lake vacuum &&
	card_files >mid &&
	test_line_count = 2 mid &&
	: what is left is unchanged, byte for byte &&
	(cd p/data && sha256sum bronze/transactions/*/*.csv) >mid_sums &&
	test $(grep -c -F -x -f mid_sums sums) = $(wc -l <mid_sums) &&
	TXNFLOW_NOW=$NOW txnflow -C p lake vacuum >/dev/null &&
	card_files >left &&
	grep ingest_date=2025-09-04 cards >want_left &&
	test_cmp want_left left
'

test_done
