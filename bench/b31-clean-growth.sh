#!/bin/sh
# What the daily clean costs as the lake grows (issue 15): DAYS consecutive
# days of ROWS events each (every fault rate of the synthetic feed on),
# generated and cleaned in order, no models. Per day: the ids the lake
# holds before the clean, the index's size, and clean's CPU time per phase
# (its report's cpu_ms: read_validate, dedup, index, partitions) and wall
# time; then, from the day the late arrivals' reach has filled (day 11) to
# the last, how much each phase grew per million ids the lake gained.
# dedup and the second half of index read and write the id index (7 bytes
# an id, every shard each day); partitions rewrite the days the batch
# reaches (by the reach, not the lake).
#   ROWS=N (default 1000000)  DAYS=N (default 40)
#   KEEP=1 keeps the lake (its path is printed)
#   BENCH=growth make bench
set -eu
TXNFLOW=${TXNFLOW:-build/txnflow}
case "$TXNFLOW" in /*) ;; *) TXNFLOW=$(pwd)/$TXNFLOW ;; esac
ROWS=${ROWS:-1000000}
DAYS=${DAYS:-40}
dir=$(mktemp -d "${TMPDIR:-/tmp}/txnflow-b31.XXXXXX")
d="$dir/data"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$dir"' EXIT
echo "clean as the lake grows: $DAYS days x $ROWS events (generate, clean; CPU ms per phase)"
printf "%-10s %10s %8s %8s %8s %8s %8s %8s %8s\n" day lake_ids index_MB read dedup index partitions cpu_s wall_s
ids=0
i=0
while [ $i -lt "$DAYS" ]; do
	day=$(date -u -d "2025-09-01 + $i days" +%F)
	"$TXNFLOW" generate --date "$day" --rows "$ROWS" --data "$d" >/dev/null
	mb=0
	[ -d "$d/silver/_index/transactions" ] && mb=$(du -sm "$d/silver/_index/transactions" | cut -f1)
	t0=$(date +%s.%N)
	"$TXNFLOW" clean --date "$day" --data "$d" --json >"$dir/report.json"
	t1=$(date +%s.%N)
	jq -r --arg day "$day" --arg ids "$ids" --arg mb "$mb" \
		--arg wall "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" '
		[$day, $ids, $mb, .cpu_ms.read_validate, .cpu_ms.dedup, .cpu_ms.index,
		 .cpu_ms.partitions,
		 ((.cpu_ms.read_validate + .cpu_ms.dedup + .cpu_ms.index +
		   .cpu_ms.partitions) / 1000), $wall] | @tsv' "$dir/report.json" |
		awk -F'\t' '{ printf "%-10s %10d %8d %8d %8d %8d %8d %8.1f %8.1f\n",
			$1, $2, $3, $4, $5, $6, $7, $8, $9 }' | tee -a "$dir/days"
	ids=$(jq -r --arg ids "$ids" '($ids | tonumber) + .inserted' "$dir/report.json")
	# the batch is in the lake now: its CSV and truth are not needed again
	rm -rf "$d/bronze/transactions/ingest_date=$day" "$d/truth/transactions/ingest_date=$day"
	i=$((i + 1))
done
awk -v from=11 '
	NR == from { i0 = $2; r0 = $4; d0 = $5; x0 = $6; p0 = $7 }
	{ i1 = $2; r1 = $4; d1 = $5; x1 = $6; p1 = $7; n = NR }
	END {
		if (n <= from || i1 == i0) { print "(fewer than", from + 1, "days: no slope)"; exit }
		m = (i1 - i0) / 1e6
		printf "day %d to %d: the lake gained %.1f M ids; CPU ms per million more: read_validate %.1f, dedup %.1f, index %.1f, partitions %.1f\n",
			from, n, m, (r1 - r0) / m, (d1 - d0) / m, (x1 - x0) / m, (p1 - p0) / m
	}' "$dir/days"
echo "(2 cores shared with other work: uptime says $(uptime | sed 's/.*load/load/'))"
[ -z "${KEEP:-}" ] || echo "(kept: $dir)"
