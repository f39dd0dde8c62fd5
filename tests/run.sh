#!/bin/bash
# Run every test: the unit runner ($UNIT) and each end-to-end script in
# tests/cli (two at a time; the machine has two cores). Prints each
# script's result and ends with one line: "N passed, N failed".
#   tests/run.sh [PATTERN]   only cli scripts whose name contains PATTERN
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

if [ -z "$pattern" ]; then
	echo "== unit tests ($UNIT)"
	t0=$(date +%s)
	(cd "$out" && "$UNIT") >"$out/unit.log" 2>&1
	echo "unit runner: $(( $(date +%s) - t0 ))s"
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

scripts=$(ls tests/cli/t[0-9]*.sh 2>/dev/null | grep -F -- "$pattern" || true)
run_one() {
	s=$1
	name=$(basename "$s" .sh)
	t0=$(date +%s)
	bash "$s" >"$out/$name.out" 2>&1
	echo $? >"$out/$name.rc"
	echo $(( $(date +%s) - t0 )) >"$out/$name.secs"
}
running=0
for s in $scripts; do
	run_one "$s" &
	running=$((running + 1))
	if [ $running -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

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
	echo "${line#\# } ($(cat "$out/$name.secs" 2>/dev/null || echo ?)s)"
	if [ "$f" != 0 ] || [ "$rc" != 0 ]; then
		grep -E '^(not ok|#)' "$out/$name.out" | grep -v "^# $name:" | head -60 | sed 's/^/    /'
		failed_names="$failed_names $name"
		[ "$f" = 0 ] && failed=$((failed + 1))
	fi
done

echo "time: $(( $(date +%s) - start ))s${failed_names:+; failed:$failed_names}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
