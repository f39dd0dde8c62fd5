#!/bin/sh
# The default project end to end: init, 11 days of synthetic feed, clean
# each day, a full `models build` after day 10 and an incremental one after
# day 11 (the dates clean rewrote); then the marts are checked against numbers
# computed independently from the generator's truth (t3100-models-marts.awk,
# not the models' SQL): daily net sales per MCC x channel to the won, RFM
# scores and segments of every customer, and the fraud rules on planted
# patterns. Finally an incremental build equals a full refresh.
. "$(dirname "$0")/../lib/test-lib.sh"
test_duckdb_heavy

CHECKER=$ROOT/tests/cli/t3100-models-marts.awk

# query SQL: the warehouse's answer as CSV without the header
query() { txnflow -C p sql --format csv "$1" | tail -n +2; }

test_expect_success 'a project with 11 days of feed, 10 cleaned' '
	txnflow init p &&
	txnflow -C p generate --date 2025-09-01 --days 11 &&
	for d in 01 02 03 04 05 06 07 08 09 10; do
		txnflow -C p clean --date 2025-09-$d >/dev/null || return 1
	done
'

test_expect_success 'the first models build (full) passes every test' '
	txnflow -C p models build --vars "{run_date: \"2025-09-10\"}" >build1.out &&
	grep "^Done: 20 ok, 0 error" build1.out &&
	! grep -E "FAIL|ERROR|WARN" build1.out
'

# The orchestrator's daily run: clean day 11, then an incremental build of
# the event dates that clean rewrote (late arrivals, newer versions).
test_expect_success 'day 11: clean, then an incremental build of the rewritten dates' '
	txnflow -C p clean --date 2025-09-11 --json >clean11.json &&
	dates=$(sed -n "/\"partitions_rewritten\"/,/]/p" clean11.json |
		grep -o "20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]" | sed "s/.*/\"&\"/" | paste -sd, -) &&
	test $(echo "$dates" | tr , "\n" | wc -l) -ge 3 &&
	txnflow -C p models build --vars "{run_date: \"2025-09-11\", dates: [$dates]}" >build.out &&
	grep "^Done: 20 ok, 0 error" build.out &&
	! grep -E "FAIL|ERROR|WARN" build.out
'

test_expect_success 'reconciliation: every check agrees' '
	query "SELECT count(*), count(*) FILTER (WHERE status = '\''ok'\'') FROM mart_reconciliation" >actual &&
	echo "11,11" >expect &&
	test_cmp expect actual
'

test_expect_success 'the truth: final approved transactions from bronze + truth' '
	set -- &&
	for b in p/data/bronze/transactions/ingest_date=*; do
		set -- "$@" "p/data/truth/transactions/${b##*/}/lines.csv" "$b"/part-*.csv
	done &&
	awk -f "$CHECKER" p/seeds/fx_rates.csv "$@" >truth.txt &&
	test $(wc -l <truth.txt) -gt 40000
'

test_expect_success 'daily net sales per MCC x channel match the truth to the won' '
	awk "{ k = \$1 \",\" \$3 \",\" \$4; net[k] += \$6; n[k]++ }
	     END { for (k in net) printf \"%s,%.0f,%d\n\", k, net[k], n[k] }" truth.txt |
		sort >expect &&
	query "SELECT strftime(event_date, '\''%Y-%m-%d'\''), mcc_code, channel,
	              net_sales_krw, txn_count FROM mart_sales_daily" | sort >actual &&
	test $(wc -l <expect) -gt 1000 &&
	test_cmp expect actual
'

# RFM from the truth, as of 2025-09-11: per customer with a purchase,
# recency (days since the last purchase), frequency (purchases), monetary
# (net won, refunds included); rank-based quintiles where ties share the
# lowest rank: score = 1 + floor(5 (rank - 1) / n), "better" sorted last.
rfm_expect() {
	awk -v asof=2025-09-11 '
	function days(s,    y, m, d) {
		y = substr(s, 1, 4) + 0; m = substr(s, 6, 2) + 0; d = substr(s, 9, 2) + 0
		if (m <= 2) { y--; m += 12 }
		return 365 * y + int(y / 4) - int(y / 100) + int(y / 400) + int((153 * (m - 3) + 2) / 5) + d
	}
	$1 <= asof {
		if ($5 == "false") { n[$2]++; if ($1 > last[$2]) last[$2] = $1 }
		net[$2] += $6
	}
	END { for (c in n) printf "%s %d %d %.0f\n", c, days(asof) - days(last[c]), n[c], net[c] }
	' truth.txt >rfm.raw &&
	total=$(wc -l <rfm.raw) &&
	score() { # column, sort flags (worst first) -> "customer score"
		sort -k"$1","$1""$2" rfm.raw |
			awk -v col="$1" -v n="$total" '$col != prev || NR == 1 { rank = NR; prev = $col }
				{ print $1, 1 + int(5 * (rank - 1) / n) }' | sort
	} &&
	score 2 nr >r.txt && score 3 n >f.txt && score 4 n >m.txt &&
	join r.txt f.txt | join - m.txt | awk '{
		r = $2; f = $3; m = $4
		if (r >= 4 && f >= 4 && m >= 4) s = "Champions"
		else if (r >= 3 && f >= 4) s = "Loyal"
		else if (r >= 4 && f >= 2) s = "Potential loyalists"
		else if (r >= 4) s = "New customers"
		else if (r <= 2 && f >= 4) s = "Cannot lose them"
		else if (r <= 2 && f >= 2) s = "At risk"
		else if (r == 1) s = "Lost"
		else if (r == 2) s = "Hibernating"
		else s = "Need attention"
		print $1 "," r "," f "," m "," s }'
}

test_expect_success 'RFM scores and segments of every customer match the truth' '
	rfm_expect >expect &&
	query "SELECT customer_id, r_score, f_score, m_score, segment
	       FROM mart_rfm_customer" | sort >actual &&
	test $(wc -l <expect) -gt 10000 &&
	test $(cut -d, -f5 expect | sort -u | wc -l) -ge 6 &&
	test_cmp expect actual
'

test_expect_success 'recency, frequency, monetary of a sample of customers' '
	sort rfm.raw | awk "NR % 500 == 1 { print \$1 \",\" \$2 \",\" \$3 \",\" \$4 }" >expect &&
	query "SELECT customer_id, recency_days, frequency, monetary_krw
	       FROM mart_rfm_customer" | sort | join -t, -o 0,1.2,1.3,1.4 - expect >actual &&
	test $(wc -l <expect) -gt 10 &&
	test_cmp expect actual
'

# Planted fraud patterns: a hand-made processor file for ingestion day
# 2025-09-12 (its times, 00:00-12:00 UTC, are 2025-09-12 in Seoul too),
# cleaned like any batch, so the models see it through the change log.
# Expected flags follow from the documented rules alone.
plant() {
	txnflow sql --write --memory "
	SET TimeZone = 'UTC';
	CREATE TABLE planted AS SELECT
	  id AS transaction_id, cust AS customer_id, card AS card_id, merch AS merchant_id,
	  strftime(CAST(ts AS TIMESTAMPTZ), '%Y-%m-%dT%H:%M:%S+00:00') AS txn_ts,
	  printf('%.2f', amt) AS amount, cur AS currency, mcc, st AS status,
	  'false' AS is_refund, ch AS channel,
	  strftime(CAST(ts AS TIMESTAMPTZ) + INTERVAL 5 SECOND, '%Y-%m-%dT%H:%M:%S+00:00') AS ingested_at,
	  '' AS original_transaction_id
	FROM (VALUES
	  ('PV1','CP0000001','KP0000001','MP0000001','2025-09-12 02:00:00+00', 5000.00,'KRW','5999','approved','pos'),
	  ('PV2','CP0000001','KP0000001','MP0000001','2025-09-12 02:01:00+00', 5000.00,'KRW','5999','approved','pos'),
	  ('PV3','CP0000001','KP0000001','MP0000001','2025-09-12 02:02:00+00', 5000.00,'KRW','5999','approved','pos'),
	  ('PV4','CP0000001','KP0000001','MP0000001','2025-09-12 02:03:00+00', 5000.00,'KRW','5999','declined','pos'),
	  ('PV5','CP0000001','KP0000001','MP0000001','2025-09-12 02:04:00+00', 5000.00,'KRW','5999','approved','pos'),
	  ('PV6','CP0000001','KP0000001','MP0000001','2025-09-12 02:05:00+00', 5000.00,'KRW','5999','approved','pos'),
	  ('PD1','CP0000002','KP0000002','MP0000001','2025-09-12 03:00:00+00', 90000.00,'KRW','5999','declined','online'),
	  ('PD2','CP0000002','KP0000002','MP0000001','2025-09-12 03:10:00+00', 90000.00,'KRW','5999','declined','online'),
	  ('PD3','CP0000002','KP0000002','MP0000001','2025-09-12 03:20:00+00', 90000.00,'KRW','5999','declined','online'),
	  ('PD4','CP0000002','KP0000002','MP0000001','2025-09-12 03:29:00+00', 90000.00,'KRW','5999','declined','online'),
	  ('PO1','CP0000003','KP0000003','MP0000001','2025-09-12 00:30:00+00', 10000.00,'KRW','5999','approved','pos'),
	  ('PO2','CP0000003','KP0000003','MP0000001','2025-09-12 01:30:00+00', 10000.00,'KRW','5999','approved','pos'),
	  ('PO3','CP0000003','KP0000003','MP0000001','2025-09-12 02:30:00+00', 10000.00,'KRW','5999','approved','pos'),
	  ('PO4','CP0000003','KP0000003','MP0000001','2025-09-12 03:30:00+00', 10000.00,'KRW','5999','approved','pos'),
	  ('PO5','CP0000003','KP0000003','MP0000001','2025-09-12 04:30:00+00', 10000.00,'KRW','5999','approved','pos'),
	  ('PO6','CP0000003','KP0000003','MP0000001','2025-09-12 05:30:00+00', 10000.00,'KRW','5999','approved','pos'),
	  ('PO7','CP0000003','KP0000003','MP0000001','2025-09-12 06:30:00+00', 2500000.00,'KRW','5999','approved','pos'),
	  ('PO8','CP0000003','KP0000003','MP0000001','2025-09-12 07:30:00+00', 95000.00,'KRW','5999','approved','pos'),
	  ('PF1','CP0000004','KP0000004','MP0000004','2025-09-12 08:00:00+00', 500.00,'USD','5816','approved','online'),
	  ('PF2','CP0000004','KP0000004','MP0000004','2025-09-12 09:00:00+00', 100.00,'USD','5816','approved','online'),
	  ('PF3','CP0000004','KP0000004','MP0000004','2025-09-12 10:00:00+00', 500.00,'USD','5816','approved','pos')
	  UNION ALL
	  SELECT 'PS' || lpad(CAST(i AS VARCHAR), 4, '0'), 'CP0000005', 'KP0000005', 'MP0000005',
	    CAST(TIMESTAMPTZ '2025-09-12 00:00:00+00' + i * INTERVAL 1 MINUTE AS VARCHAR), 8000.00, 'KRW', '5411', 'approved', 'pos'
	  FROM range(720) AS r(i)
	  UNION ALL
	  SELECT 'PB' || lpad(CAST(i AS VARCHAR), 4, '0'), 'CP0000005', 'KP0000005', 'MP0000005',
	    CAST(TIMESTAMPTZ '2025-09-12 06:00:00+00' + i * INTERVAL 4 SECOND AS VARCHAR), 8000.00, 'KRW', '5411', 'approved', 'pos'
	  FROM range(40) AS r(i)
	) AS v(id, cust, card, merch, ts, amt, cur, mcc, st, ch);
	COPY (SELECT * FROM planted ORDER BY txn_ts, transaction_id)
	  TO 'planted.csv' (HEADER, QUOTE '');" &&
	txnflow -C p clean --date 2025-09-12 --input "$PWD/planted.csv" >/dev/null
}

# card_velocity on a busy card, from the documented rule alone: an attempt
# is flagged when the card's attempts in the 10 minutes up to it (both ends
# included) reach max(5, ceil(mu + 6 sqrt(mu))), mu = 2 x the card's
# attempts that day x 10 / 1440. KP0000005 pays once a minute all morning
# (720 attempts: 11 in any window, which the absolute floor alone would
# flag) and makes a burst of 40 in 160 seconds at 06:00.
velocity_expect() {
	txnflow sql --memory --format csv "
	  SELECT transaction_id, epoch(txn_ts) FROM
	  read_parquet('p/data/silver/transactions/year=2025/month=09/day=12/*.parquet')
	  WHERE card_id = 'KP0000005'" | tail -n +2 |
	awk -F, '{ id[NR] = $1; ts[NR] = $2 + 0 }
	END {
		mu = 2 * NR * 10 / 1440; x = mu + 6 * sqrt(mu)
		thr = int(x) + (x > int(x)); if (thr < 5) thr = 5
		for (i = 1; i <= NR; i++) {
			n = 0
			for (j = 1; j <= NR; j++) if (ts[j] <= ts[i] && ts[j] >= ts[i] - 600) n++
			if (n >= thr) print id[i] ",card_velocity"
		}
	}'
}

test_expect_success 'fraud rules flag exactly the planted patterns' '
	plant &&
	txnflow -C p models build --vars "{run_date: \"2025-09-12\", dates: [\"2025-09-12\"]}" >build2.out &&
	grep "^Done: 20 ok, 0 error" build2.out &&
	query "SELECT transaction_id, rule FROM mart_fraud_signals
	       WHERE transaction_id LIKE '\''P%'\'' ORDER BY 1, 2" >actual &&
	{
		cat <<-\EOT &&
		PD3,decline_burst
		PD4,decline_burst
		PF1,foreign_online
		PO7,amount_outlier
		PV5,card_velocity
		PV6,card_velocity
		EOT
		velocity_expect
	} | LC_ALL=C sort >expect &&
	test $(grep -c "^PB" expect) -ge 10 &&
	! grep -q "^PS0[0-2]" expect &&
	LC_ALL=C sort actual >actual.sorted &&
	test_cmp expect actual.sorted
'

test_expect_success 'the incremental build equals a full refresh' '
	dump() {
		query "SELECT * FROM fact_transactions ORDER BY transaction_id" >"$1.fact" &&
		query "SELECT * FROM mart_sales_daily ORDER BY event_date, mcc_code, channel" >"$1.sales" &&
		warehouse_sums p/data/warehouse.duckdb >"$1.sums"
	} &&
	dump incr &&
	grep -q "^PO7," incr.fact &&
	test $(wc -l <incr.sums) -ge 18 &&
	txnflow -C p models build --full-refresh --vars "{run_date: \"2025-09-12\"}" >build3.out &&
	dump full &&
	test_cmp incr.fact full.fact &&
	test_cmp incr.sales full.sales &&
	test_cmp incr.sums full.sums
'

test_done
