#!/bin/sh
# Generator throughput: one 10,000,000-event batch (plain CSV, then zstd),
# on one core. Prints rows/s, MB/s and peak RSS, and the RSS of a 10x
# smaller batch to show memory does not grow with --rows.
#   ROWS=N  events per day (default 10000000)
set -eu
TXNFLOW=${TXNFLOW:-build/txnflow}
ROWS=${ROWS:-10000000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/txnflow-b10.XXXXXX")
trap 'rm -rf "$dir"' EXIT

# run NAME ARGS...: generate once under /usr/bin/time, print one line.
run() {
	name=$1
	shift
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f "%e %M %U %S" -o "$dir/time" \
			"$TXNFLOW" generate --data "$dir/$name" --date 2025-09-10 --json "$@" >"$dir/out.json"
	else # no GNU time (Debian package "time"): wall clock only
		t0=$(date +%s.%N)
		"$TXNFLOW" generate --data "$dir/$name" --date 2025-09-10 --json "$@" >"$dir/out.json"
		awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a, 0, b - a, 0 }' >"$dir/time"
	fi
	secs=$(cut -d" " -f1 "$dir/time")
	rss_kb=$(cut -d" " -f2 "$dir/time")
	cpu=$(awk '{ print $3 + $4 }' "$dir/time")
	lines=$(sed -n 's/.*"lines": \([0-9]*\).*/\1/p' "$dir/out.json" | head -1)
	bytes=$(sed -n 's/.*"size_bytes": \([0-9]*\).*/\1/p' "$dir/out.json" | head -1)
	awk -v n="$name" -v l="$lines" -v s="$secs" -v c="$cpu" -v r="$rss_kb" -v b="$bytes" 'BEGIN {
		printf "%-12s %9d lines  wall %6.2f s %9.0f rows/s  cpu %6.2f s %9.0f rows/s  %6.1f MB/s out  %6.1f MiB peak RSS\n",
			n, l, s, l / s, c, l / c, b / s / 1e6, r / 1024 }'
	rm -rf "${dir:?}/$name"
}

echo "generate: $ROWS events per day, seed 42, default fault rates, 1 core"
run plain --rows "$ROWS"
run zstd --rows "$ROWS" --compress zstd
run small-plain --rows $((ROWS / 10))
echo "goal: >= 1,000,000 rows/s on one core; peak RSS flat in --rows (plain vs small-plain)"
echo "(wall includes fsync of every file; cpu = user + sys, the figure that does not"
echo " depend on other load on the machine: uptime says $(uptime | sed 's/.*load/load/'))"
