#!/bin/sh
# Fuzz the PAN recogniser and masker with libFuzzer under ASan/UBSan.
#   tests/fuzz/f22-pan.sh short   ~15 s (make test, via t0022)
#   tests/fuzz/f22-pan.sh long    10 min, or FUZZ_SECONDS (make fuzz)
# The seed corpus (tests/fuzz/corpus/pan: adversarial lines) is read only;
# new inputs go to build/fuzz/pan-corpus, crashes to build/fuzz/pan-crash-*.
set -eu
cd "$(dirname "$0")/../.."
mode=${1:-short}
case "$mode" in
  short) secs=${FUZZ_SECONDS:-15} ;;
  long) secs=${FUZZ_SECONDS:-600} ;;
  *) echo "usage: $0 short|long" >&2; exit 2 ;;
esac
out=build/fuzz
mkdir -p "$out/pan-corpus"
bin=$out/fuzz-pan
srcs="tests/fuzz/fuzz_pan.c $(ls src/util/*.c)"
newest=$(ls -t $srcs src/util/util.h tests/lib/pan_ref.h | head -1)
if [ ! -x "$bin" ] || [ "$newest" -nt "$bin" ]; then
  clang -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Isrc -o "$bin.tmp" $srcs -lzstd -lcrypto -ljansson -lm
  mv "$bin.tmp" "$bin"
fi
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
exec nice "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
  -max_len=4096 -print_final_stats=1 \
  -artifact_prefix="$out/pan-crash-" \
  "$out/pan-corpus" tests/fuzz/corpus/pan
