# Shared by the fuzz targets tests/fuzz/fNN-NAME.sh (sourced, POSIX sh):
#   fuzz_run NAME MODE SHORT_SECS MAX_LEN RSS_MB "SOURCES" "LIBS"
# builds build/fuzz/fuzz-NAME from SOURCES with libFuzzer under ASan/UBSan
# (again only when a source or header is newer), then runs it for
# SHORT_SECS (MODE short) or 10 minutes (long), or FUZZ_SECONDS. The seed
# corpus tests/fuzz/corpus/NAME is read only; new inputs go to
# build/fuzz/NAME-corpus, crashes to build/fuzz/NAME-crash-*.
fuzz_run() {
  name=$1 mode=$2 short=$3 max_len=$4 rss=$5 srcs=$6 libs=$7
  case "$mode" in
    short) secs=${FUZZ_SECONDS:-$short} ;;
    long) secs=${FUZZ_SECONDS:-600} ;;
    *) echo "usage: $0 short|long" >&2; exit 2 ;;
  esac
  out=build/fuzz
  mkdir -p "$out/$name-corpus"
  bin=$out/fuzz-$name
  newest=$(ls -t $srcs src/*/*.h tests/lib/*.h | head -1)
  if [ ! -x "$bin" ] || [ "$newest" -nt "$bin" ]; then
    clang -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
      -Isrc -o "$bin.tmp" $srcs $libs
    mv "$bin.tmp" "$bin"
  fi
  export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  exec nice "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb="$rss" \
    -max_len="$max_len" -print_final_stats=1 \
    -artifact_prefix="$out/$name-crash-" \
    "$out/$name-corpus" "tests/fuzz/corpus/$name"
}
