#!/bin/sh
# make bench: run every benchmark script bench/b*.sh in order on the
# release build. Each prints its own figures and ratios. Long; never part
# of make test.
#   BENCH=parquet make bench    only scripts whose name contains "parquet"
set -eu
cd "$(dirname "$0")/.."
export TXNFLOW="$(pwd)/build/txnflow"
found=0
for b in bench/b*.sh; do
  [ -e "$b" ] || continue
  case "$b" in *"${BENCH:-}"*) ;; *) continue ;; esac
  found=1
  echo "== $b"
  case $(head -1 "$b") in
  *bash*) bash "$b" ;; # the ones that source the test servers' libraries
  *) sh "$b" ;;
  esac
done
[ $found = 1 ] || echo "bench: no benchmark scripts matched"
