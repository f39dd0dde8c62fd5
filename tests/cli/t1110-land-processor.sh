#!/bin/bash
# A card processor's own files, end to end: a CP949 CSV with semicolons,
# Korean column names, amounts in minor units, local times without offset,
# gzip, a {name}.done marker; mapped by feed.format, landed by
# `txnflow land`, cleaned and built by `txnflow run`; then the ways such a
# delivery goes wrong (a cut .gz, a file still being written, a manifest
# edited by hand, a mapping error on every line, the same or other bytes
# landed again) each give a clear error or quarantine and lose nothing.
# The expected silver rows are computed here, by awk, from the lines the
# test wrote (not by txnflow's code).
. "$(dirname "$0")/../lib/test-lib.sh"

D=2025-09-01
B=p/data/bronze/transactions/ingest_date=$D

# The processor's layout, in txnflow.yml.
feed_section() {
	cat <<-\EOF
	feed:
	  kind: landed
	  poke_interval: 50ms
	  wait: 3s
	  stable_for: 1s
	  marker: "{name}.done"
	  format:
	    delimiter: ";"
	    encoding: cp949
	    compression: gzip
	    columns:
	      transaction_id: 승인번호
	      customer_id: 고객번호
	      card_id: 카드번호
	      merchant_id: 가맹점명
	      txn_ts: {column: 거래일시, format: "%Y%m%d%H%M%S", zone: Asia/Seoul}
	      amount: {column: 거래금액, unit: minor}
	      currency: 통화코드
	      mcc: 업종코드
	      status: {column: 응답코드, map: {"00": approved, "05": declined, "P1": pending}}
	      is_refund: {column: 취소구분, map: {"0": false, "1": true}}
	      channel: {column: 거래매체, map: {"01": pos, "02": online, "03": mobile}}
	      ingested_at: {column: 수신시각, format: "%Y-%m-%d %H:%M:%S.%f", zone: Asia/Seoul}
	      original_transaction_id: 원거래승인번호
	EOF
}

# with_feed DIR: DIR/txnflow.yml's feed: section replaced by feed_section
with_feed() {
	awk -v sect="$(feed_section)" '
		/^feed:/ { print sect; skip = 1; next }
		skip && /^[^ #]/ { skip = 0 }
		!skip' "$1/txnflow.yml" >"$1/txnflow.yml.new" &&
	mv "$1/txnflow.yml.new" "$1/txnflow.yml"
}

HDR="승인번호;가맹점명;거래일시;고객번호;카드번호;거래금액;통화코드;업종코드;응답코드;취소구분;거래매체;수신시각;원거래승인번호"

# lines N PREFIX DAY: N transactions of local day DAY (YYYYMMDD), UTF-8, in
# the processor's order; every 25th is delivered twice (the same bytes)
lines() {
	awk -v n="$1" -v pre="$2" -v day="$3" 'BEGIN {
		split("5812 5411 5541 5999", mcc, " ");
		for (i = 1; i <= n; i++) {
			hh = i % 24; mm = (i * 7) % 60; ss = (i * 13) % 60;
			ts = sprintf("%s%02d%02d%02d", day, hh, mm, ss);
			ing = sprintf("%s-%s-%s %02d:%02d:%02d.250", substr(day, 1, 4),
			              substr(day, 5, 2), substr(day, 7, 2), hh, mm, (ss + 5) % 60);
			if (ss + 5 >= 60) ing = sprintf("%s-%s-%s %02d:%02d:%02d.250",
			              substr(day, 1, 4), substr(day, 5, 2), substr(day, 7, 2),
			              hh, mm, 59);
			cur = i % 5 == 0 ? "USD" : i % 11 == 0 ? "JPY" : "KRW";
			amt = cur == "USD" ? i * 7 + 1 : (i * 130) % 100000 + 100;
			st = i % 7 == 0 ? "05" : "00";
			ch = sprintf("%02d", i % 3 + 1);
			l = sprintf("%s%05d;가맹점%02d;%s;C%03d;K%03d;%d;%s;%s;%s;0;%s;%s;",
			            pre, i, i % 20, ts, i % 50, i % 50, amt, cur, mcc[i % 4 + 1],
			            st, ch, ing);
			print l;
			if (i % 25 == 0) print l;
		}
	}'
}

# expected_silver N PREFIX DAY: the rows silver must hold for lines(N),
# computed from the same numbers (local time - 9 h = UTC; minor units by
# the currency's digits), as DuckDB prints them
expected_silver() {
	awk -v n="$1" -v pre="$2" -v day="$3" 'BEGIN {
		st["00"] = "approved"; st["05"] = "declined";
		ch[1] = "pos"; ch[2] = "online"; ch[3] = "mobile";
		split("5812 5411 5541 5999", mcc, " ");
		for (i = 1; i <= n; i++) {
			hh = i % 24; mm = (i * 7) % 60; ss = (i * 13) % 60;
			t = mktime(sprintf("%s %s %s %d %d %d", substr(day, 1, 4),
			           substr(day, 5, 2), substr(day, 7, 2), hh, mm, ss)) - 9 * 3600;
			cur = i % 5 == 0 ? "USD" : i % 11 == 0 ? "JPY" : "KRW";
			amt = cur == "USD" ? sprintf("%.2f", (i * 7 + 1) / 100) \
			                   : sprintf("%d.00", (i * 130) % 100000 + 100);
			printf "%s%05d,C%03d,가맹점%02d,%d,%s,%s,%s,%s,%s\n", pre, i, i % 50,
			       i % 20, t, amt, cur, mcc[i % 4 + 1], i % 7 == 0 ? "declined" : "approved",
			       ch[i % 3 + 1];
		}
	}' | sort
}

silver() {
	txnflow -C p sql --format csv "SELECT transaction_id, customer_id,
		merchant_id, epoch(txn_ts)::BIGINT, amount, currency, mcc, status,
		channel FROM read_parquet('data/silver/transactions/**/*.parquet')
		WHERE transaction_id LIKE '$1%' ORDER BY 1" | tail -n +2 | sort
}

# processor_file PATH N PREFIX DAY [EXTRA]: the processor's .csv.gz in
# CP949, with EXTRA lines (UTF-8, converted too) at the end
processor_file() {
	{ echo "$HDR"; lines "$2" "$3" "$4"; printf '%s' "${5:-}"; } |
		iconv -f UTF-8 -t CP949 | gzip -n >"$1"
}

BAD_LINES='X0001;가맹점01;20250901101500;C001;K001;12a;KRW;5812;00;0;01;2025-09-01 10:15:03.000;
X0002;가맹점01;20250901101500;C001;K001;1200;KRW;5812;99;0;01;2025-09-01 10:15:03.000;
X0003;가맹점01;20250931101500;C001;K001;1200;KRW;5812;00;0;01;2025-09-01 10:15:03.000;
'

test_expect_success 'a project with the processor layout, and its file' '
	txnflow init p >/dev/null &&
	with_feed p &&
	mkdir inbox &&
	processor_file inbox/settle_20250901.csv.gz 300 P 20250901 "$BAD_LINES" &&
	zcat inbox/settle_20250901.csv.gz | iconv -f CP949 -t UTF-8 | head -1 >hdr &&
	echo "$HDR" >want && test_cmp want hdr &&
	! zcat inbox/settle_20250901.csv.gz | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1
'

test_expect_success 'land --help, and --dry-run shows the mapping without writing' '
	txnflow land --help >out &&
	test_grep "^usage: txnflow land --date D" out &&
	test_grep "^Examples" out &&
	txnflow -C p land --date $D --dry-run ../inbox/settle_20250901.csv.gz >dry &&
	test_grep "^line 1: P00001;가맹점01;20250901010713;" dry &&
	test_grep "  txn_ts  *2025-09-01T01:07:13+09:00" dry &&
	test_grep "  merchant_id  *가맹점01" dry &&
	test_grep "  channel  *online" dry &&
	test_grep "a clean of the whole file: 315 lines = 312 valid + 3 quarantined; 300 distinct ids, 12 lines repeat an id" dry &&
	test_grep "quarantined bad_amount  *1" dry &&
	test_path_is_missing p/data/bronze &&
	txnflow -C p land --date $D --dry-run ../inbox/settle_20250901.csv.gz --json >dry.json &&
	test_grep "\"repeated_ids\": 12" dry.json
'

test_expect_success 'a byte that is not CP949: the line is quarantined, the rest is read' '
	{ echo "$HDR" | iconv -f UTF-8 -t CP949; printf "B1;\\377\\376;x\\n"; lines 2 B 20250901 | iconv -f UTF-8 -t CP949; } |
		gzip -n >notcp949.csv.gz &&
	txnflow -C p land --date $D --dry-run ../notcp949.csv.gz --json >nc.json &&
	test_grep "\"invalid_utf8\": 1" nc.json &&
	test_grep "\"valid\": 2" nc.json &&
	grep -F "B1;$(printf "\\357\\277\\275\\357\\277\\275");x" nc.json
'

test_expect_success 'without its marker the file is not landed' '
	test_must_fail txnflow -C p land --date $D ../inbox/settle_20250901.csv.gz 2>err &&
	test_grep "settle_20250901.csv.gz is not complete: its marker .*settle_20250901.csv.gz.done is not there yet" err &&
	test_path_is_missing $B
'

test_expect_success 'a crash before the commit leaves no batch; the rerun lands it' '
	touch inbox/settle_20250901.csv.gz.done &&
	test_expect_code 3 env TXNFLOW_CRASH_AT=land-staged \
		"$TXNFLOW" -C p land --date $D ../inbox/settle_20250901.csv.gz &&
	test_path_is_missing $B &&
	ls -a p/data/bronze/transactions | grep -q "tmp-" &&
	txnflow -C p land --date $D ../inbox/settle_20250901.csv.gz >out &&
	test_grep "^landed ingest_date=$D: 1 file, 315 rows" out &&
	! ls -a p/data/bronze/transactions | grep -q "tmp-" &&
	sha=$(sha256sum inbox/settle_20250901.csv.gz | cut -c1-64) &&
	test_grep "\"sha256\": \"$sha\"" $B/_manifest.json &&
	test_grep "\"rows\": 315" $B/_manifest.json &&
	test_grep "\"from\"" $B/_manifest.json &&
	cmp inbox/settle_20250901.csv.gz $B/settle_20250901.csv.gz &&
	txnflow -C p land --date $D --verify >out &&
	test_grep "1 file, 315 rows: size, SHA-256 and rows agree" out
'

test_expect_success 'landing the same bytes again changes nothing' '
	sha256sum $B/_manifest.json >m1 &&
	txnflow -C p land --date $D ../inbox >out &&
	test_grep "nothing to do" out &&
	sha256sum $B/_manifest.json >m2 &&
	test_cmp m1 m2
'

test_expect_success 'run: the sensor finds the batch, clean maps it, the marts build' '
	txnflow -C p run --date $D >run.out 2>&1 &&
	test "$(db "SELECT state FROM runs")" = success &&
	db "SELECT details_json FROM clean_runs WHERE state = '\''success'\''" >clean.json &&
	test_grep "\"lines_read\":315" clean.json &&
	test_grep "\"inserted\":300" clean.json &&
	test_grep "\"duplicates\":12" clean.json &&
	test_grep "\"quarantined\":3" clean.json &&
	test_grep "\"reconciled\":true" clean.json
'

test_expect_success 'silver holds what the lines say, converted' '
	expected_silver 300 P 20250901 >expect &&
	silver P >actual &&
	test_cmp expect actual
'

test_expect_success 'what does not convert is quarantined, naming the column' '
	Q=p/data/quarantine/transactions/ingest_date=$D &&
	cut -d, -f2- $Q/rejects.csv >got &&
	cat >want <<-\EOF &&
	line,reason,detail
	313,bad_amount,amount (거래금액): '\''12a'\'' is not a count of minor units (digits only)
	314,unknown_enum,status (응답코드): '\''99'\'' is not a code in its map
	315,bad_timestamp,txn_ts (거래일시): '\''20250931101500'\'' does not match its format
	EOF
	test_cmp want got &&
	head -1 $Q/rejected_lines.csv >h && echo "$HDR" >want && test_cmp want h &&
	tail -n +2 $Q/rejected_lines.csv >got && printf "%s" "$BAD_LINES" >want &&
	test_cmp want got
'

test_expect_success 'audit passes and the reconciliation adds up' '
	txnflow -C p audit >audit.out &&
	test_grep "^audit: ok" audit.out &&
	txnflow -C p sql --format csv "SELECT count(*), count(*) FILTER (WHERE status = '\''ok'\'') FROM mart_reconciliation" | tail -1 >got &&
	n=$(cut -d, -f1 got) && test "$n" -gt 5 && echo "$n,$n" >want && test_cmp want got &&
	txnflow -C p sql --format csv "SELECT SUM(purchase_count) FROM mart_sales_daily" | tail -1 >got &&
	awk "BEGIN { for (i = 1; i <= 300; i++) if (i % 7) n++; print n }" >want &&
	test_cmp want got
'

test_expect_success 'landed twice, run again: nothing changes' '
	lake_sums p/data >sums1 &&
	txnflow -C p land --date $D ../inbox/settle_20250901.csv.gz >out &&
	test_grep "nothing to do" out &&
	txnflow -C p run --date $D >out 2>&1 &&
	test_grep "already succeeded" out &&
	lake_sums p/data >sums2 &&
	test_cmp sums1 sums2
'

test_expect_success 'a cut .gz is refused and nothing is landed' '
	processor_file full.gz 300 Q 20250902 &&
	head -c $(($(stat -c %s full.gz) / 2)) full.gz >inbox/settle_20250902.csv.gz &&
	touch inbox/settle_20250902.csv.gz.done &&
	test_must_fail txnflow -C p land --date 2025-09-02 ../inbox/settle_20250902.csv.gz 2>err &&
	test_grep "truncated gzip stream (the file is incomplete)" err &&
	test_path_is_missing p/data/bronze/transactions/ingest_date=2025-09-02 &&
	lake_sums p/data >sums3 && test_cmp sums1 sums3
'

test_expect_success 'a file still being written is not landed' '
	cp -r p q && sed -i "/marker:/d" q/txnflow.yml &&
	processor_file grow.gz 50 G 20250903 &&
	cp grow.gz inbox/grow.csv.gz &&
	{ ( for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
		cat grow.gz >>inbox/grow.csv.gz; sleep 0.2; done ) & } &&
	sleep 0.1 &&
	test_must_fail txnflow -C q land --date 2025-09-03 ../inbox/grow.csv.gz 2>err &&
	wait &&
	test_grep "grow.csv.gz is still being written: [0-9]* bytes, then [0-9]* bytes 1s later" err &&
	test_path_is_missing q/data/bronze/transactions/ingest_date=2025-09-03 &&
	rm -rf q
'

test_expect_success 'a wrong SHA-256 in a hand-edited manifest: verify and clean refuse' '
	cp $B/_manifest.json manifest.good &&
	sed -i "s/\"sha256\": \"\(.\)/\"sha256\": \"0\1/; s/\"sha256\": \"0\(.\{63\}\).\"/\"sha256\": \"0\1\"/" $B/_manifest.json &&
	! cmp -s manifest.good $B/_manifest.json &&
	test_must_fail txnflow -C p land --date $D --verify 2>err &&
	test_grep "settle_20250901.csv.gz: SHA-256 [0-9a-f]*, manifest says 0" err &&
	test_must_fail txnflow -C p clean --date $D 2>err &&
	test_grep "SHA-256 .*manifest says" err &&
	lake_sums p/data >sums4 && test_cmp sums1 sums4 &&
	cp manifest.good $B/_manifest.json
'

test_expect_success 'a mapping error on every line: all quarantined, the lake keeps its rows' '
	{ echo "$HDR"; lines 40 Z 20250904 | sed "s/;\(KRW\|USD\|JPY\);/;XYZ1;/"; } |
		iconv -f UTF-8 -t CP949 | gzip -n >inbox/bad.csv.gz &&
	touch inbox/bad.csv.gz.done &&
	txnflow -C p land --date 2025-09-04 ../inbox/bad.csv.gz &&
	txnflow -C p clean --date 2025-09-04 --json >bad.json &&
	test_grep "\"inserted\": 0" bad.json &&
	test_grep "\"quarantined\": 41" bad.json &&
	test_grep "\"bad_currency\": 41" bad.json &&
	test_grep "currency (통화코드): '\''XYZ1'\'' is not an ISO 4217 code" \
		p/data/quarantine/transactions/ingest_date=2025-09-04/rejects.csv &&
	silver P >after && expected_silver 300 P 20250901 >expect && test_cmp expect after &&
	txnflow -C p audit >/dev/null
'

test_expect_success 'other bytes for a cleaned day: refused, then --replace and the next run cleans again' '
	processor_file inbox2.gz 310 P 20250901 &&
	mkdir inbox2 && mv inbox2.gz inbox2/settle_20250901.csv.gz &&
	touch inbox2/settle_20250901.csv.gz.done &&
	test_must_fail txnflow -C p land --date $D ../inbox2 2>err &&
	test_grep "ingest_date=$D was already cleaned from other files" err &&
	test_grep "land --replace" err &&
	sha256sum $B/_manifest.json >m3 && test_cmp m1 m3 &&
	txnflow -C p land --date $D ../inbox2 --replace >out &&
	test_grep "^replaced ingest_date=$D: 1 file, 322 rows" out &&
	txnflow -C p run --date $D >out 2>&1 &&
	test_grep "the bronze batch was replaced since its last clean" out &&
	test "$(db "SELECT count(*) FROM clean_runs WHERE ingest_date = '\''$D'\'' AND state = '\''success'\''")" = 2 &&
	expected_silver 310 P 20250901 >expect && silver P >actual && test_cmp expect actual &&
	txnflow -C p audit >/dev/null &&
	txnflow -C p run --date $D >out 2>&1 &&
	test_grep "already succeeded" out
'

test_expect_success 'the sensor lands from feed.landing when the marker is there' '
	sed -i "s|^  kind: landed|  kind: landed\n  landing: ../drop/{date}|" p/txnflow.yml &&
	mkdir -p drop/2025-09-05 &&
	processor_file drop/2025-09-05/s.csv.gz 30 L 20250905 &&
	touch drop/2025-09-05/s.csv.gz.done &&
	txnflow -C p run --date 2025-09-05 >out 2>&1 &&
	test_grep "landed 1 file from" out &&
	test_path_is_file p/data/bronze/transactions/ingest_date=2025-09-05/s.csv.gz &&
	expected_silver 30 L 20250905 >expect && silver L >actual && test_cmp expect actual
'

test_expect_success 'without the marker the sensor times out naming the landing and the command' '
	mkdir -p drop/2025-09-06 &&
	processor_file drop/2025-09-06/s.csv.gz 30 M 20250906 &&
	test_must_fail txnflow -C p run --date 2025-09-06 >out 2>&1 &&
	db "SELECT error FROM task_attempts WHERE task = '\''sensor'\'' ORDER BY attempt_id DESC LIMIT 1" >msg &&
	test_grep "sensor timed out after 3[.0]*s waiting for .*ingest_date=2025-09-06/_manifest.json, to land from feed.landing .*drop/2025-09-06 (.*s.csv.gz is not complete: its marker .*s.csv.gz.done is not there yet); land them with: txnflow -C .*/p land --date 2025-09-06 FILE|DIR" msg &&
	test_path_is_missing p/data/bronze/transactions/ingest_date=2025-09-06
'

test_expect_success 'files dropped into the batch dir are landed where they are' '
	sed -i "/^  landing:/d" p/txnflow.yml &&
	B7=p/data/bronze/transactions/ingest_date=2025-09-07 &&
	mkdir -p $B7 &&
	processor_file $B7/dropped.csv.gz 20 W 20250907 &&
	ino=$(stat -c %i $B7/dropped.csv.gz) &&
	test_must_fail txnflow -C p clean --date 2025-09-07 2>err &&
	test_grep "no manifest" err &&
	touch $B7/dropped.csv.gz.done &&
	txnflow -C p land --date 2025-09-07 data/bronze/transactions/ingest_date=2025-09-07 >out &&
	test_grep "^landed ingest_date=2025-09-07: 1 file, 20 rows" out &&
	test "$(stat -c %i $B7/dropped.csv.gz)" = "$ino" &&
	test_path_is_missing $B7/dropped.csv.gz.done &&
	txnflow -C p clean --date 2025-09-07 >/dev/null &&
	expected_silver 20 W 20250907 >expect && silver W >actual && test_cmp expect actual
'

test_expect_success 'another layout: no header, columns by number, fixed values, ISO times' '
	txnflow init r >/dev/null &&
	awk -v sect="feed:
  kind: landed
  stable_for: 1s
  format:
    header: false
    columns:
      transaction_id: 2
      customer_id: 1
      card_id: 1
      merchant_id: {value: SHOP-1}
      txn_ts: 3
      amount: 4
      currency: {value: USD}
      mcc: {value: "5812"}
      status: {value: approved}
      is_refund: {value: "false"}
      channel: {column: 5, map: {W: online, S: pos}}
      ingested_at: {column: 3, zone: America/New_York}" "
		/^feed:/ { print sect; skip = 1; next }
		skip && /^[^ #]/ { skip = 0 }
		!skip" r/txnflow.yml >r/y && mv r/y r/txnflow.yml &&
	for i in 1 2 3 4 5 6 7 8 9; do
		echo "C$i,N$i,2025-09-08T1$i:00:00-04:00,$i.5$i,W"
	done >plain.csv &&
	echo "C0,N0,2025-09-08T10:00:00,1.00,S" >>plain.csv &&
	txnflow -C r land --date 2025-09-08 ../plain.csv >out &&
	test_grep "1 file, 10 rows" out &&
	txnflow -C r clean --date 2025-09-08 --json >r.json &&
	test_grep "\"inserted\": 9" r.json &&
	test_grep "\"quarantined\": 1" r.json &&
	test_grep "txn_ts (3): '\''2025-09-08T10:00:00'\'' is not ISO 8601" \
		r/data/quarantine/transactions/ingest_date=2025-09-08/rejects.csv &&
	txnflow -C r sql --format csv "SELECT count(*), sum(amount), min(merchant_id), max(channel)
		FROM read_parquet('\''data/silver/transactions/**/*.parquet'\'')" | tail -1 >got &&
	echo "9,49.95,SHOP-1,online" >want && test_cmp want got &&
	txnflow -C r audit >/dev/null
'

test_done
