#!/bin/bash
# The short libFuzzer run of the PAN recogniser and masker
# (tests/fuzz/f22-pan.sh short: ~15 s under ASan/UBSan, checked against a
# slow reference and the masking invariants), so it counts in make test.
. "$(dirname "$0")/../lib/test-lib.sh"

test_expect_success 'fuzz the PAN recogniser and masker (short)' '
	sh "$ROOT/tests/fuzz/f22-pan.sh" short >fuzz.log 2>&1 ||
	{ tail -60 fuzz.log; exit 1; }
	grep "^Done [0-9]* runs" fuzz.log
'

test_done
