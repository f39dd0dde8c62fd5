#!/bin/bash
# The short libFuzzer run of the Parquet reader (tests/fuzz/f20-parquet.sh
# short: ~20 s under ASan/UBSan), so it counts in make test's summary.
. "$(dirname "$0")/../lib/test-lib.sh"

test_expect_success 'fuzz the Parquet reader (short)' '
	sh "$ROOT/tests/fuzz/f20-parquet.sh" short >fuzz.log 2>&1 ||
	{ tail -60 fuzz.log; exit 1; }
	grep "^Done [0-9]* runs" fuzz.log
'

test_done
