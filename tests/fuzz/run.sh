#!/bin/sh
# Fuzzing: every tests/fuzz/f*.sh target, short (make test) or long
# (make fuzz). Each target script takes the mode as its first argument.
set -eu
cd "$(dirname "$0")/../.."
mode=${1:-short}
for f in tests/fuzz/f*.sh; do
  [ -e "$f" ] || continue
  echo "== $f ($mode)"
  sh "$f" "$mode"
done
