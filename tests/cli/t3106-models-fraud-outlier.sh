#!/bin/bash
# amount_outlier judged as of the purchase's own day (decision 1502): a
# large purchase is compared with the customer's ordinary purchases on its
# event day and before, so a later day never restates it, and a late
# arrival restates exactly the purchases of its customer from its day on.
# Thresholds low enough that the rule fires often; half the events late or
# given a newer version (moved to another day, reversed). After every day
# built by change: the rule's rows equal an independent computation from
# the fact, and every table equals a --full-refresh build; over the days,
# late arrivals moved the norm of flags already published. What this
# proves is what the rule's SQL computes (DuckDB's answer): the script
# runs the release build (decision 0001).
. "$(dirname "$0")/../lib/test-lib.sh"
test_release_build "the SQL of the amount_outlier rule by change; builds by change under ASan in t3102 t3104 t3110 t3111 t1122"

# outliers FILE: the mart's amount_outlier rows as "id observed"
outliers() {
	txnflow_ref -C p sql --format csv "SELECT transaction_id, round(observed, 6)
		FROM mart_fraud_signals WHERE rule = 'amount_outlier' ORDER BY 1" |
	tail -n +2 | tr ',' ' ' >"$1"
}

# expected RUN_DATE FILE: the rule from the fact alone: an approved
# purchase of at least 200000 won, on or before RUN_DATE, whose customer
# made at least 3 approved purchases under 200000 won on its event day
# and before, and which is at least 2 x their average
expected() {
	txnflow_ref -C p sql --format csv "
	  WITH f AS (SELECT * FROM fact_transactions WHERE NOT is_refund),
	  big AS (SELECT * FROM f WHERE amount_krw >= 200000
	          AND event_date <= DATE '$1'),
	  norm AS (
	    SELECT b.transaction_id, count(o.transaction_id) AS n, sum(o.amount_krw) AS s
	    FROM big b JOIN f o ON o.customer_id = b.customer_id
	      AND o.event_date <= b.event_date AND o.amount_krw < 200000
	    GROUP BY b.transaction_id)
	  SELECT b.transaction_id, round(CAST(b.amount_krw AS DOUBLE) * n / CAST(s AS DOUBLE), 6)
	  FROM big b JOIN norm USING (transaction_id)
	  WHERE n >= 3 AND s > 0 AND b.amount_krw * n >= 2 * s ORDER BY 1" |
	tail -n +2 | tr ',' ' ' >"$2"
}

test_expect_success 'a project whose outlier rule fires often, and a faulty feed' '
	txnflow init p >/dev/null &&
	one_duckdb_thread p &&
	printf "vars:\n  fraud_outlier_min_krw: 200000\n  fraud_outlier_ratio: 2\n  fraud_outlier_min_purchases: 3\n" >>p/txnflow.yml &&
	txnflow -C p generate --date 2025-09-01 --days 6 --rows 1500 --customers 40 \
		--late-rate 0.5 --version-rate 0.4 --dup-rate 0.05 >/dev/null
'

test_expect_success 'each day by change: the rule as defined, and equal to a full refresh' '
	: >restated &&
	for d in 01 02 03 04 05 06; do
		txnflow -C p clean --date 2025-09-$d >/dev/null &&
		txnflow -C p models build --vars "{run_date: \"2025-09-$d\"}" >build$d.out || return 1
		! grep -E "FAIL|ERROR|WARN" build$d.out || return 1
		outliers got$d && expected 2025-09-$d want$d &&
		test_cmp want$d got$d || return 1
		test $(wc -l <got$d) -ge 5 || return 1
		if [ $d != 01 ]; then
			test_grep "int_fraud_large_purchases (.*by change" build$d.out || return 1
			# a flag of an earlier build whose norm a late arrival moved
			LC_ALL=C join got$prev got$d | awk "\$2 != \$3" >>restated
		fi
		full_equal p 2025-09-$d || return 1
		prev=$d
	done &&
	test_line_count -ge 1 restated
'

test_expect_success 'a rerun of an earlier date keeps its flags as they were judged' '
	txnflow -C p models build --vars "{run_date: \"2025-09-03\"}" >rerun.out &&
	! grep -E "FAIL|ERROR|WARN" rerun.out &&
	outliers rerun && expected 2025-09-03 want.rerun &&
	test_cmp want.rerun rerun &&
	full_equal p 2025-09-03
'

test_expect_success 'two cards with one window key fail the build by a data test' '
	# (window_key() spelled as the length of the id: every card shares one)
	cp p/macros/dialect.sql dialect.sql.orig &&
	sed -i "s/^hash({{ expr }})\$/length({{ expr }})/" p/macros/dialect.sql &&
	! cmp -s dialect.sql.orig p/macros/dialect.sql &&
	test_must_fail txnflow -C p models build --vars "{run_date: \"2025-09-06\"}" >collide.out &&
	test_grep "FAIL.*assert_card_keys_distinct" collide.out &&
	cp dialect.sql.orig p/macros/dialect.sql &&
	txnflow -C p models build --vars "{run_date: \"2025-09-06\"}" >uncollide.out &&
	test_grep "PASS.*assert_card_keys_distinct" uncollide.out &&
	full_equal p 2025-09-06
'

test_done
