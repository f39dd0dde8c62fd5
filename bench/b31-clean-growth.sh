#!/bin/sh
# What the daily clean costs as the lake grows (issue 15): DAYS consecutive
# days of ROWS events each (every fault rate of the synthetic feed on),
# generated and cleaned in order, no models. Per day: the ids the lake
# holds before the clean, the index's size, and clean's CPU time per phase
# (its report's cpu_ms: read_validate, dedup, index, partitions) and wall
# time; then, over the days after the late arrivals' reach has filled
# (from day 11), each phase's growth per million ids the lake holds (a
# least-squares line: single days are noisy).
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
# least squares over the days from the 11th: ms of CPU against ids held
awk -v from=11 '
	NR >= from { n++; x = $2 / 1e6; sx += x; sxx += x * x
		for (k = 4; k <= 7; k++) { y[k] += $k; xy[k] += x * $k } }
	END {
		if (n < 2 || n * sxx == sx * sx) { print "(fewer than", from + 1, "days: no slope)"; exit }
		d = n * sxx - sx * sx
		for (k = 4; k <= 7; k++) b[k] = (n * xy[k] - sx * y[k]) / d
		printf "days %d to %d, fitted: CPU ms per million ids the lake holds: read_validate %.1f, dedup %.1f, index %.1f, partitions %.1f\n",
			from, from + n - 1, b[4], b[5], b[6], b[7]
	}' "$dir/days"
echo "(2 cores shared with other work: uptime says $(uptime | sed 's/.*load/load/'))"
[ -z "${KEEP:-}" ] || echo "(kept: $dir)"
