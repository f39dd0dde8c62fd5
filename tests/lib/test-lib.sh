# The end-to-end test library, after git's t/test-lib.sh. Source it from
# tests/cli/tNNNN-<command>-<what>.sh:
#
#   . "$(dirname "$0")/../lib/test-lib.sh"
#   test_expect_success 'init makes a project' '
#       txnflow init p && test -f p/txnflow.yml
#   '
#   test_done
#
# Each test body runs in a subshell inside the script's scratch directory
# ($TRASH, kept after a failure for inspection). `txnflow` runs the binary
# under test ($TXNFLOW, default the sanitizer build). Run a script with -v
# to see every command's output.

TEST_NAME=$(basename "$0" .sh)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TXNFLOW=${TXNFLOW:-$ROOT/build/asan/txnflow}
case "$TXNFLOW" in /*) ;; *) TXNFLOW=$ROOT/$TXNFLOW ;; esac
TEST_DATA=$ROOT/tests/data
TRASH=$ROOT/tests/out/$TEST_NAME
export ROOT TXNFLOW TEST_DATA TRASH
# Sanitizers: fail loudly; libduckdb is not ours, so its leaks are not
# reported (see tests/lsan.supp).
export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=134:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=134}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}
export TZ=UTC LC_ALL=C NO_COLOR=1

# test_duckdb_heavy: for a script whose time is DuckDB's own allocations
# (models built again and again). ASan's quarantine keeps every freed block
# out of reuse, so each of DuckDB's allocations is a fresh page: such a
# build costs 2x the CPU and 5x the memory of one without it. These scripts
# run with no quarantine; redzones, leak checks and UBSan stay on, and
# use-after-free in our code stays covered by every other script and by the
# unit tests (ASan and valgrind). Decision 0001.
test_duckdb_heavy() {
	ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
	export ASAN_OPTIONS
}
# test_release_build REASON: the whole script runs txnflow_ref (the
# release build), for a script whose assertions are about what a model's
# SQL computes (DuckDB's answer), which ASan cannot change, while the C
# paths it drives run under ASan in other scripts; REASON names them.
# Decision 0001.
test_release_build() {
	TXNFLOW=$TXNFLOW_REF
	echo "# $TEST_NAME runs $TXNFLOW: $*"
}
unset TXNFLOW_NOW

test_verbose=0
[ "${1:-}" = "-v" ] && test_verbose=1
test_count=0
test_passed=0
test_failed=0

rm -rf "$TRASH"
mkdir -p "$TRASH"
cd "$TRASH" || exit 1

txnflow() { "$TXNFLOW" "$@"; }
# txnflow_ref: the same program without the sanitizers (the release build,
# build/txnflow, which `make test` builds beside the ASan one), for what a
# script computes only to compare with: the --full-refresh copy of
# full_equal, the tables' sums, a reference project that never saw a
# batch. Those commands' paths run under ASan in the scripts that test
# them, and the ASan build would cost 3 to 5 times the CPU here, for
# nothing it could find (decision 0001). The ASan build when the release
# one is missing or older than a source file.
TXNFLOW_REF=${TXNFLOW_REF:-$ROOT/build/txnflow}
if [ ! -x "$TXNFLOW_REF" ] ||
	[ -n "$(find "$ROOT/src" "$ROOT/Makefile" -newer "$TXNFLOW_REF" -print -quit 2>/dev/null)" ]; then
	TXNFLOW_REF=$TXNFLOW
fi
export TXNFLOW_REF
txnflow_ref() { "$TXNFLOW_REF" "$@"; }
# TXF_TEST_PROFILE=FILE: each txnflow command's wall, user and sys seconds,
# peak RSS and arguments appended to FILE (finding where a script's time
# goes; the process under test is then /usr/bin/time's child, so scripts
# that kill $! are not measured this way)
if [ -n "${TXF_TEST_PROFILE:-}" ]; then
	txnflow() {
		_a=$(printf "%s " "$@" | tr -s "\n\t" "  " | cut -c1-90 | sed "s/[%\\]/_/g")
		/usr/bin/time -a -o "$TXF_TEST_PROFILE" -f "%e %U %S %M $TEST_NAME $_a" "$TXNFLOW" "$@"
	}
	txnflow_ref() {
		_a=$(printf "%s " "$@" | tr -s "\n\t" "  " | cut -c1-90 | sed "s/[%\\]/_/g")
		/usr/bin/time -a -o "$TXF_TEST_PROFILE" -f "%e %U %S %M $TEST_NAME REF $_a" "$TXNFLOW_REF" "$@"
	}
fi

say() { echo "$*"; }

# test_expect_success DESCRIPTION BODY
test_expect_success() {
	test_count=$((test_count + 1))
	_log="$TRASH/.test-$test_count.log"
	_t0=$SECONDS
	( cd "$TRASH" && set -x && eval "$2" ) >"$_log" 2>&1
	_rc=$?
	[ $test_verbose = 1 ] && cat "$_log"
	if [ $_rc = 0 ]; then
		test_passed=$((test_passed + 1))
		# the seconds it took, to find the slow ones (tests/out/*.out)
		echo "ok $test_count - $1 ($((SECONDS - _t0))s)"
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $1"
		echo "# body:"
		echo "$2" | sed 's/^/#   /'
		echo "# output (last 40 lines of $_log):"
		tail -n 40 "$_log" | sed 's/^/#   /'
	fi
}

# test_must_fail CMD...: CMD exits non-zero, but not by a signal or a
# sanitizer report (exit codes 1..125).
test_must_fail() {
	"$@"
	_rc=$?
	if [ $_rc = 0 ]; then
		echo "test_must_fail: '$*' succeeded" >&2
		return 1
	elif [ $_rc -gt 125 ]; then
		echo "test_must_fail: '$*' died (exit $_rc)" >&2
		return 1
	fi
	return 0
}

# test_expect_code CODE CMD...
test_expect_code() {
	_want=$1
	shift
	"$@"
	_rc=$?
	if [ "$_rc" != "$_want" ]; then
		echo "test_expect_code: '$*' exited $_rc, want $_want" >&2
		return 1
	fi
	return 0
}

# test_cmp EXPECTED ACTUAL
test_cmp() {
	diff -u "$1" "$2"
}

test_path_is_file() {
	[ -f "$1" ] || { echo "not a file: $1" >&2; return 1; }
}

test_path_is_dir() {
	[ -d "$1" ] || { echo "not a directory: $1" >&2; return 1; }
}

test_path_is_missing() {
	[ ! -e "$1" ] || { echo "exists: $1" >&2; return 1; }
}

# test_line_count OP N FILE
test_line_count() {
	_n=$(wc -l <"$3")
	test "$_n" "$1" "$2" || { echo "line count of $3: $_n, want $1 $2" >&2; return 1; }
}

# grep that shows the haystack on failure
test_grep() {
	grep "$@" || { eval "_f=\${$#}"; echo "pattern not found; content of $_f:" >&2; cat "$_f" >&2; return 1; }
}

# ---- helpers more than one script uses

# db SQL...: sqlite3 on the metadata database of the scratch project p;
# db_at DIR SQL...: on project DIR's
db_at() {
	_dir=$1
	shift
	sqlite3 -batch "$_dir/data/txnflow.db" "$@"
}
db() { db_at p "$@"; }

# gone PID: the process exits (or is a zombie) within 3 s
gone() {
	for _i in $(seq 30); do
		_st=$(ps -o stat= -p "$1" 2>/dev/null)
		case "$_st" in ""|Z*) return 0 ;; esac
		sleep 0.1
	done
	echo "process $1 still alive ($_st)" >&2
	return 1
}

# lake_sums DATA_DIR: the SHA-256 of every file of the lake (silver and
# quarantine), sorted by path — without the change log and the snapshots,
# which are the lake's history and differ with the order of the cleans
# (changes_sums)
lake_sums() {
	(cd "$1" && find silver quarantine -type f -not -path 'silver/_changes/*' \
		-not -path 'silver/_snapshots/*' | sort | xargs sha256sum)
}

# changes_sums DATA_DIR: the SHA-256 of every file of the change log
changes_sums() {
	(cd "$1" && { find silver/_changes -type f 2>/dev/null || true; } |
		sort | xargs -r sha256sum)
}

# warehouse_sums DB: per table of the main schema, its rows and a sum of
# row hashes — equal for equal tables, whatever the row order. One query
# for all the tables (a txnflow start per table cost seconds under ASan).
# Read-only queries to compare with: txnflow_ref.
warehouse_sums() {
	_q=$(txnflow_ref sql --db "$1" --format csv "SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'main' ORDER BY 1" | tail -n +2 |
	while read -r t; do
		printf "%sSELECT '%s' AS t, count(*) || ':' || COALESCE(SUM(hash(x)::HUGEINT), 0) AS v FROM main.\"%s\" x\n" \
			"${_sep:-}" "$(printf %s "$t" | sed "s/'/''/g")" "$t"
		_sep="UNION ALL "
	done) || return 1
	[ -n "$_q" ] || return 0
	txnflow_ref sql --db "$1" --format csv "SELECT t || ' ' || v FROM ($_q) ORDER BY t" | tail -n +2
}

# select_is DIR WANT ARGS...: `txnflow -C DIR models ls ARGS` lists exactly
# the models, seeds and snapshots WANT names (sorted, each followed by a
# space; "" for none); the listing is left in ls.out
select_is() {
	_dir=$1 _want=$2 && shift 2 &&
	txnflow -C "$_dir" models ls "$@" >ls.out || return 1
	_got=$(grep -E "^(model|seed|snapshot) " ls.out | cut -d" " -f2 | sort | tr "\n" " ")
	test "$_got" = "$_want" || { echo "ls $*: want '$_want', got '$_got'"; return 1; }
}

# dbt_project DIR NAME: a dbt project's two files in DIR (made): a
# dbt_project.yml named NAME with profile NAME, and a profiles.yml whose
# output dev is DuckDB at target/NAME.duckdb.
dbt_project() {
	mkdir -p "$1" &&
	printf 'name: %s\nprofile: %s\n' "$2" "$2" >"$1/dbt_project.yml" &&
	printf '%s:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: target/%s.duckdb\n' \
		"$2" "$2" >"$1/profiles.yml"
}

# test_fuzz_short SCRIPT: the short run of the fuzz target
# tests/fuzz/SCRIPT (under ASan/UBSan), its log's tail on failure
test_fuzz_short() {
	sh "$ROOT/tests/fuzz/$1" short >fuzz.log 2>&1 ||
	{ tail -60 fuzz.log; return 1; }
	grep "^Done [0-9]* runs" fuzz.log
}

# one_duckdb_thread DIR: project DIR's models run each query on one DuckDB
# thread (threads: 1 under settings: in profiles.yml; the project still builds
# two models at once). For the few thousand rows of a test, DuckDB's worker
# threads add only their hand-offs: a third of a build's wall time and a
# fifth of its CPU under ASan. The scripts whose point is many builds by
# change use it; t3102 keeps DuckDB's default, so parallel scans of the
# silver files stay covered.
one_duckdb_thread() {
	sed -i 's/^      settings:$/      settings:\n        threads: "1"/' \
		"$1/profiles.yml" &&
	grep -q "^        threads: \"1\"$" "$1/profiles.yml"
}

# full_equal DIR RUN_DATE: the warehouse of project DIR equals a
# --full-refresh build of a copy of it (DIR.copy): every table's rows
# (warehouse_sums). The copy is the reference, built by txnflow_ref: a
# full refresh runs under ASan in every script's first build and in
# t3100's and t3102's own --full-refresh builds.
full_equal() {
	rm -rf "$1.copy" && cp -r "$1" "$1.copy" &&
	txnflow_ref -C "$1.copy" models build --full-refresh --vars "{run_date: \"$2\"}" >"$1.full.out" &&
	! grep -E "FAIL|ERROR|by change" "$1.full.out" &&
	warehouse_sums "$1/data/warehouse.duckdb" >"$1.incr.sums" &&
	warehouse_sums "$1.copy/data/warehouse.duckdb" >"$1.full.sums" &&
	test $(wc -l <"$1.full.sums") -ge 18 &&
	test_cmp "$1.full.sums" "$1.incr.sums"
}

test_done() {
	echo "# $TEST_NAME: $test_passed passed, $test_failed failed"
	if [ $test_failed = 0 ] && [ -z "${KEEP_TRASH:-}" ]; then
		cd "$ROOT" && rm -rf "$TRASH"
	fi
	[ $test_failed = 0 ]
}
