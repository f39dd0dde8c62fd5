#!/bin/sh
# The cost of reverting one batch (issue 21): DAYS consecutive days of ROWS
# events each (every fault rate of the synthetic feed on) are generated
# and cleaned in order, then the batch of day REVERT (default: the middle
# one) is reverted. Printed: the history store's disk per day of data
# beside bronze's and silver's; the revert's wall time, peak RSS (from
# /usr/bin/time) and bytes read (rchar of /proc: every read(2), page cache
# included, so an upper bound on what came from disk), beside the sizes of
# the lake and of the reverted batch; the revert's own report
# (rows_from_batch, restored, deleted, other_versions_read, bytes_read as
# it counts them). Then the batch is cleaned again and the lake compared
# with the one before the revert (byte for byte).
#   ROWS=N (default 1000000)  DAYS=N (default 10)  REVERT=N (1-based day)
#   LAKE=DIR  a data dir made by an earlier run (DAYS days cleaned), linked
#             instead of generated and cleaned again (its files are
#             replaced, never written in place; the database is copied)
#   BENCH=revert make bench
set -eu
TXNFLOW=${TXNFLOW:-build/txnflow}
case "$TXNFLOW" in /*) ;; *) TXNFLOW=$(pwd)/$TXNFLOW ;; esac
ROWS=${ROWS:-1000000}
DAYS=${DAYS:-10}
REVERT=${REVERT:-$(( (DAYS + 1) / 2 ))}
dir=$(mktemp -d "${TMPDIR:-/tmp}/txnflow-b86.XXXXXX")
d="$dir/data"
trap 'rm -rf "$dir"' EXIT
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
t0=$(date +%s.%N)
if [ -n "${LAKE:-}" ]; then
	cp -al "$LAKE" "$d"
	for f in "$d"/txnflow.db*; do rm "$f"; cp "$LAKE/${f##*/}" "$f"; done
else
	"$TXNFLOW" generate --data "$d" --date 2025-09-01 --days "$DAYS" --rows "$ROWS" >/dev/null
	i=0
	while [ $i -lt "$DAYS" ]; do
		"$TXNFLOW" clean --data "$d" --date "$(date -u -d "2025-09-01 + $i days" +%F)" >/dev/null
		i=$((i + 1))
	done
fi
t1=$(date +%s.%N)
day=$(date -u -d "2025-09-01 + $((REVERT - 1)) days" +%F)
set -- $(cd "$d" && du -sb bronze/transactions silver/transactions silver/_history/transactions silver/_index/transactions | cut -f1)
bronze=$1 silver=$2 hist=$3 index=$4
batch=$(du -sb "$d/bronze/transactions/ingest_date=$day" | cut -f1)
lines=$(cat "$d"/bronze/transactions/*/*.csv | wc -l)
if [ -n "${LAKE:-}" ]; then
	echo "lake: $DAYS days linked from $LAKE ($lines bronze lines)"
else
	echo "lake: $DAYS days x $ROWS events ($lines bronze lines), cleaned in $(echo "$t1 - $t0" | bc) s"
fi
echo "disk per day of data: bronze $(mb $((bronze / DAYS))) MB, silver $(mb $((silver / DAYS))) MB, history store $(mb $((hist / DAYS))) MB ($(echo "scale=1; $hist / $lines" | bc) bytes a line), id index $(mb $((index / DAYS))) MB"
(cd "$d" && find silver/transactions silver/_index silver/_history -type f | sort | xargs sha256sum) >"$dir/before"
echo "revert of $day: its batch $(mb "$batch") MB; the lake (bronze + silver + index + history) $(mb $((bronze + silver + index + hist))) MB"
/usr/bin/time -f "%e %M" -o "$dir/time" sh -c '"$1" revert --data "$2" --ingest-date "$3" --json >"$4/revert.json"; cat /proc/$$/io >"$4/io"' \
	sh "$TXNFLOW" "$d" "$day" "$dir"
set -- $(cat "$dir/time")
rchar=$(awk '/^rchar/ { print $2 }' "$dir/io")
printf "revert: wall %.2f s, peak RSS %s MB, bytes read %s MB (rchar)\n" "$1" "$(mb $(($2 * 1024)))" "$(mb "$rchar")"
tr -d ' \n' <"$dir/revert.json" | sed 's/"partition_files".*//' |
	grep -o '"\(lines_removed\|rows_from_batch\|restored\|deleted\|moved\|other_versions_read\|bytes_read\|changes\)":[0-9]*' |
	tr '\n' ' '
echo
t0=$(date +%s.%N)
"$TXNFLOW" clean --data "$d" --date "$day" >/dev/null
t1=$(date +%s.%N)
(cd "$d" && find silver/transactions silver/_index silver/_history -type f | sort | xargs sha256sum) >"$dir/after"
if cmp -s "$dir/before" "$dir/after"; then same="the same bytes as before the revert"; else same="NOT the bytes of before the revert"; fi
echo "clean $day again: $(echo "$t1 - $t0" | bc) s; the lake holds $same"
