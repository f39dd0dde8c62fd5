#!/bin/bash
# Our feed ends lines with LF (docs/decisions/0403); a real feed may use
# RFC 4180's CRLF, with or without a terminator on the last line. The same
# batches converted to CRLF must clean to the same silver rows, the same
# report and the same quarantine.
. "$(dirname "$0")/../lib/test-lib.sh"

B=bronze/transactions

# silver rows as CSV, for comparisons
silver() {
	txnflow sql --format csv "SELECT transaction_id, customer_id, card_id, merchant_id, epoch_us(txn_ts) AS ts, amount, currency, mcc, status, is_refund, channel, epoch_us(ingested_at) AS ing, original_transaction_id AS orig, source_file, ingest_date, year, month, day FROM read_parquet('$1/silver/transactions/**/*.parquet', hive_partitioning = true) ORDER BY transaction_id, ing"
}

# rewrite the one file's sha256 and size in a batch's manifest
fix_manifest() {
	f=$1/part-00000.csv &&
	sha=$(sha256sum "$f" | cut -d" " -f1) &&
	size=$(stat -c %s "$f") &&
	sed -i "s/\"sha256\": \"[0-9a-f]*\"/\"sha256\": \"$sha\"/; s/\"size_bytes\": [0-9]*/\"size_bytes\": $size/" "$1/_manifest.json"
}

test_expect_success 'two generated days, converted to CRLF' '
	txnflow generate --data lf --date 2025-09-01 --days 2 --rows 400 \
		--malformed-rate 0.03 --version-rate 0.1 --late-rate 0.1 >/dev/null &&
	cp -r lf crlf &&
	for d in 2025-09-01 2025-09-02; do
		sed -i "s/\$/\r/" crlf/$B/ingest_date=$d/part-00000.csv || return 1
	done &&
	f=crlf/$B/ingest_date=2025-09-01/part-00000.csv &&
	head -c -2 $f >x && mv x $f &&
	last=$(tail -c 1 $f | od -An -tx1 | tr -d " ") &&
	test "$last" != 0a && test "$last" != 0d &&
	last=$(tail -c 2 crlf/$B/ingest_date=2025-09-02/part-00000.csv | od -An -tx1 | tr -d " ") &&
	test "$last" = 0d0a &&
	cr=$(printf "\\r") &&
	test "$(grep -c "$cr\$" crlf/$B/ingest_date=2025-09-02/part-00000.csv)" = \
		"$(wc -l <lf/$B/ingest_date=2025-09-02/part-00000.csv)"
'

test_expect_success 'clean verifies the manifest checksums of the converted files' '
	test_expect_code 4 txnflow clean --data crlf --date 2025-09-01 2>err &&
	test_grep "manifest says" err &&
	fix_manifest crlf/$B/ingest_date=2025-09-01 &&
	fix_manifest crlf/$B/ingest_date=2025-09-02
'

test_expect_success 'CRLF batches clean to the same silver rows as LF ones' '
	for d in 2025-09-01 2025-09-02; do
		txnflow clean --data lf --date $d --json >lf-$d.json &&
		txnflow clean --data crlf --date $d --json >crlf-$d.json || return 1
		for k in lines_read inserted updated duplicates stale quarantined; do
			grep "\"$k\":" lf-$d.json >a && grep "\"$k\":" crlf-$d.json >b &&
			test_cmp a b || return 1
		done
		test_grep "\"quarantined\": [1-9]" lf-$d.json || return 1
	done &&
	silver lf >lf.rows &&
	silver crlf >crlf.rows &&
	test "$(wc -l <lf.rows)" -gt 700 &&
	test_cmp lf.rows crlf.rows &&
	! grep -q "$(printf "\\r")" crlf.rows
'

test_expect_success 'quarantine holds the same lines, each with its own ending' '
	for d in 2025-09-01 2025-09-02; do
		Q=quarantine/transactions/ingest_date=$d &&
		test_cmp lf/$Q/rejects.csv crlf/$Q/rejects.csv &&
		tr -d "\\r" <crlf/$Q/rejected_lines.csv >stripped &&
		test_cmp lf/$Q/rejected_lines.csv stripped || return 1
	done &&
	grep -c "$(printf "\\r")\$" crlf/quarantine/transactions/ingest_date=2025-09-02/rejected_lines.csv >ncr &&
	test "$(cat ncr)" -ge 1
'

test_done
