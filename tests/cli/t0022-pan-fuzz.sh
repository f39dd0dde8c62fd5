#!/bin/bash
# The short libFuzzer run of the PAN recogniser and masker
# (tests/fuzz/f22-pan.sh short: ~15 s under ASan/UBSan, checked against a
# slow reference and the masking invariants), so it counts in make test.
. "$(dirname "$0")/../lib/test-lib.sh"

test_expect_success 'fuzz the PAN recogniser and masker (short)' '
	test_fuzz_short f22-pan.sh
'

test_done
