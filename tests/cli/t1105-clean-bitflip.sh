#!/bin/bash
# The short bit-flip run on the lake (tests/fuzz/f30-lake-bitflip.sh short:
# 24 trials under ASan/UBSan, ~45 s): every clean of a lake with a flipped
# bit in a shard, a partition it reads or the manifest refuses with a
# message and changes nothing, or leaves a lake that audit accepts.
. "$(dirname "$0")/../lib/test-lib.sh"

test_expect_success 'flipped bits in the lake: refused or audited ok (short)' '
	sh "$ROOT/tests/fuzz/f30-lake-bitflip.sh" short >fuzz.log 2>&1 ||
	{ tail -60 fuzz.log; exit 1; }
	cat fuzz.log &&
	grep "^bit flips: 24 trials .* 0 failed$" fuzz.log
'

test_done
