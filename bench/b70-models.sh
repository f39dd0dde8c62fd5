#!/bin/sh
# `models build` of the default project on a 10,000,000-row day: generate one
# day, clean it, then time (1) the first build (seeds, every model, every
# test, write-audit-publish) and (2) the daily incremental build the
# orchestrator runs (--vars run_date + dates: the event dates clean
# rewrote), with the profile's 2 threads and with --threads 1. Prints each
# model's time and the fraud signals per rule.
#   ROWS=N  events for the day (default 10000000)
set -eu
TXNFLOW=${TXNFLOW:-build/txnflow}
case "$TXNFLOW" in /*) ;; *) TXNFLOW=$(pwd)/$TXNFLOW ;; esac
ROWS=${ROWS:-10000000}
D=2025-09-10
dir=$(mktemp -d "${TMPDIR:-/tmp}/txnflow-b70.XXXXXX")
trap 'rm -rf "$dir"' EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

"$TXNFLOW" init "$dir/p" >/dev/null
t=$(now)
"$TXNFLOW" -C "$dir/p" generate --date "$D" --rows "$ROWS" >/dev/null
echo "generate  $ROWS events: $(since "$t") s"
t=$(now)
"$TXNFLOW" -C "$dir/p" clean --date "$D" --json >"$dir/clean.json"
echo "clean     $(since "$t") s"
rows=$("$TXNFLOW" sql --memory --data "$dir/p/data" --format csv \
	"SELECT count(*) FROM read_parquet('$dir/p/data/silver/transactions/**/*.parquet')" | tail -1)
echo "silver    $rows rows"

# build LABEL ARGS...: one models build, its per-node lines and wall time
build() {
	label=$1
	shift
	t=$(now)
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f "%U %S %M" -o "$dir/time" \
			"$TXNFLOW" -C "$dir/p" models build "$@" >"$dir/build.out"
	else # no GNU time (Debian package "time"): wall clock only
		"$TXNFLOW" -C "$dir/p" models build "$@" >"$dir/build.out"
		echo "0 0 0" >"$dir/time"
	fi
	secs=$(since "$t")
	grep -E "^  (OK|ERROR)" "$dir/build.out" | sed 's/^ */    /'
	tail -1 "$dir/build.out" | sed 's/^/    /'
	awk -v l="$label" -v s="$secs" -v r="$rows" -v t="$(cat "$dir/time")" 'BEGIN {
		split(t, a, " ")
		printf "%-34s wall %7.1f s  %9.0f silver rows/s  cpu %7.1f s  %6.0f MiB peak RSS\n",
			l, s, r / s, a[1] + a[2], a[3] / 1024 }'
}

# the orchestrator's dates: the event dates clean rewrote (the day and the
# late arrivals' earlier days)
dates=$(sed -n '/"partitions_rewritten"/,/]/p' "$dir/clean.json" |
	grep -o '20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]' | sed 's/.*/"&"/' | paste -sd, -)
echo "dates     $(echo "$dates" | tr , '\n' | wc -l) event dates rewritten by clean"
build "models build (first, full)" --vars "{run_date: \"$D\"}"
build "models build (incremental)" --vars "{run_date: \"$D\", dates: [$dates]}"
build "models build --threads 1 (incr.)" --threads 1 --vars "{run_date: \"$D\", dates: [$dates]}"
fact=$("$TXNFLOW" -C "$dir/p" sql --format csv "SELECT count(*) FROM fact_transactions" | tail -1)
echo "fact_transactions $fact rows; warehouse $(du -mL "$dir/p/data/warehouse.duckdb" | cut -f1) MB"
"$TXNFLOW" -C "$dir/p" sql --format csv "SELECT rule, count(*) AS signals,
	count(DISTINCT card_id) AS cards, round(100.0 * count(*) / $rows, 4) AS pct_of_silver
	FROM mart_fraud_signals GROUP BY rule ORDER BY rule" | sed 's/^/fraud     /'
echo "(threads: the profile's threads: 2 unless --threads; DuckDB uses every core per query)"
echo "goal: a 10M-row day's models build well inside the daily window (minutes, 2 cores)"
echo "(cpu = user + sys of all DuckDB threads: less sensitive to other load than wall;"
echo " uptime says $(uptime | sed 's/.*load/load/'))"
