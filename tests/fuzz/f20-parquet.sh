#!/bin/sh
# Fuzz the Parquet reader with libFuzzer under ASan/UBSan.
#   tests/fuzz/f20-parquet.sh short   ~20 s (make test, via t2001)
#   tests/fuzz/f20-parquet.sh long    10 min, or FUZZ_SECONDS (make fuzz)
# The seed corpus (tests/fuzz/corpus/parquet) is read only; new inputs go
# to build/fuzz/parquet-corpus, crashes to build/fuzz/parquet-crash-*.
set -eu
cd "$(dirname "$0")/../.."
mode=${1:-short}
case "$mode" in
  short) secs=${FUZZ_SECONDS:-20} ;;
  long) secs=${FUZZ_SECONDS:-600} ;;
  *) echo "usage: $0 short|long" >&2; exit 2 ;;
esac
out=build/fuzz
mkdir -p "$out/parquet-corpus"
bin=$out/fuzz-parquet
srcs="tests/fuzz/fuzz_parquet.c $(ls src/parquet/*.c src/util/*.c)"
newest=$(ls -t $srcs src/parquet/*.h src/util/util.h | head -1)
if [ ! -x "$bin" ] || [ "$newest" -nt "$bin" ]; then
  clang -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Isrc -o "$bin.tmp" $srcs -lzstd -lsnappy -lcrypto -ljansson -lm
  mv "$bin.tmp" "$bin"
fi
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
exec nice "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2560 \
  -max_len=65536 -print_final_stats=1 \
  -artifact_prefix="$out/parquet-crash-" \
  "$out/parquet-corpus" tests/fuzz/corpus/parquet
