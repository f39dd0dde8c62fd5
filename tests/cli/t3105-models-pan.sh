#!/bin/sh
# The default project on a card feed (feed: pan: true): the models key a
# card on its token (var pan), and fraud signals and RFM are the same as
# the same feed's without card numbers keyed on card ids, once each token
# is mapped back to its card id (silver holds both; the generator's card
# ids are its cards, one number each). The warehouse holds no PAN.
. "$(dirname "$0")/../lib/test-lib.sh"
# two projects' models builds: no quarantine (decision 0001); clean with
# card numbers keeps it in t1007 and t1008
test_duckdb_heavy

unset TXNFLOW_PAN_KEY TXNFLOW_PAN_KEY_FILE
printf "%s\n" 0123456789abcdef0123456789abcdef >key && chmod 600 key
export TXNFLOW_PAN_KEY_FILE=$PWD/key

test_expect_success 'two projects, one feed: with card numbers and without' '
	txnflow init pp >/dev/null && txnflow init pn >/dev/null &&
	sed -i "s/^  rows: 5000 .*/  rows: 1500\n  pan: true/" pp/txnflow.yml &&
	sed -i "s/^  rows: 5000 .*/  rows: 1500/" pn/txnflow.yml &&
	for p in pp pn; do
		txnflow -C $p generate --date 2025-09-01 --days 5 --malformed-rate 0.02 &&
		for d in 01 02 03 04 05; do
			txnflow -C $p clean --date 2025-09-$d >/dev/null || return 1
		done &&
		txnflow -C $p models build --vars "{run_date: \"2025-09-05\"}" >$p.out &&
		grep "^Done: .* ok, 0 error" $p.out || return 1
	done
'

test_expect_success 'the card feed keys cards on tokens' '
	txnflow -C pp sql --format csv "SELECT count(*) FILTER (WHERE NOT regexp_full_match(card_id, '"'"'[0-9a-f]{64}'"'"')) AS bad, count(*) AS n FROM stg_transactions" >out &&
	tail -n +2 out | grep -q "^0,[1-9]" &&
	txnflow -C pn sql --format csv "SELECT count(*) FROM stg_transactions WHERE card_id LIKE '"'"'K%'"'"'" | tail -1 >n &&
	test "$(cat n)" -gt 5000
'

cat >cmp.sql <<'EOF'
ATTACH 'pp/data/warehouse.duckdb' AS p (READ_ONLY);
ATTACH 'pn/data/warehouse.duckdb' AS n (READ_ONLY);
CREATE TEMP TABLE map AS SELECT DISTINCT card_token, card_id
	FROM read_parquet('pp/data/silver/transactions/**/*.parquet');
CREATE TEMP TABLE pf AS SELECT f.* REPLACE (m.card_id AS card_id)
	FROM p.mart_fraud_signals f LEFT JOIN map m ON m.card_token = f.card_id;
SELECT (SELECT count(*) FROM pf) AS signals,
	(SELECT count(*) FROM n.mart_fraud_signals) AS signals_n,
	(SELECT count(*) FROM pf WHERE card_id IS NULL) AS unmapped,
	(SELECT count(*) FROM (SELECT * FROM pf EXCEPT ALL
		SELECT * FROM n.mart_fraud_signals)) AS only_p,
	(SELECT count(*) FROM (SELECT * FROM n.mart_fraud_signals EXCEPT ALL
		SELECT * FROM pf)) AS only_n,
	(SELECT count(*) FROM p.mart_rfm_customer) AS rfm,
	(SELECT count(*) FROM n.mart_rfm_customer) AS rfm_n,
	(SELECT count(*) FROM (SELECT * FROM p.mart_rfm_customer EXCEPT ALL
		SELECT * FROM n.mart_rfm_customer)) AS rfm_only_p,
	(SELECT count(*) FROM (SELECT * FROM n.mart_rfm_customer EXCEPT ALL
		SELECT * FROM p.mart_rfm_customer)) AS rfm_only_n;
EOF

test_expect_success 'fraud signals and RFM: the same, token for card id' '
	txnflow sql --memory --write --format csv "$(cat cmp.sql)" >cmp.out &&
	cat cmp.out &&
	tail -1 cmp.out >row &&
	IFS=, read -r s sn un op on r rn rop ron <row &&
	test "$s" -ge 1 && test "$s" = "$sn" && test "$un" = 0 &&
	test "$op" = 0 && test "$on" = 0 &&
	test "$r" -gt 1000 && test "$r" = "$rn" &&
	test "$rop" = 0 && test "$ron" = 0
'

test_expect_success 'no card number in the card feed'"'"'s project but bronze' '
	txnflow scan-pans pp >out &&
	test_grep "^scan-pans: 0 card numbers" out &&
	txnflow scan-pans --include-bronze pp >out;
	test $? = 1 && test_grep "bronze" out
'

test_done
