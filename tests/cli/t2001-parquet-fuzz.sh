#!/bin/bash
# The short libFuzzer run of the Parquet reader (tests/fuzz/f20-parquet.sh
# short: ~20 s under ASan/UBSan), so it counts in make test's summary.
. "$(dirname "$0")/../lib/test-lib.sh"

test_expect_success 'fuzz the Parquet reader (short)' '
	test_fuzz_short f20-parquet.sh
'

test_done
