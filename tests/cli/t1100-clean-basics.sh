#!/bin/bash
# txnflow clean on hand-made batches: validation, quarantine, dedup rules,
# reconciliation, idempotence, lock.
. "$(dirname "$0")/../lib/test-lib.sh"

HDR=transaction_id,customer_id,card_id,merchant_id,txn_ts,amount,currency,mcc,status,is_refund,channel,ingested_at,original_transaction_id

# silver rows as CSV, for comparisons
silver() {
	txnflow sql --format csv "SELECT transaction_id, epoch_us(txn_ts) AS ts, amount, currency, mcc, status, is_refund, channel, epoch_us(ingested_at) AS ing, original_transaction_id AS orig, source_file, ingest_date, year, month, day FROM read_parquet('$1/silver/transactions/**/*.parquet', hive_partitioning = true) ORDER BY transaction_id"
}

test_expect_success 'clean --help has usage, options and an example' '
	txnflow clean --help >out &&
	test_grep "^usage: txnflow clean" out &&
	test_grep "^Example" out &&
	txnflow audit --help >out &&
	test_grep "^Example" out
'

test_expect_success 'clean needs --date' '
	test_expect_code 2 txnflow clean --data d 2>err &&
	test_grep "date" err
'

test_expect_success 'every reason code, with file and line' '
	{
	echo "$HDR" &&
	echo "T1,C1,K1,M1,2025-09-01T10:00:00+09:00,100,KRW,5411,approved,false,pos,2025-09-01T10:00:01+09:00," &&
	printf "T2,C1,K1,M\\377,2025-09-01T10:00:00+09:00,100,KRW,5411,approved,false,pos,2025-09-01T10:00:01+09:00,\\n" &&
	echo "T3,C1,K1,M1,2025-09-01T10:00:00+09:00,1\"00,KRW,5411,approved,false,pos,2025-09-01T10:00:01+09:00," &&
	echo "T4,C1,K1,M1,2025-09-01T10:00:00+09:00,100,KRW,5411,approved,false,pos" &&
	echo ",C1,K1,M1,2025-09-01T10:00:00+09:00,100,KRW,5411,approved,false,pos,2025-09-01T10:00:01+09:00," &&
	echo "T6,C1,K1,M1,2025-09-01T10:00:00,100,KRW,5411,approved,false,pos,2025-09-01T10:00:01+09:00," &&
	echo "T7,C1,K1,M1,2025-09-01T10:00:00+09:00,12.345,KRW,5411,approved,false,pos,2025-09-01T10:00:01+09:00," &&
	echo "T8,C1,K1,M1,2025-09-01T10:00:00+09:00,0,KRW,5411,approved,false,pos,2025-09-01T10:00:01+09:00," &&
	echo "T9,C1,K1,M1,2025-09-01T10:00:00+09:00,-5,KRW,5411,approved,false,pos,2025-09-01T10:00:01+09:00," &&
	echo "T10,C1,K1,M1,2025-09-01T10:00:00+09:00,100,ABC,5411,approved,false,pos,2025-09-01T10:00:01+09:00," &&
	echo "T11,C1,K1,M1,2025-09-01T10:00:00+09:00,100,KRW,541,approved,false,pos,2025-09-01T10:00:01+09:00," &&
	echo "T12,C1,K1,M1,2025-09-01T10:00:00+09:00,100,KRW,5411,settled,false,pos,2025-09-01T10:00:01+09:00," &&
	echo "T13,C1,K1,M1,2025-09-01T10:00:00+09:00,100,KRW,5411,approved,maybe,pos,2025-09-01T10:00:01+09:00," &&
	echo "T14,C1,K1,M1,2025-09-01T10:00:00+09:00,100,KRW,5411,approved,false,atm,2025-09-01T10:00:01+09:00," &&
	echo "T15,C1,K1,M1,2025-02-30T10:00:00+09:00,100,KRW,5411,approved,false,pos,2025-09-01T10:00:01+09:00," &&
	printf "T16,C1,K1,M1,2025-09-01T10:00:00+09:00,1.5,usd,0742,APPROVED,Yes,Online,2025-09-01T01:00:01Z,T1\\r\\n"
	} >batch.csv &&
	txnflow clean --data d --date 2025-09-01 --input batch.csv --json >rep.json &&
	test_grep "\"lines_read\": 16" rep.json &&
	test_grep "\"inserted\": 2" rep.json &&
	test_grep "\"quarantined\": 14" rep.json &&
	test_grep "\"reconciled\": true" rep.json &&
	Q=d/quarantine/transactions/ingest_date=2025-09-01 &&
	cut -d, -f2,3 $Q/rejects.csv >got &&
	cat >want <<-\EOF &&
	line,reason
	2,invalid_utf8
	3,stray_quote
	4,wrong_columns
	5,empty_id
	6,bad_timestamp
	7,bad_amount
	8,bad_amount
	9,bad_amount
	10,bad_currency
	11,bad_mcc
	12,unknown_enum
	13,unknown_enum
	14,unknown_enum
	15,bad_timestamp
	EOF
	test_cmp want got &&
	test_grep "^file,line,reason,detail" $Q/rejects.csv &&
	test "$(sed -n 1p $Q/rejected_lines.csv)" = "$HDR" &&
	sed -n 3,16p batch.csv >want_lines &&
	sed -n 2,15p $Q/rejected_lines.csv >got_lines &&
	cmp want_lines got_lines
'

test_expect_success 'control characters in any field are quarantined (control_char)' '
	V=2025-09-01T10:00:00+09:00,100,KRW,5411,approved,false,pos,2025-09-01T10:00:01+09:00, &&
	{
	echo "$HDR" &&
	printf "M00\\000 00001,C1,K1,M1,$V\\n" &&
	printf "X2,C\\0331,K1,M1,$V\\n" &&
	printf "X3,C1,K1,M1,2025-09-01T10:00:00+09:00,100,KRW,5411,approved,false,pos\\t,2025-09-01T10:00:01+09:00,\\n" &&
	printf "X4,\"C\\r1\",K1,M1,$V\\n" &&
	printf "X5,\"C\\n1\",K1,M1,$V\\n" &&
	printf "X6,C1,K1,M\\1771,$V\\n" &&
	printf "X7,C1,K1,M1,$V\\r\\n" &&
	printf "X8,C1,K1,M1,${V}X\\001\\n"
	} >ctl.csv &&
	txnflow clean --data c --date 2025-09-01 --input ctl.csv --json >rep.json &&
	test_grep "\"quarantined\": 7" rep.json &&
	test_grep "\"control_char\": 7" rep.json &&
	Q=c/quarantine/transactions/ingest_date=2025-09-01 &&
	cut -d, -f2,3 $Q/rejects.csv >got &&
	printf "line,reason\n1,control_char\n2,control_char\n3,control_char\n4,control_char\n5,control_char\n6,control_char\n8,control_char\n" >want &&
	test_cmp want got &&
	test_grep "transaction_id: .M00\\\\x00 00001. holds a control character" $Q/rejects.csv &&
	test_grep "channel: .pos\\\\x09. holds a control character" $Q/rejects.csv &&
	silver c | cut -d, -f1 >got &&
	printf "transaction_id\nX7\n" >want &&
	test_cmp want got
'

test_expect_success 'every reason code clean gives is in the table of docs/silver.md' '
	{
	echo "$HDR" &&
	echo "$(printf "%0256d" 7),C1,K1,M1,2025-09-01T10:00:00+09:00,100,KRW,5411,approved,false,pos,2025-09-01T10:00:01+09:00," &&
	echo "X1,C1,K1,M1,2025-09-01T10:00:00+09:00,100,KRW,5411,approved,false,pos,2025-09-01T10:00:01+09:00,$(head -c 1100000 /dev/zero | tr "\0" a)"
	} >long.csv &&
	txnflow clean --data e --date 2025-09-01 --input long.csv >/dev/null &&
	for x in d c e; do
		grep -v "^file," $x/quarantine/transactions/ingest_date=2025-09-01/rejects.csv
	done | cut -d, -f3 | sort -u >reasons &&
	test_line_count = 12 reasons &&
	while read -r r; do
		grep -q "^| \`$r\` |" "$ROOT/docs/silver.md" || { echo "not in docs: $r"; exit 1; }
	done <reasons &&
	sed -n "/^| code |/,/^$/p" "$ROOT/docs/silver.md" | grep -o "^| \`[a-z_0-9]*\`" |
		tr -d "|\` " | grep -v -x bad_card_number | sort >documented &&
	test_cmp reasons documented
'

test_expect_success 'valid rows are typed and normalized' '
	silver d >got &&
	cat >want <<-\EOF &&
	transaction_id,ts,amount,currency,mcc,status,is_refund,channel,ing,orig,source_file,ingest_date,year,month,day
	T1,1756688400000000,100.00,KRW,5411,approved,false,pos,1756688401000000,,'"$TRASH"'/batch.csv,2025-09-01,2025,09,01
	T16,1756688400000000,1.50,USD,0742,approved,true,online,1756688401000000,T1,'"$TRASH"'/batch.csv,2025-09-01,2025,09,01
	EOF
	test_cmp want got
'

test_expect_success 'a rerun changes no byte and counts duplicates' '
	(cd d && find silver quarantine -type f | sort | xargs sha256sum) >before &&
	txnflow clean --data d --date 2025-09-01 --input batch.csv --json >rep2.json &&
	test_grep "\"duplicates\": 2" rep2.json &&
	test_grep "\"partitions_rewritten\": \[\]" rep2.json &&
	(cd d && find silver quarantine -type f | sort | xargs sha256sum) >after &&
	test_cmp before after
'

test_expect_success 'latest ingested_at wins; stale never replaces; a move leaves the old partition' '
	{
	echo "$HDR" &&
	echo "A,C,K,M,2025-09-01T10:00:00+09:00,100,KRW,5411,pending,false,pos,2025-09-01T10:00:00+09:00," &&
	echo "A,C,K,M,2025-09-01T10:00:00+09:00,100,KRW,5411,approved,false,pos,2025-09-02T10:00:00+09:00," &&
	echo "A,C,K,M,2025-09-01T10:00:00+09:00,100,KRW,5411,pending,false,pos,2025-09-01T10:00:00+09:00," &&
	echo "B,C,K,M,2025-09-01T08:59:59+09:00,200,KRW,5411,approved,false,pos,2025-09-02T10:00:00+09:00,"
	} >b1.csv &&
	txnflow clean --data m --date 2025-09-02 --input b1.csv --json >r1.json &&
	test_grep "\"inserted\": 2" r1.json && test_grep "\"stale\": 2" r1.json &&
	{
	echo "$HDR" &&
	echo "A,C,K,M,2025-09-01T10:00:00+09:00,100,KRW,5411,pending,false,pos,2025-09-01T10:00:00+09:00," &&
	echo "B,C,K,M,2025-08-31T10:00:00+09:00,200,KRW,5411,reversed,false,pos,2025-09-03T10:00:00+09:00,"
	} >b2.csv &&
	txnflow clean --data m --date 2025-09-03 --input b2.csv --json >r2.json &&
	test_grep "\"updated\": 1" r2.json && test_grep "\"stale\": 1" r2.json &&
	silver m | cut -d, -f1,6,13-15 >got &&
	printf "transaction_id,status,year,month,day\nA,approved,2025,09,01\nB,reversed,2025,08,31\n" >want &&
	test_cmp want got &&
	txnflow sql "SELECT count(*) FROM read_parquet('"'"'m/silver/transactions/year=2025/month=09/day=01/*.parquet'"'"')" >n &&
	test_grep "^1$" n
'

test_expect_success 'ties on ingested_at are resolved the same in any order' '
	{
	echo "$HDR" &&
	echo "X,C,K,M,2025-09-01T10:00:00+09:00,100,KRW,5411,approved,false,pos,2025-09-01T10:00:00+09:00,"
	} >t1.csv &&
	{
	echo "$HDR" &&
	echo "X,C,K,M,2025-09-01T10:00:00+09:00,100,KRW,5411,declined,false,pos,2025-09-01T10:00:00+09:00,"
	} >t2.csv &&
	txnflow clean --data o1 --date 2025-09-01 --input t1.csv >/dev/null &&
	txnflow clean --data o1 --date 2025-09-02 --input t2.csv --json >r.json &&
	test_grep "\"ties\": 1" r.json &&
	txnflow clean --data o2 --date 2025-09-02 --input t2.csv >/dev/null &&
	txnflow clean --data o2 --date 2025-09-01 --input t1.csv >/dev/null &&
	silver o1 | cut -d, -f1,6 >a && silver o2 | cut -d, -f1,6 >b &&
	test_cmp a b
'

test_expect_success 'metadata: clean_runs, quarantine_counts, partition_commits' '
	sqlite3 d/txnflow.db "SELECT count(*) FROM clean_runs WHERE state = '"'"'success'"'"' AND lines_read = inserted + updated + duplicates + stale + quarantined" >n &&
	test_grep "^2$" n &&
	sqlite3 d/txnflow.db "SELECT reason, n FROM quarantine_counts WHERE clean_id = 1 ORDER BY reason" >q &&
	test_grep "^bad_amount|3$" q &&
	sqlite3 d/txnflow.db "SELECT partition, n_rows FROM partition_commits" >p &&
	test_grep "^2025-09-01|2$" p
'

test_expect_success 'a second clean waits for nobody: locked' '
	exec 9>d/.clean.lock && flock -n 9 &&
	test_expect_code 1 txnflow clean --data d --date 2025-09-01 --input batch.csv 2>err &&
	test_grep "another clean is running" err
'

test_expect_success 'audit agrees, then finds a deleted partition' '
	txnflow audit --data m >out &&
	test_grep "audit: ok" out &&
	rm m/silver/transactions/year=2025/month=08/day=31/part-00000.parquet &&
	test_expect_code 1 txnflow audit --data m >out 2>err &&
	test_grep "B: missing from silver" out
'

# A damaged partition holds values no format shows as they are (issue 16):
# audit prints them escaped, never raw bytes or a garbled date.
test_expect_success 'audit prints unreadable values escaped' '
	cp -r d dmg &&
	f=dmg/silver/transactions/year=2025/month=09/day=01/part-00000.parquet &&
	txnflow sql --write --memory "COPY (SELECT * REPLACE (
		CASE WHEN transaction_id = '"'"'T1'"'"' THEN '"'"'T1'"'"' || chr(1) || chr(27) ELSE transaction_id END AS transaction_id,
		CASE WHEN transaction_id = '"'"'T16'"'"' THEN '"'"'-100000-01-01'"'"'::TIMESTAMP ELSE txn_ts END AS txn_ts)
		FROM read_parquet('"'"'$f'"'"')) TO '"'"'x.parquet'"'"' (FORMAT parquet)" &&
	mv x.parquet $f &&
	test_expect_code 1 txnflow audit --data dmg >out 2>err &&
	test_grep "T1\\\\x01\\\\x1b: in silver but in no cleaned batch" out &&
	test_grep "T16: in partition 2025-09-01, event date out of range (txn_ts -3217862419200000000 us)" out &&
	! grep "[[:cntrl:]]" out
'

test_expect_success 'a wrong header fails the batch and writes nothing' '
	printf "id,amount\n1,2\n" >bad.csv &&
	test_expect_code 4 txnflow clean --data h --date 2025-09-01 --input bad.csv 2>err &&
	test_grep "bronze header" err &&
	test_path_is_missing h/silver/transactions
'

# Each way a file can fail to be a bronze CSV gets a message naming the
# real cause and the file once (issue 16).
test_expect_success 'an empty and a CR-only file each say what is wrong; a gzip one is read' '
	: >empty.csv &&
	test_expect_code 4 txnflow clean --data h --date 2025-09-01 --input empty.csv 2>err &&
	test_grep "empty.csv: the file is empty" err &&
	! grep "^txnflow clean: error:.*bronze header" err &&
	test "$(grep "^txnflow clean: error:" err | grep -o "empty.csv" | wc -l)" = 1 &&
	{ echo "$HDR" && echo "T1,C1,K1,M1,2025-09-01T10:00:00+09:00,100,KRW,5411,approved,false,pos,2025-09-01T10:00:01+09:00,"; } >good.csv &&
	gzip -c good.csv >gz.csv &&
	txnflow clean --data hz --date 2025-09-01 --input gz.csv --json >gz.json &&
	test_grep "\"inserted\": 1" gz.json &&
	tr "\\n" "\\r" <good.csv >cr.csv &&
	test_expect_code 4 txnflow clean --data h --date 2025-09-01 --input cr.csv 2>err &&
	test_grep "cr.csv: lines end in CR alone" err &&
	! grep "^txnflow clean: error:.*bronze header" err &&
	test "$(grep "^txnflow clean: error:" err | grep -o "cr.csv" | wc -l)" = 1 &&
	printf "id,amount\n1,2\n" >bad.csv &&
	test_expect_code 4 txnflow clean --data h --date 2025-09-01 --input bad.csv 2>err &&
	test_grep "bad.csv: the first line is not the bronze header" err &&
	test "$(grep "^txnflow clean: error:" err | grep -o "bad.csv" | wc -l)" = 1 &&
	test_path_is_missing h/silver/transactions
'

# The manifest is the batch (issue 16): a part file it does not list, or
# rows and an ingest date the data disagrees with, stop the clean, naming
# the file; nothing is written.
test_expect_success 'a part file the manifest does not list is an error' '
	txnflow generate --data g --date 2025-09-01 --rows 50 >/dev/null &&
	cp -r g g2 &&
	b=g2/bronze/transactions/ingest_date=2025-09-01 &&
	cp $b/part-00000.csv $b/part-00001.csv &&
	test_expect_code 4 txnflow clean --data g2 --date 2025-09-01 2>err &&
	test_grep "^txnflow clean: error:.*part-00001.csv: in the batch folder but not listed in _manifest.json" err &&
	test_path_is_missing g2/silver/transactions &&
	rm $b/part-00001.csv &&
	: >$b/.part-00001.csv.tmp &&
	txnflow clean --data g2 --date 2025-09-01 >/dev/null
'

test_expect_success 'the manifest rows must match the data records' '
	cp -r g g3 &&
	m=g3/bronze/transactions/ingest_date=2025-09-01/_manifest.json &&
	n=$(sed -n "s/.*\"rows\": \([0-9]*\),.*/\1/p" $m | head -1) &&
	sed -i "0,/\"rows\": $n,/s//\"rows\": $((n + 1)),/" $m &&
	test_expect_code 4 txnflow clean --data g3 --date 2025-09-01 2>err &&
	test_grep "^txnflow clean: error:.*part-00000.csv: $n data records, the manifest says $((n + 1))" err &&
	test_path_is_missing g3/silver/transactions
'

test_expect_success 'the manifest ingest_date must be the batch date' '
	cp -r g g4 &&
	m=g4/bronze/transactions/ingest_date=2025-09-01/_manifest.json &&
	sed -i "s/\"ingest_date\": \"2025-09-01\"/\"ingest_date\": \"2025-09-02\"/" $m &&
	test_expect_code 4 txnflow clean --data g4 --date 2025-09-01 2>err &&
	test_grep "^txnflow clean: error:.*_manifest.json: \"ingest_date\" is 2025-09-02, but the batch is ingest_date=2025-09-01" err &&
	test_path_is_missing g4/silver/transactions
'

test_expect_success 'a part file changed in place fails its SHA-256, on 1 and 2 threads' '
	for t in 1 2; do
		rm -rf g5 && cp -r g g5 &&
		f=g5/bronze/transactions/ingest_date=2025-09-01/part-00000.csv &&
		sed -i "2s/,pos,/,POS,/; 2s/,online,/,ONLINE,/; 2s/,mobile,/,MOBILE,/" $f &&
		test_expect_code 4 txnflow clean --data g5 --date 2025-09-01 --threads $t 2>err &&
		test_grep "^txnflow clean: error:.*part-00000.csv: SHA-256 [0-9a-f]*, manifest says" err &&
		test_path_is_missing g5/silver/transactions &&
		# a line break gone: the hash, not the record count, is the error
		rm -rf g5 && cp -r g g5 &&
		sed -i "3{N;s/\n/ /}" $f &&
		test_expect_code 4 txnflow clean --data g5 --date 2025-09-01 --threads $t 2>err &&
		test_grep "^txnflow clean: error:.*part-00000.csv: SHA-256" err &&
		test_path_is_missing g5/silver/transactions || return 1
	done
'

test_done
