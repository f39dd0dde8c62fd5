#!/bin/bash
# mart_sales_daily by change (decision 1501): a (day, MCC, channel) cell is
# moved by the fact's change, not recounted, and its distinct-customer
# count moves by the (cell, customer) pairs that appear or empty. A few
# customers buying a lot, so a cell often holds several rows of one
# customer, and half the events late or given a newer version (moved to
# another day, reversed): after every day the mart built by change equals
# a --full-refresh build, and the days together showed each case of the
# pair rule on a cell the mart already held.
. "$(dirname "$0")/../lib/test-lib.sh"
# What this proves is mart_sales_daily's SQL by change (DuckDB's answer);
# the builds by change it drives run under ASan in t3102, t3104, t3110,
# t3111 and t1122 (decision 0001)
test_release_build "the SQL of mart_sales_daily by change; builds by change under ASan in t3102 t3104 t3110 t3111 t1122"

# cells FILE: the mart as "day|mcc|channel txn_count customer_count" (a
# read to compare: txnflow_ref)
cells() {
	txnflow_ref -C p sql --format csv "SELECT event_date || '|' || mcc_code || '|' || channel,
		txn_count, customer_count FROM mart_sales_daily ORDER BY 1" |
	tail -n +2 | tr ',' ' ' >"$1"
}

test_expect_success 'a project of few customers and a faulty feed' '
	txnflow init p >/dev/null &&
	one_duckdb_thread p &&
	txnflow -C p generate --date 2025-09-01 --days 5 --rows 400 --customers 3 \
		--merchants 100 --late-rate 0.5 --version-rate 0.5 >/dev/null
'

test_expect_success 'each day by change equals a full refresh' '
	: >seen &&
	for d in 01 02 03 04 05; do
		txnflow -C p clean --date 2025-09-$d >/dev/null &&
		txnflow -C p models build --vars "{run_date: \"2025-09-$d\"}" >build$d.out || return 1
		! grep -E "FAIL|ERROR|WARN" build$d.out || return 1
		full_equal p 2025-09-$d || return 1
		cells cur || return 1
		if [ $d != 01 ]; then
			test_grep "mart_sales_daily (.*by change" build$d.out || return 1
			# what happened to the cells of the days before (held cells)
			awk -v today="2025-09-$d" '"'"'
				NR == FNR { n[$1] = $2; c[$1] = $3; next }
				{ split($1, k, "|"); if (k[1] >= today) next }
				!($1 in n) { next }
				$2 > n[$1] && $3 == c[$1] { print "more rows, same customers" }
				$3 > c[$1] { print "a new customer" }
				$2 < n[$1] { print "fewer rows" }
				$2 < n[$1] && $3 < c[$1] { print "a customer left" }
				{ seen[$1] = 1 }
				END { for (x in n) { split(x, k, "|"); if (k[1] < today && !(x in seen)) print "a cell emptied" } }
			'"'"' prev cur >>seen || return 1
		fi
		mv cur prev || return 1
	done &&
	sort seen | uniq -c &&
	test_grep "more rows, same customers" seen &&
	test_grep "a new customer" seen &&
	test_grep "fewer rows" seen &&
	test_grep "a customer left" seen &&
	test_grep "a cell emptied" seen
'

test_done
