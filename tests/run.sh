#!/bin/bash
# Run every test: the unit runner ($UNIT) and each end-to-end script in
# tests/cli (two at a time; the machine has two cores). Prints each
# script's result and ends with one line: "N passed, N failed".
#   tests/run.sh [PATTERN]   only cli scripts whose name contains PATTERN
# The longest start first (longest processing time first: the last run's
# tests/out/NAME.secs, else tests/durations, else 20 s), the unit runner
# among them, so the run does not end on one long script while the other
# core idles.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export TXNFLOW=${TXNFLOW:-$ROOT/build/asan/txnflow}
UNIT=${UNIT:-$ROOT/build/asan/unit-tests}
export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=134:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=134}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}
JOBS=${TEST_JOBS:-2}
pattern=${1:-}
out=$ROOT/tests/out
mkdir -p "$out"
start=$(date +%s)

passed=0
failed=0
failed_names=""

scripts=$(ls tests/cli/t[0-9]*.sh 2>/dev/null | grep -F -- "$pattern" || true)
# timed FILE CMD...: CMD, and its user and system seconds and peak RSS
# (KB) written to FILE (tests/out/NAME.cpu): the figure to compare on a
# shared machine, where wall time is noise
timed() {
	_f=$1
	shift
	if [ -x /usr/bin/time ]; then /usr/bin/time -f "%U %S %M" -o "$_f" "$@"; else "$@"; fi
}
run_unit() {
	t0=$(date +%s)
	(cd "$out" && timed "$out/unit.cpu" "$UNIT") >"$out/unit.log" 2>&1
	echo $(( $(date +%s) - t0 )) >"$out/unit.secs"
}
run_one() {
	s=$1
	name=$(basename "$s" .sh)
	t0=$(date +%s)
	timed "$out/$name.cpu" bash "$s" >"$out/$name.out" 2>&1
	echo $? >"$out/$name.rc"
	echo $(( $(date +%s) - t0 )) >"$out/$name.secs"
}
# expected NAME: the seconds NAME is expected to take
expected() {
	_s=$(cat "$out/$1.secs" 2>/dev/null ||
		awk -v n="$1" '$2 == n { print $1 }' tests/durations 2>/dev/null)
	echo "${_s:-20}"
}
jobs_list=$({ [ -z "$pattern" ] && echo "$(expected unit) unit"
	for s in $scripts; do echo "$(expected "$(basename "$s" .sh)") $s"; done; } |
	sort -k1,1nr -k2,2 | cut -d" " -f2)
running=0
for j in $jobs_list; do
	if [ "$j" = unit ]; then run_unit & else run_one "$j" & fi
	running=$((running + 1))
	if [ $running -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

# cpu NAME: ", N s CPU" from NAME.cpu (user + system)
cpu() {
	awk '/^[0-9.]+ [0-9.]+ [0-9]+$/ { printf ", %.1f s CPU", $1 + $2 }' "$out/$1.cpu" 2>/dev/null
}
if [ -z "$pattern" ]; then
	echo "== unit tests ($UNIT)"
	echo "unit runner: $(cat "$out/unit.secs" 2>/dev/null || echo ?)s$(cpu unit)"
	grep -E '^FAIL|^  ' "$out/unit.log" | head -50
	line=$(grep -E '^unit: [0-9]+ passed, [0-9]+ failed$' "$out/unit.log" | tail -1)
	if [ -n "$line" ]; then
		echo "$line"
		p=$(echo "$line" | sed -E 's/^unit: ([0-9]+) passed.*/\1/')
		f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
		passed=$((passed + p))
		failed=$((failed + f))
		[ "$f" != 0 ] && failed_names="$failed_names unit"
	else
		echo "unit runner did not finish; tail of $out/unit.log:"
		tail -20 "$out/unit.log"
		failed=$((failed + 1))
		failed_names="$failed_names unit"
	fi
fi

for s in $scripts; do
	name=$(basename "$s" .sh)
	line=$(grep -E "^# $name: [0-9]+ passed, [0-9]+ failed$" "$out/$name.out" | tail -1)
	rc=$(cat "$out/$name.rc" 2>/dev/null || echo 1)
	if [ -z "$line" ]; then
		echo "$name: did not finish (exit $rc); tail of output:"
		tail -20 "$out/$name.out" | sed 's/^/    /'
		failed=$((failed + 1))
		failed_names="$failed_names $name"
		continue
	fi
	p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
	passed=$((passed + p))
	failed=$((failed + f))
	echo "${line#\# } ($(cat "$out/$name.secs" 2>/dev/null || echo ?)s$(cpu "$name"))"
	if [ "$f" != 0 ] || [ "$rc" != 0 ]; then
		grep -E '^(not ok|#)' "$out/$name.out" | grep -v "^# $name:" | head -60 | sed 's/^/    /'
		failed_names="$failed_names $name"
		[ "$f" = 0 ] && failed=$((failed + 1))
	fi
done

total_cpu=$(for s in $scripts; do cpu "$(basename "$s" .sh)"; echo; done
	[ -z "$pattern" ] && cpu unit && echo)
total_cpu=$(echo "$total_cpu" | awk -F'[ ,]+' '/CPU/ { t += $2 } END { printf "%.0f", t }')
echo "time: $(( $(date +%s) - start ))s, ${total_cpu} s CPU${failed_names:+; failed:$failed_names}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
