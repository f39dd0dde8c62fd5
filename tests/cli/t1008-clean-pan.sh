#!/bin/bash
# clean of a card feed (feed: pan: true): card_number becomes card_token
# (HMAC-SHA256 of its digits, checked with openssl), card_bin, card_last4
# and card_key_id in silver; no key is a configuration error before
# anything is written; malformed numbers go to quarantine as
# bad_card_number (the truth's lines), and quarantine holds every rejected
# line with its card number masked to BIN + last 4.
. "$(dirname "$0")/../lib/test-lib.sh"

unset TXNFLOW_PAN_KEY TXNFLOW_PAN_KEY_FILE
KEY=0123456789abcdef0123456789abcdef
HDR=transaction_id,customer_id,card_id,merchant_id,txn_ts,amount,currency,mcc,status,is_refund,channel,ingested_at,original_transaction_id,card_number
B=d/bronze/transactions/ingest_date
Q=d/quarantine/transactions/ingest_date

test_expect_success 'a card feed and no key: exit 4, nothing written' '
	txnflow generate --data d --date 2025-09-01 --days 2 --rows 1500 \
		--malformed-rate 0.03 --pan &&
	test_expect_code 4 txnflow clean --data d --date 2025-09-01 2>err &&
	test_grep "card_number column" err &&
	test_grep "TXNFLOW_PAN_KEY_FILE" err &&
	test_grep "nothing was written" err &&
	! test -e d/silver && ! test -e d/quarantine
'

test_expect_success 'a key file others may read: exit 4 naming why, nothing written' '
	printf "%s\n" $KEY >key && chmod 644 key &&
	TXNFLOW_PAN_KEY_FILE=$PWD/key test_expect_code 4 \
		txnflow clean --data d --date 2025-09-01 2>err &&
	test_grep "mode 0644" err &&
	! grep -q $KEY err &&
	! test -e d/silver && ! test -e d/quarantine
'

export TXNFLOW_PAN_KEY_FILE=$PWD/key
test_expect_success 'with the key: two days clean, the key id in every row' '
	chmod 600 key &&
	txnflow clean --data d --date 2025-09-01 >/dev/null &&
	txnflow clean --data d --date 2025-09-02 >/dev/null &&
	txnflow keys id >kid &&
	txnflow sql --memory --format csv "SELECT DISTINCT card_key_id FROM read_parquet(\"d/silver/transactions/**/*.parquet\")" >ids &&
	{ echo card_key_id && cat kid; } >expect &&
	test_cmp expect ids
'

# Every silver row against its bronze line: BIN and last 4 are its card
# number's digits (spaces, dashes removed); the token is HMAC-SHA256 of
# those digits under the key, as openssl computes it (for 150 cards: one
# openssl a card).
test_expect_success 'tokens are HMAC-SHA256 of the digits; BIN and last 4 kept' '
	txnflow sql --memory --format csv "SELECT transaction_id, card_token, card_bin, card_last4 FROM read_parquet(\"d/silver/transactions/**/*.parquet\") ORDER BY 1" |
		tail -n +2 | sort >got &&
	test_line_count -gt 2000 got &&
	cat $B=*/part-*.csv | awk -F, "NF == 14 { n = \$14; gsub(/[ -]/, \"\", n); print \$1 \",\" n }" |
		sort -u >digits &&
	join -t, got digits >both &&
	test $(wc -l <both) = $(wc -l <got) &&
	! awk -F, "\$3 != substr(\$5, 1, 6) || \$4 != substr(\$5, length(\$5) - 3)" both | grep . &&
	awk -F, "{ print \$5 }" both | sort -u | head -150 >pans &&
	test_line_count = 150 pans &&
	while read -r p; do
		printf "%s," "$p" &&
		printf "%s" "$p" | openssl dgst -sha256 -hmac $KEY | sed "s/.*= //"
	done <pans >want &&
	awk -F, "{ print \$5 \",\" \$2 }" both | sort -u >have &&
	join -t, want have >agree &&
	test_line_count = 150 agree &&
	! awk -F, "\$2 != \$3" agree | grep .
'

test_expect_success 'audit (with the key) agrees with the truth; index rebuild reads the lake' '
	txnflow audit --data d >out &&
	test_grep "^audit: ok" out &&
	TXNFLOW_PAN_KEY_FILE= test_expect_code 4 txnflow audit --data d 2>err &&
	test_grep "needs the card number key" err &&
	txnflow index rebuild --data d --json >out &&
	test_grep "\"partitions\"" out
'

test_expect_success 'one card id, one token (the same card under one key)' '
	txnflow sql --memory --format csv "SELECT count(DISTINCT card_id) = count(DISTINCT card_token) AND count(DISTINCT card_id) = count(DISTINCT (card_id, card_token)) AS ok FROM read_parquet(\"d/silver/transactions/**/*.parquet\")" >out &&
	test_grep "^true$" out
'

test_expect_success 'bad_card_number: exactly the truth'"'"'s malformed card numbers' '
	for day in 01 02; do
		cat d/truth/transactions/ingest_date=2025-09-$day/lines.csv |
			awk -F, "\$5 == \"bad_card_number\" { print \$2 }" | sort -n >want &&
		awk -F, "\$3 == \"bad_card_number\" { print \$2 }" \
			$Q=2025-09-$day/rejects.csv | sort -n >got &&
		test_line_count -gt 2 got &&
		test_cmp want got || return 1
	done &&
	grep ",bad_card_number," $Q=*/rejects.csv >bad &&
	test_grep "wrong check digit (15 digits)" bad &&
	test_grep "wrong check digit (16 digits)" bad
'

test_expect_success 'quarantine: every card number masked, no PAN anywhere' '
	for day in 01 02; do
		f=$Q=2025-09-$day/rejected_lines.csv &&
		head -1 $f >hdr && echo "$HDR" >expect && test_cmp expect hdr &&
		tail -n +2 $f | awk -F, "NF == 14 { print \$14 }" >cards &&
		test_line_count -gt 10 cards &&
		! grep -v -E "^[0-9]{6}[* -]*[*][* -]*[0-9 -]*[0-9]{4}$" cards || return 1
	done &&
	! grep -E "(^|[^0-9A-Za-z])[0-9]([ -]?[0-9]){11,18}([^0-9A-Za-z]|$)" \
		$Q=*/rejected_lines.csv $Q=*/rejects.csv &&
	txnflow scan-pans d >out &&
	test_grep "^scan-pans: 0 card numbers" out
'

test_expect_success 'a line malformed elsewhere keeps its number masked too' '
	L="X0,C1,K1,M1,2025-09-01T10:00:00+09:00,100,KRW,5411,approved,false,pos,2025-09-01T10:00:01+09:00," &&
	{
	echo "$HDR" &&
	echo "$L,4111 1111 1111 1111" | sed "s/^X0/X1/" &&
	echo "$L,4111111111111111" | sed "s/^X0/X2/; s/,100,/,4111 1111 1111 1111,/" &&
	echo "$L,4111-1111-1111-1112" | sed "s/^X0/X3/" &&
	echo "$L,411111111111" | sed "s/^X0/X4/" &&
	echo "X6,4111111111111111,K1" &&
	echo "$L,4111 1111 1111 111" | sed "s/^X0/X7/" &&
	echo "X5,C1,K1,M1,\"2025-09-01T10:00:00+09:00,100,KRW,5411,4111111111111111"
	} >in.csv &&
	txnflow clean --data m --date 2025-09-01 --input in.csv --json >rep &&
	test_grep "\"inserted\": 1" rep &&
	q=m/quarantine/transactions/ingest_date=2025-09-01 &&
	{
	echo "$HDR" &&
	echo "$L,411111******1111" | sed "s/^X0/X2/; s/,100,/,4111 11** **** 1111,/" &&
	echo "$L,4111-11**-****-1112" | sed "s/^X0/X3/" &&
	echo "$L,411111**1111" | sed "s/^X0/X4/" &&
	echo "X6,411111******1111,K1" &&
	echo "$L,4111 11** ***1 111" | sed "s/^X0/X7/" &&
	echo "X5,C1,K1,M1,\"2025-09-01T10:00:00+09:00,100,KRW,5411,411111******1111"
	} >expect &&
	test_cmp expect $q/rejected_lines.csv &&
	cut -d, -f3 $q/rejects.csv >reasons &&
	printf "%s\n" reason bad_amount bad_card_number bad_card_number \
		wrong_columns bad_card_number stray_quote >expect &&
	test_cmp expect reasons &&
	test_grep "want 14" $q/rejects.csv &&
	test_grep "(12 digits)\|12 digits" $q/rejects.csv &&
	! grep -E "[0-9]{7}" $q/rejects.csv $q/rejected_lines.csv
'

test_expect_success 'the same batch again changes nothing, to the byte' '
	find d/silver -name "*.parquet" -path "*year=*" | sort | xargs sha256sum >before &&
	txnflow clean --data d --date 2025-09-02 >/dev/null &&
	find d/silver -name "*.parquet" -path "*year=*" | sort | xargs sha256sum >after &&
	test_cmp before after
'

test_expect_success 'another key on a lake of this key: exit 4, the lake unchanged' '
	TXNFLOW_PAN_KEY_FILE= TXNFLOW_PAN_KEY=fedcba9876543210fedcba9876543210 \
		test_expect_code 4 txnflow clean --data d --date 2025-09-02 2>err &&
	test_grep "keys rotate" err &&
	find d/silver -name "*.parquet" -path "*year=*" | sort | xargs sha256sum >after &&
	test_cmp before after
'

test_expect_success 'a batch without card numbers into a lake with them: exit 4' '
	txnflow generate --data d --date 2025-09-03 --rows 500 &&
	test_expect_code 4 txnflow clean --data d --date 2025-09-03 2>err &&
	test_grep "card columns" err
'

test_done
