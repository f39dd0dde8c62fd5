#!/bin/bash
# txnflow keys rotate: a card feed's lake moved to a new key. Every token
# becomes HMAC-SHA256 of its card number under the new key (checked with
# openssl), card_key_id says the new key, every row is an update in one
# new change-log version that an incremental models build follows; a crash
# before the commit leaves the old lake, after it the new one; wrong keys
# and a card number no longer in bronze change nothing.
. "$(dirname "$0")/../lib/test-lib.sh"

unset TXNFLOW_PAN_KEY TXNFLOW_PAN_KEY_FILE TXNFLOW_PAN_OLD_KEY TXNFLOW_PAN_OLD_KEY_FILE
K1=0123456789abcdef0123456789abcdef
K2=fedcba9876543210fedcba9876543210
printf "%s\n" $K1 >k1 && printf "%s\n" $K2 >k2 && chmod 600 k1 k2
export TXNFLOW_PAN_KEY_FILE=$PWD/k1
D=p/data
PARTS="$D/silver/transactions/**/*.parquet"
SNAPCOLS="transaction_id, card_token, card_key_id, card_bin, card_last4, amount, ingested_at, source_file"

lake_sums() {
	find $D/silver -type f | grep -v _changes | sort | xargs sha256sum
}

test_expect_success 'a card feed'"'"'s project, three days, models built' '
	txnflow init p >/dev/null &&
	sed -i "s/^  rows: 5000 .*/  rows: 1200\n  pan: true/" p/txnflow.yml &&
	txnflow -C p generate --date 2025-09-01 --days 3 --malformed-rate 0.02 &&
	for d in 01 02 03; do
		txnflow -C p clean --date 2025-09-$d >/dev/null || return 1
	done &&
	txnflow -C p models build --vars "{run_date: \"2025-09-03\"}" >b1.out &&
	grep "^Done: .* ok, 0 error" b1.out &&
	txnflow -C p keys id >id1 &&
	TXNFLOW_PAN_KEY_FILE=$PWD/k2 txnflow -C p keys id >id2 &&
	! test_cmp id1 id2 &&
	txnflow sql --memory --format csv "SELECT $SNAPCOLS FROM read_parquet(\"$PARTS\") ORDER BY transaction_id" >pre_rotate.csv &&
	test $(wc -l <pre_rotate.csv) -gt 3000
'

test_expect_success 'wrong or missing keys: exit 4, nothing changes' '
	lake_sums >before &&
	test_expect_code 4 txnflow -C p keys rotate 2>err &&
	test_grep "TXNFLOW_PAN_OLD_KEY_FILE" err &&
	TXNFLOW_PAN_OLD_KEY_FILE=$PWD/k2 test_expect_code 4 txnflow -C p keys rotate 2>err &&
	test_grep "tokens are under key .$(cat id1)., the old key given is .$(cat id2)." err &&
	TXNFLOW_PAN_OLD_KEY_FILE=$PWD/k1 test_expect_code 4 txnflow -C p keys rotate 2>err &&
	test_grep "the new key is the old one" err &&
	chmod 644 k2 &&
	TXNFLOW_PAN_OLD_KEY_FILE=$PWD/k1 TXNFLOW_PAN_KEY_FILE=$PWD/k2 \
		test_expect_code 4 txnflow -C p keys rotate 2>err &&
	test_grep "mode 0644" err && chmod 600 k2 &&
	! grep -q -e $K1 -e $K2 err &&
	lake_sums >after && test_cmp before after
'

test_expect_success 'a card number gone from bronze: exit 4 naming the row, nothing changes' '
	mv $D/bronze/transactions/ingest_date=2025-09-02 held &&
	TXNFLOW_PAN_OLD_KEY_FILE=$PWD/k1 TXNFLOW_PAN_KEY_FILE=$PWD/k2 \
		test_expect_code 4 txnflow -C p keys rotate 2>err &&
	test_grep "no card number in bronze gives its card token" err &&
	mv held $D/bronze/transactions/ingest_date=2025-09-02 &&
	lake_sums >after && test_cmp before after &&
	! test -e $D/.clean/staging
'

test_expect_success 'a crash before the commit: the old lake; after it: the new one' '
	TXNFLOW_CRASH_AT=stage:1 TXNFLOW_PAN_OLD_KEY_FILE=$PWD/k1 TXNFLOW_PAN_KEY_FILE=$PWD/k2 \
		test_expect_code 3 txnflow -C p keys rotate &&
	lake_sums >after && test_cmp before after &&
	TXNFLOW_CRASH_AT=journal:1 TXNFLOW_PAN_OLD_KEY_FILE=$PWD/k1 TXNFLOW_PAN_KEY_FILE=$PWD/k2 \
		test_expect_code 3 txnflow -C p keys rotate &&
	test -e $D/.clean/journal.json &&
	TXNFLOW_PAN_KEY_FILE=$PWD/k2 txnflow -C p index rebuild >/dev/null &&
	! test -e $D/.clean/journal.json &&
	txnflow sql --memory --format csv "SELECT DISTINCT card_key_id FROM read_parquet(\"$PARTS\")" >ids &&
	{ echo card_key_id && cat id2; } >expect && test_cmp expect ids
'

export TXNFLOW_PAN_KEY_FILE=$PWD/k2
test_expect_success 'every token is the new key'"'"'s HMAC of its number; rows unchanged but the card' '
	txnflow audit --data $D >out && test_grep "^audit: ok" out &&
	txnflow sql --memory --format csv "SELECT transaction_id, card_token FROM read_parquet(\"$PARTS\") ORDER BY 1" |
		tail -n +2 >got &&
	cat $D/bronze/transactions/ingest_date=*/part-*.csv |
		awk -F, "NF == 14 { n = \$14; gsub(/[ -]/, \"\", n); print \$1 \",\" n }" | sort -u >digits &&
	join -t, got digits | awk -F, "{ print \$3 \",\" \$2 }" | sort -u >have &&
	awk -F, "{ print \$1 }" have | head -100 >pans &&
	while read -r n; do
		printf "%s," "$n" && printf "%s" "$n" | openssl dgst -sha256 -hmac $K2 | sed "s/.*= //"
	done <pans >want &&
	join -t, want have >agree &&
	test_line_count = 100 agree &&
	! awk -F, "\$2 != \$3" agree | grep . &&
	txnflow sql --memory --format csv "SELECT count(*) AS n, count(DISTINCT card_id) = count(DISTINCT card_token) AND count(DISTINCT card_id) = count(DISTINCT (card_id, card_token)) AS one_to_one FROM read_parquet(\"$PARTS\")" >out &&
	n=$(tail -1 out | cut -d, -f1) && test "$n" -gt 3000 &&
	test "$(tail -1 out | cut -d, -f2)" = true
'

test_expect_success 'the rotation is one change-log version: every row updated' '
	v=$(ls $D/silver/_changes/transactions | tail -1) &&
	n=$(txnflow sql --memory --format csv "SELECT count(*) FROM read_parquet(\"$PARTS\")" | tail -1) &&
	txnflow sql --memory --format csv "SELECT _change_type, count(*) AS n, count(DISTINCT card_key_id) AS keys FROM read_parquet(\"$D/silver/_changes/transactions/$v/*.parquet\") GROUP BY 1 ORDER BY 1" >out &&
	printf "_change_type,n,keys\nupdate_postimage,%s,1\nupdate_preimage,%s,1\n" $n $n >expect &&
	test_cmp expect out
'

test_expect_success 'the rotation is a lake version: lake log lists it, sql --as-of reads either side' '
	txnflow -C p lake log --json >log.json &&
	txnflow sql --memory --format csv "SELECT version, operation, ingest_date IS NULL AS no_batch, len(batches) AS batches, rows FROM read_json_auto(\"log.json\") ORDER BY version" >got &&
	n=$(tail -n +2 pre_rotate.csv | wc -l) &&
	printf "version,operation,no_batch,batches,rows\n" >expect &&
	for v in 1 2 3; do
		printf "%s,clean,false,%s,%s\n" $v $v $(txnflow -C p sql --format csv --as-of $v "SELECT count(*) FROM silver" | tail -1) || return 1
	done >>expect &&
	printf "4,keys-rotate,true,3,%s\n" $n >>expect &&
	test_cmp expect got &&
	: every partition changed &&
	test "$(txnflow sql --memory --format csv "SELECT len(partitions_changed) = n_partitions FROM read_json_auto(\"log.json\") WHERE version = 4" | tail -1)" = true &&
	: as of version 3 the lake before the rotation, row for row &&
	txnflow -C p sql --format csv --as-of 3 "SELECT $SNAPCOLS FROM silver ORDER BY transaction_id" >as_of_3.csv &&
	test_cmp pre_rotate.csv as_of_3.csv &&
	txnflow -C p sql --format csv --as-of 4 "SELECT DISTINCT card_key_id FROM silver" >ids &&
	{ echo card_key_id && cat id2; } >expect && test_cmp expect ids &&
	: a run id reads it too &&
	run=$(txnflow sql --memory --format csv "SELECT run_id FROM read_json_auto(\"log.json\") WHERE version = 4" | tail -1) &&
	case "$run" in keys-rotate-*) ;; *) false ;; esac &&
	txnflow -C p sql --format csv --as-of "$run" "SELECT count(*) FROM silver" | tail -1 >c &&
	test "$(cat c)" = $n &&
	: and the live lake is the latest version &&
	txnflow sql --memory --format csv "SELECT $SNAPCOLS FROM read_parquet(\"$PARTS\") ORDER BY transaction_id" >live.csv &&
	txnflow -C p sql --format csv --as-of 4 "SELECT $SNAPCOLS FROM silver ORDER BY transaction_id" >as_of_4.csv &&
	! test_cmp as_of_3.csv as_of_4.csv >/dev/null &&
	test_cmp live.csv as_of_4.csv
'

test_expect_success 'an incremental models build follows: every card its new token' '
	txnflow -C p models build --vars "{run_date: \"2025-09-03\"}" >b2.out &&
	grep "^Done: .* ok, 0 error" b2.out &&
	txnflow sql --memory --write --format csv "ATTACH '"'"'$D/warehouse.duckdb'"'"' AS w (READ_ONLY); SELECT count(*) AS stale FROM w.stg_transactions s LEFT JOIN read_parquet(\"$PARTS\") l USING (transaction_id) WHERE s.card_id IS DISTINCT FROM l.card_token" >out &&
	printf "stale\n0\n" >expect && test_cmp expect out &&
	txnflow sql --memory --write --format csv "ATTACH '"'"'$D/warehouse.duckdb'"'"' AS w (READ_ONLY); SELECT count(*) FILTER (WHERE card_id NOT IN (SELECT card_token FROM read_parquet(\"$PARTS\"))) AS stale, count(*) AS n FROM w.mart_fraud_signals" >out &&
	test "$(tail -1 out | cut -d, -f1)" = 0
'

test_expect_success 'clean goes on under the new key, refuses the old one' '
	txnflow -C p generate --date 2025-09-04 &&
	TXNFLOW_PAN_KEY_FILE=$PWD/k1 test_expect_code 4 txnflow -C p clean --date 2025-09-04 2>err &&
	test_grep "keys rotate" err &&
	txnflow -C p clean --date 2025-09-04 >/dev/null
'

test_done
