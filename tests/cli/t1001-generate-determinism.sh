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

test_done
