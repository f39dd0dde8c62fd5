#!/bin/bash
# clean reads a plain batch file in spans of 1 MiB split in parallel
# (docs/silver.md, "Reading the batch"): a span cut inside a multi-line
# record is read again from where the span before stopped. Records,
# their line numbers and every byte written are those of one reader.
. "$(dirname "$0")/../lib/test-lib.sh"

export TXNFLOW_NOW=2025-09-02T06:00:00+09:00

# 40,000 records (5.5 MB, 6 spans): every even one ends in a quoted
# original_transaction_id holding 30 newlines, so most line starts, and
# most cuts, are inside a record; it is rejected (control_char), the odd
# ones are valid. rejected_lines.csv: the header, then each record whole.
test_expect_success 'a batch whose records span many lines' '
	awk "BEGIN {
		print \"transaction_id,customer_id,card_id,merchant_id,txn_ts,amount,currency,mcc,status,is_refund,channel,ingested_at,original_transaction_id\"
		nl = \"\"; for (k = 0; k < 30; k++) nl = nl \"\\n\"
		for (i = 1; i <= 40000; i++)
			printf \"T%06d,C%d,K1,M1,2025-09-01T10:00:00+09:00,%d,KRW,5411,approved,false,pos,2025-09-01T10:00:01+09:00,%s\\n\", i, i, 100 + i, i % 2 ? \"\" : \"\\\"T\" nl \"\\\"\"
	}" >batch.csv &&
	test $(wc -l <batch.csv) -eq $((1 + 40000 + 20000 * 30))
'

test_expect_success 'spans read again; each multi-line record rejected on its own line' '
	TXNFLOW_LOG_LEVEL=debug txnflow clean --data d2 --date 2025-09-01 \
		--input batch.csv --threads 2 --json >rep.json 2>log &&
	grep -E "spans split in parallel, [1-9][0-9]* of them again" log &&
	test_grep "\"lines_read\": 40000" rep.json &&
	test_grep "\"inserted\": 20000" rep.json &&
	test_grep "\"quarantined\": 20000" rep.json &&
	Q=d2/quarantine/transactions/ingest_date=2025-09-01 &&
	cut -d, -f2,3 $Q/rejects.csv | sed 1d >got &&
	seq 2 2 40000 | sed "s/\$/,control_char/" >want &&
	test_cmp want got &&
	test $(wc -l <$Q/rejected_lines.csv) -eq $((1 + 20000 * 31)) &&
	txnflow sql --format csv "SELECT transaction_id FROM read_parquet(\"d2/silver/transactions/**/*.parquet\") ORDER BY 1" | sed 1d >ids &&
	seq 1 2 40000 | awk "{ printf \"T%06d\\n\", \$1 }" >want_ids &&
	test_cmp want_ids ids
'

test_expect_success 'one and eight threads write the same bytes' '
	txnflow clean --data d1 --date 2025-09-01 --input batch.csv --threads 1 >/dev/null &&
	txnflow clean --data d8 --date 2025-09-01 --input batch.csv --threads 8 >/dev/null &&
	lake_sums d2 >a && lake_sums d1 >b && lake_sums d8 >c &&
	test_cmp a b && test_cmp a c &&
	changes_sums d2 >a && changes_sums d1 >b && changes_sums d8 >c &&
	test_cmp a b && test_cmp a c
'

test_done
