#!/bin/sh
# Fuzz the PAN recogniser and masker (src/util/pan.c) with libFuzzer under
# ASan/UBSan, against a slow reference (tests/fuzz/fuzz_pan.c).
#   tests/fuzz/f22-pan.sh short   ~15 s (make test, via t0022)
#   tests/fuzz/f22-pan.sh long    10 min, or FUZZ_SECONDS (make fuzz)
# Seed corpus: tests/fuzz/corpus/pan (adversarial lines).
set -eu
cd "$(dirname "$0")/../.."
. tests/fuzz/lib.sh
fuzz_run pan "${1:-short}" 15 4096 2048 \
  "tests/fuzz/fuzz_pan.c $(ls src/util/*.c)" "-lzstd -lcrypto -ljansson -lm"
