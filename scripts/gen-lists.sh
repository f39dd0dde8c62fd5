#!/bin/sh
# Generate the command table (from TXF_COMMAND(name, ...) lines in
# src/cli/cmd_*.c) or the unit test list (from TEST(name) lines in
# tests/unit/**.c) as X(name) lines. The file is rewritten only when its
# content changes, so an unrelated edit rebuilds nothing.
set -eu
kind=$1 out=$2
shift 2
case "$kind" in
  commands) pat='^TXF_COMMAND([a-z_0-9]*' ; strip='s/^TXF_COMMAND(//' ;;
  tests) pat='^TEST([a-z_0-9]*)' ; strip='s/^TEST(//; s/)$//' ;;
  *) echo "gen-lists: unknown kind $kind" >&2; exit 2 ;;
esac
tmp="$out.tmp.$$"
grep -ho "$pat" "$@" 2>/dev/null | sed "$strip" | sort | \
  awk 'seen[$0]++ { print "gen-lists: duplicate name " $0 > "/dev/stderr"; exit 1 } { print "X(" $0 ")" }' > "$tmp"
if [ -f "$out" ] && cmp -s "$tmp" "$out"; then rm -f "$tmp"; else mv "$tmp" "$out"; fi
