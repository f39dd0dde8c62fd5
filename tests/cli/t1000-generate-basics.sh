#!/bin/bash
# txnflow generate: options, project defaults, --data without a project,
# existing batches and --force, manifest checksums.
. "$(dirname "$0")/../lib/test-lib.sh"

B=bronze/transactions
T=truth/transactions

test_expect_success 'missing --date is a usage error' '
	test_expect_code 2 txnflow generate --data d 2>err &&
	test_grep "date is required" err
'

test_expect_success 'bad rates and counts are usage errors' '
	test_expect_code 2 txnflow generate --data d --date 2025-09-01 --dup-rate 2 2>err &&
	test_grep "dup-rate" err &&
	test_expect_code 2 txnflow generate --data d --date 2025-09-01 --rows 0 2>err &&
	test_expect_code 2 txnflow generate --data d --date 2025-02-30 2>err &&
	test_expect_code 2 txnflow generate --data d --date 2025-09-01 --stale-rate 0.2 2>err &&
	test_grep "version-rate" err &&
	test_expect_code 2 txnflow generate --data d --date 2025-09-01 --compress lz4 2>err &&
	test_path_is_missing d/$B
'

test_expect_success 'a lower --version-rate lowers the default stale rate with it' '
	txnflow generate --data v --date 2025-09-01 --rows 200 --version-rate 0.006 &&
	test_grep "\"stale_rate\": 0.001," v/$B/ingest_date=2025-09-01/_manifest.json
'

test_expect_success 'outside a project it needs --data' '
	test_expect_code 4 txnflow generate --date 2025-09-01 2>err &&
	test_grep "not in a txnflow project" err
'

test_expect_success '--data works without a project' '
	txnflow generate --data d --date 2025-09-01 --rows 300 >out &&
	test_grep "^ingest_date=2025-09-01: [0-9]* lines in 1 file" out &&
	test_path_is_file d/$B/ingest_date=2025-09-01/part-00000.csv &&
	test_path_is_file d/$B/ingest_date=2025-09-01/_manifest.json &&
	test_path_is_file d/$T/ingest_date=2025-09-01/lines.csv &&
	head -1 d/$B/ingest_date=2025-09-01/part-00000.csv >header &&
	echo "transaction_id,customer_id,card_id,merchant_id,txn_ts,amount,currency,mcc,status,is_refund,channel,ingested_at,original_transaction_id" >expect &&
	test_cmp expect header &&
	head -1 d/$T/ingest_date=2025-09-01/lines.csv >theader &&
	echo "file,line,transaction_id,kind,defect" >texpect &&
	test_cmp texpect theader
'

# sha256 and size of every file listed in a manifest match the file.
check_manifest() {
	dir=$1
	grep -c "\"name\"" "$dir/_manifest.json" >n &&
	test "$(cat n)" -ge 1 &&
	sed -n "s/.*\"name\": \"\(.*\)\".*/\1/p" "$dir/_manifest.json" >names &&
	sed -n "s/.*\"sha256\": \"\(.*\)\".*/\1/p" "$dir/_manifest.json" >shas &&
	sed -n "s/.*\"size_bytes\": \([0-9]*\).*/\1/p" "$dir/_manifest.json" >sizes &&
	sed -n "s/.*\"rows\": \([0-9]*\),.*/\1/p" "$dir/_manifest.json" | head -n "$(cat n)" >rows &&
	paste -d" " names shas sizes rows | while read name sha size nrows; do
		echo "$sha  $dir/$name" | sha256sum -c --quiet - || return 1
		test "$(stat -c %s "$dir/$name")" = "$size" || return 1
		case "$name" in
		*.zst) got=$(zstd -dc "$dir/$name" | tail -n +2 | wc -l) ;;
		*) got=$(tail -n +2 "$dir/$name" | wc -l) ;;
		esac
		test "$got" = "$nrows" || { echo "$name: $got rows, manifest $nrows"; return 1; }
	done
}

test_expect_success 'manifest checksums, sizes and row counts match (sha256sum)' '
	check_manifest d/$B/ingest_date=2025-09-01 &&
	txnflow generate --data z --date 2025-09-01 --rows 500 --part-rows 200 --compress zstd >out &&
	test_grep "in 3 files" out &&
	test_path_is_file z/$B/ingest_date=2025-09-01/part-00002.csv.zst &&
	if command -v zstd >/dev/null; then check_manifest z/$B/ingest_date=2025-09-01; fi &&
	test_grep "\"compress\": \"zstd\"" z/$B/ingest_date=2025-09-01/_manifest.json
'

test_expect_success 'manifest records every parameter' '
	m=d/$B/ingest_date=2025-09-01/_manifest.json &&
	for k in seed rows dup_rate version_rate late_rate malformed_rate stale_rate refund_rate customers merchants part_rows compress timezone; do
		grep -q "\"$k\":" $m || { echo "no $k"; exit 1; }
	done &&
	test_grep "\"format\": \"txnflow-bronze-manifest/1\"" $m &&
	test_grep "\"ingest_date\": \"2025-09-01\"" $m &&
	test_grep "\"seed\": 42" $m &&
	test_grep "\"rows\": 300," $m
'

test_expect_success 'an existing batch is kept unless --force' '
	cp d/$B/ingest_date=2025-09-01/part-00000.csv before &&
	test_expect_code 4 txnflow generate --data d --date 2025-09-01 --rows 300 --seed 5 2>err &&
	test_grep "already exists (use --force" err &&
	test_cmp before d/$B/ingest_date=2025-09-01/part-00000.csv &&
	txnflow generate --data d --date 2025-09-01 --rows 300 --seed 5 --force &&
	! cmp -s before d/$B/ingest_date=2025-09-01/part-00000.csv &&
	test_grep "\"seed\": 5" d/$B/ingest_date=2025-09-01/_manifest.json &&
	ls -A d/$B >entries && echo ingest_date=2025-09-01 >expect && test_cmp expect entries &&
	ls -A d/$T >entries && test_cmp expect entries
'

test_expect_success '--days stops before writing anything when a day exists' '
	test_expect_code 4 txnflow generate --data d --date 2025-08-31 --days 3 --rows 300 2>err &&
	test_grep "ingest_date=2025-09-01 already exists" err &&
	test_path_is_missing d/$B/ingest_date=2025-08-31
'

test_expect_success 'in a project: data dir, seed, rows and zone from txnflow.yml' '
	txnflow init p >/dev/null &&
	sed -i "s/^  rows: 5000/  rows: 250/; s/^  seed: 42/  seed: 9/" p/txnflow.yml &&
	txnflow -C p generate --date 2025-09-01 >out &&
	m=p/data/$B/ingest_date=2025-09-01/_manifest.json &&
	test_grep "\"seed\": 9," $m &&
	test_grep "\"rows\": 250," $m &&
	test_grep "\"timezone\": \"Asia/Seoul\"" $m &&
	txnflow -C p generate --date 2025-09-02 --seed 11 --rows 100 --timezone UTC &&
	m=p/data/$B/ingest_date=2025-09-02/_manifest.json &&
	test_grep "\"seed\": 11," $m &&
	test_grep "+00:00," p/data/$B/ingest_date=2025-09-02/part-00000.csv
'

test_expect_success '--json prints the counts' '
	txnflow generate --data j --date 2025-09-01 --days 2 --rows 200 --json >out.json &&
	test_grep "\"ingest_date\": \"2025-09-02\"" out.json &&
	test_grep "\"stale_redelivery\":" out.json &&
	test_grep "\"malformed\":" out.json
'

test_done
