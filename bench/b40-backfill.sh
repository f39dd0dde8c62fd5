#!/bin/sh
# Backfill of 11 days (2025-09-01..11) through the whole DAG (generate,
# clean, models build) with --parallel 1 (one date after the other, one
# models build per date) and --parallel 2 (generates ahead, cleans in date
# order, one models build for the dates waiting) on fresh projects: wall
# and CPU time (user+sys of the backfill and every task it ran; CPU
# suffers less from other load), the ratios, where the time went, and a
# check that both give the same silver files and marts.
#   ROWS=N  events per day (default 1000000)   DAYS=N (default 11)
set -eu
TXNFLOW=${TXNFLOW:-build/txnflow}
case "$TXNFLOW" in /*) ;; *) TXNFLOW=$(pwd)/$TXNFLOW ;; esac
ROWS=${ROWS:-1000000}
DAYS=${DAYS:-11}
dir=$(mktemp -d "${TMPDIR:-/tmp}/txnflow-b40.XXXXXX")
trap 'rm -rf "$dir"' EXIT
to=$(date -u -d "2025-09-01 + $((DAYS - 1)) days" +%F)

for c in generate clean models; do
	if ! "$TXNFLOW" $c --help >/dev/null 2>&1; then
		echo "b40: 'txnflow $c' is not in this build; the DAG cannot run (skipped)"
		exit 0
	fi
done

# backfill N: a fresh project, the range with --parallel N; writes
# "wall cpu" seconds to $dir/time$N
backfill() {
	p="$dir/p$1"
	"$TXNFLOW" init "$p" >/dev/null
	sed -i "s/^  rows: .*/  rows: $ROWS/" "$p/txnflow.yml"
	/usr/bin/time -f "%e %U %S" -o "$dir/t$1" \
		"$TXNFLOW" -C "$p" backfill --from 2025-09-01 --to "$to" --parallel "$1" \
		>"$dir/out$1" 2>"$dir/err$1" || {
		echo "b40: backfill --parallel $1 failed:"; tail -20 "$dir/err$1"; exit 1; }
	awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$dir/t$1" >"$dir/time$1"
}

# tasks N: per task, the number of processes (distinct logs) and the
# summed wall time of the attempts that ran
tasks() {
	sqlite3 -batch "$dir/p$1/data/txnflow.db" "SELECT task, count(*),
		round(sum(us) / 1e6, 1) FROM (SELECT task, min(started_at_us) AS t0,
		max(ended_at_us) - min(started_at_us) AS us FROM task_attempts
		WHERE log_path IS NOT NULL GROUP BY task, log_path)
		GROUP BY task ORDER BY min(t0)" |
	awk -F'|' -v n="$1" '{ printf "  --parallel %s  %-9s %3d process(es) %8.1f s\n", n, $1, $2, $3 }'
}

# digest N: the silver files' SHA-256 and every mart as sorted CSV
digest() {
	p="$dir/p$1"
	(cd "$p/data" && find silver -type f -name '*.parquet' -not -path 'silver/_changes/*' -not -path 'silver/_snapshots/*' | sort | xargs sha256sum)
	for t in $("$TXNFLOW" -C "$p" sql --format csv \
		"SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'mart_%' ORDER BY 1" | tail -n +2); do
		echo "== $t"
		"$TXNFLOW" -C "$p" sql --format csv "SELECT * FROM $t ORDER BY ALL"
	done
}

echo "backfill: $DAYS days x $ROWS rows (generate, clean, models build)"
backfill 1
backfill 2
read w1 c1 <"$dir/time1"
read w2 c2 <"$dir/time2"
awk -v a="$w1" -v b="$w2" -v ca="$c1" -v cb="$c2" -v d="$DAYS" -v r="$ROWS" 'BEGIN {
	printf "--parallel 1  %8.2f s wall %8.2f s cpu  %9.0f rows/s\n", a, ca, d * r / a
	printf "--parallel 2  %8.2f s wall %8.2f s cpu  %9.0f rows/s\n", b, cb, d * r / b
	printf "speed-up      %8.2fx wall %7.2fx cpu\n", a / b, ca / cb }'
tasks 1
tasks 2
digest 1 >"$dir/d1"
digest 2 >"$dir/d2"
if cmp -s "$dir/d1" "$dir/d2"; then
	echo "silver and marts identical ($(grep -c parquet "$dir/d1") parquet files, $(grep -c '^==' "$dir/d1") marts)"
else
	echo "DIFFERENT silver or marts:"; diff "$dir/d1" "$dir/d2" | head -20; exit 1
fi
echo "(2 cores shared with other work: uptime says $(uptime | sed 's/.*load/load/'))"
