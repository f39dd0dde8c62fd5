#!/bin/sh
# The disk cost of the lake's history (issue 21): DAYS consecutive days of
# ROWS events each (every fault rate of the synthetic feed on), generated
# and cleaned in order. After each day: the live silver partitions, what
# the snapshots add on top of them (the partition files later versions
# replaced, kept under silver/_snapshots; `du` counts a file the live lake
# shares once), the records, and the change log, in MB; then the totals
# per day of data, and the wall time of `sql --as-of 1` counting the first
# version's rows against the same count on the live lake.
#   ROWS=N (default 1000000)  DAYS=N (default 10)
#   BENCH=history make bench
set -eu
TXNFLOW=${TXNFLOW:-build/txnflow}
case "$TXNFLOW" in /*) ;; *) TXNFLOW=$(pwd)/$TXNFLOW ;; esac
ROWS=${ROWS:-1000000}
DAYS=${DAYS:-10}
dir=$(mktemp -d "${TMPDIR:-/tmp}/txnflow-b85.XXXXXX")
d="$dir/data"
trap 'rm -rf "$dir"' EXIT
# the feed's default rates: every fault on
"$TXNFLOW" generate --data "$d" --date 2025-09-01 --days "$DAYS" --rows "$ROWS" >/dev/null
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
echo "lake history: $DAYS days x $ROWS events, cleaned in order"
printf "%-10s %8s %10s %12s %10s %11s\n" day clean_s silver_MB snapshots_MB records_KB changes_MB
i=0
while [ $i -lt "$DAYS" ]; do
	day=$(date -u -d "2025-09-01 + $i days" +%F)
	t0=$(date +%s.%N)
	"$TXNFLOW" clean --data "$d" --date "$day" >/dev/null
	t1=$(date +%s.%N)
	# one du: a file silver and a snapshot share counts for silver
	set -- $(cd "$d" && du -sb silver/transactions silver/_snapshots/transactions/files | cut -f1)
	live=$1 snap=$2
	rec=$(cat "$d"/silver/_snapshots/transactions/v*.json | wc -c)
	chg=$(du -sb "$d/silver/_changes" | cut -f1)
	printf "%-10s %8.2f %10s %12s %10.1f %11s\n" "$day" \
		"$(echo "$t1 - $t0" | bc)" "$(mb "$live")" "$(mb "$snap")" \
		"$(echo "$rec / 1024" | bc -l)" "$(mb "$chg")"
	i=$((i + 1))
done
echo "per day of data: silver $(mb $((live / DAYS))) MB, snapshots (replaced files) $(mb $((snap / DAYS))) MB, records $((rec / DAYS / 1024)) KB, change log $(mb $((chg / DAYS))) MB"
t0=$(date +%s.%N)
old=$("$TXNFLOW" sql --data "$d" --memory --format csv --as-of 1 "SELECT count(*) FROM silver" | tail -1)
t1=$(date +%s.%N)
now=$("$TXNFLOW" sql --data "$d" --memory --format csv "SELECT count(*) FROM read_parquet('$d/silver/transactions/**/*.parquet')" | tail -1)
t2=$(date +%s.%N)
printf "sql --as-of 1: %s rows in %.2f s; the live lake: %s rows in %.2f s\n" \
	"$old" "$(echo "$t1 - $t0" | bc)" "$now" "$(echo "$t2 - $t1" | bc)"
