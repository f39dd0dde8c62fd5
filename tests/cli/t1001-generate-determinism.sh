#!/bin/bash
# Same seed and parameters -> byte-identical bronze and truth, whether the
# days are generated together, one by one, or in another order.
. "$(dirname "$0")/../lib/test-lib.sh"

ARGS="--rows 2000 --seed 7 --dup-rate 0.05 --version-rate 0.1 --late-rate 0.1 --stale-rate 0.02 --malformed-rate 0.01"

test_expect_success 'two runs give the same bytes' '
	txnflow generate --data a --date 2025-09-01 $ARGS >/dev/null &&
	txnflow generate --data b --date 2025-09-01 $ARGS >/dev/null &&
	diff -r a b
'

test_expect_success '--days 3 equals three single days in reverse order' '
	txnflow generate --data c --date 2025-09-01 --days 3 $ARGS >/dev/null &&
	txnflow generate --data s --date 2025-09-03 $ARGS >/dev/null &&
	txnflow generate --data s --date 2025-09-02 $ARGS >/dev/null &&
	txnflow generate --data s --date 2025-09-01 $ARGS >/dev/null &&
	diff -r c s &&
	ls c/bronze/transactions >dirs &&
	printf "ingest_date=2025-09-01\ningest_date=2025-09-02\ningest_date=2025-09-03\n" >expect &&
	test_cmp expect dirs
'

test_expect_success 'another seed gives other bytes' '
	txnflow generate --data o --date 2025-09-01 --rows 2000 --seed 8 >/dev/null &&
	! cmp -s a/bronze/transactions/ingest_date=2025-09-01/part-00000.csv \
		o/bronze/transactions/ingest_date=2025-09-01/part-00000.csv
'

test_expect_success 'late arrivals: earlier event date, delivered on the batch day' '
	b=c/bronze/transactions/ingest_date=2025-09-03 &&
	t=c/truth/transactions/ingest_date=2025-09-03 &&
	awk -F, "NR==FNR { if (FNR > 1) kind[FNR-1] = \$4; next }
		FNR > 1 && kind[FNR-1] == \"new\" {
			d = substr(\$1, 2, 4) \"-\" substr(\$1, 6, 2) \"-\" substr(\$1, 8, 2)
			if (substr(\$5, 1, 10) != d) { print \"txn_ts not on id date: \" \$0; bad++ }
			if (substr(\$12, 1, 10) != \"2025-09-03\") { print \"ingested_at not on batch day: \" \$0; bad++ }
			if (d < \"2025-09-03\") late++
		}
		END { print late \" late\"; exit (bad > 0 || late < 100) }" $t/lines.csv $b/part-00000.csv
'

# The late window: a new line's event date (the local date of txn_ts in
# Asia/Seoul, the default zone) is D, or 1..6 days before D, never after;
# each lag occurs, shorter lags more often (docs/feed.md, fault model).
test_expect_success 'late arrivals: event date is D or 1..6 days before D, never later' '
	for d in 2025-09-01 2025-09-02 2025-09-03; do
		paste -d, <(tail -n +2 c/truth/transactions/ingest_date=$d/lines.csv | cut -d, -f4) \
			<(tail -n +2 c/bronze/transactions/ingest_date=$d/part-00000.csv) |
			grep "^new," | sed "s/^/$d,/" || return 1
	done >new.csv &&
	awk -F, "
	function dn(s,   y, m, d) { # days since 1970-01-01 of YYYY-MM-DD
		y = substr(s, 1, 4) + 0; m = substr(s, 6, 2) + 0; d = substr(s, 9, 2) + 0
		if (m <= 2) { y--; m += 12 }
		return 365 * y + int(y / 4) - int(y / 100) + int(y / 400) + int((153 * (m - 3) + 2) / 5) + d - 719469
	}
	{
		if (substr(\$7, 20) != \"+09:00\") { print \"not Asia/Seoul: \" \$0; bad++ }
		lag = dn(\$1) - dn(substr(\$7, 1, 10))
		if (lag < 0 || lag > 6) { print \"lag \" lag \": \" \$0; bad++ }
		n[lag]++
	}
	END {
		if (dn(\"1970-01-01\") != 0 || dn(\"2025-03-01\") - dn(\"2025-02-28\") != 1) { print \"dn is wrong\"; bad++ }
		for (k = 0; k <= 6; k++) print k, n[k] + 0
		for (k = 1; k <= 6; k++) if (n[k] < 1) { print \"no lag \" k; bad++ }
		if (!(n[1] > n[2] && n[2] > n[3] && n[3] > n[5] + n[6])) { print \"no decay\"; bad++ }
		exit (bad > 0)
	}" new.csv
'

test_done
