#!/bin/sh
# `models build` of the default project on a 10,000,000-row day: generate one
# day, clean it, then time (1) the first build (seeds, every model, every
# test, write-audit-publish) and (2) the daily incremental build the
# orchestrator runs (--vars run_date + dates). Prints each model's time.
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
rows=$("$TXNFLOW" sql --memory --format csv \
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
		printf "%-28s wall %7.1f s  %9.0f silver rows/s  cpu %7.1f s  %6.0f MiB peak RSS\n",
			l, s, r / s, a[1] + a[2], a[3] / 1024 }'
}

build "models build (first, full)" --vars "{run_date: \"$D\"}"
build "models build (incremental)" --vars "{run_date: \"$D\", dates: [\"$D\"]}"
fact=$("$TXNFLOW" -C "$dir/p" sql --format csv "SELECT count(*) FROM fact_transactions" | tail -1)
echo "fact_transactions $fact rows; warehouse $(du -m "$dir/p/data/warehouse.duckdb" | cut -f1) MB"
echo "goal: a 10M-row day's models build well inside the daily window (minutes, 2 cores)"
echo "(cpu = user + sys of all DuckDB threads: less sensitive to other load than wall;"
echo " uptime says $(uptime | sed 's/.*load/load/'))"
