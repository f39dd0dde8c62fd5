#!/bin/sh
# Fuzz the Parquet reader with libFuzzer under ASan/UBSan.
#   tests/fuzz/f20-parquet.sh short   ~20 s (make test, via t2001)
#   tests/fuzz/f20-parquet.sh long    10 min, or FUZZ_SECONDS (make fuzz)
# Seed corpus: tests/fuzz/corpus/parquet.
set -eu
cd "$(dirname "$0")/../.."
. tests/fuzz/lib.sh
fuzz_run parquet "${1:-short}" 20 65536 2560 \
  "tests/fuzz/fuzz_parquet.c $(ls src/parquet/*.c src/util/*.c)" \
  "-lzstd -lsnappy -lcrypto -ljansson -lm"
