#!/bin/bash
# A batch appears whole or not at all, with its own truth: a killed or
# crashed generate leaves the previous batch or the new one (each with the
# truth that belongs to it), the next run settles what it left, and two
# generates of one date never run at once.
. "$(dirname "$0")/../lib/test-lib.sh"

D=2025-09-01
B=bronze/transactions/ingest_date=$D
T=truth/transactions/ingest_date=$D
LOCK=locks/generate-$D.lock

# start_long DIR [ARGS]: a generate of D big enough to be caught running;
# sets $pid (the generate itself) once it holds the date lock (its pid is
# in the lock file) and has made temp dirs of its own (older leftovers,
# which it removes first, do not count). On a timeout it is killed.
start_long() {
	dir=$1; shift
	ls -A $dir/bronze/transactions 2>/dev/null | grep "^\.ingest_date=$D\.tmp-" >old-tmps
	"$TXNFLOW" generate --data $dir --date $D --rows 5000000 "$@" >/dev/null 2>&1 &
	pid=$!
	echo $pid >>"$TRASH/long-pids"
	i=0
	while [ $i -lt 2400 ]; do
		if [ "$(cat $dir/$LOCK 2>/dev/null)" = "$pid" ] &&
			ls -A $dir/bronze/transactions 2>/dev/null | grep "^\.ingest_date=$D\.tmp-" |
				grep -qvxF -f old-tmps; then
			sleep 0.3
			return 0
		fi
		sleep 0.05; i=$((i + 1))
	done
	echo "start_long: generate $pid not caught running"
	kill -9 $pid; wait $pid
	return 1
}

# the truth in DIR belongs to its bronze batch (the tie is the manifest's sha256)
tied() {
	(cd $1/$B && sha256sum --quiet -c ../../../$T/_bronze.sha256)
}

test_expect_success 'kill -9 during generate leaves no visible batch' '
	start_long d &&
	kill -9 $pid && { wait $pid; true; } &&
	ls -A d/bronze/transactions >entries &&
	cat entries &&
	! grep -q "^ingest_date=" entries &&
	grep -q "^\.ingest_date=$D\.tmp-" entries &&
	! ls -A d/truth/transactions 2>/dev/null | grep -q "^ingest_date="
'

test_expect_success 'the next run replaces the leftovers with a whole batch, tied to its truth' '
	txnflow generate --data d --date $D --rows 200 &&
	ls -A d/bronze/transactions >entries &&
	echo ingest_date=$D >expect &&
	test_cmp expect entries &&
	ls -A d/truth/transactions >entries &&
	test_cmp expect entries &&
	ls d/$T >files && printf "_bronze.sha256\nlines.csv\n" >expect && test_cmp expect files &&
	tied d
'

test_expect_success 'a second generate of the same date refuses while the first runs, touching nothing' '
	cp -r d/$B old && cp -r d/$T oldtruth &&
	start_long d --force &&
	ls -A d/bronze/transactions d/truth/transactions >before &&
	test_expect_code 1 txnflow generate --data d --date $D --rows 200 --force 2>err &&
	cat err &&
	test_grep "another generate of $D is running (pid $pid holds .*$LOCK)" err &&
	test_expect_code 1 txnflow generate --data d --date 2025-08-31 --days 3 --rows 200 2>err &&
	test_grep "another generate of $D is running" err &&
	ls -A d/bronze/transactions d/truth/transactions >after &&
	test_cmp before after &&
	kill -0 $pid &&
	kill -9 $pid && { wait $pid; true; } &&
	diff -r old d/$B && diff -r oldtruth d/$T
'

test_expect_success 'kill -9 during --force leaves the old batch and truth intact' '
	start_long d --force &&
	kill -9 $pid && { wait $pid; true; } &&
	diff -r old d/$B && diff -r oldtruth d/$T && tied d
'

# A fresh batch of seed 5 in its own dir: what --force --seed 5 must give.
test_expect_success 'reference batch of seed 5' '
	txnflow generate --data ref --date $D --rows 200 --seed 5 >/dev/null
'

test_expect_success 'crash between the truth and bronze swaps: the truth no longer matches' '
	test_expect_code 3 env TXNFLOW_CRASH_AT=generate-truth \
		"$TXNFLOW" generate --data d --date $D --rows 200 --seed 5 --force &&
	diff -r old d/$B &&
	diff -r ref/$T d/$T &&
	! tied d &&
	ls -A d/bronze/transactions | grep -q "^\.ingest_date=$D\.tmp-"
'

test_expect_success 'meanwhile audit notices the truth is not this batch'"'"'s and does not use it' '
	txnflow clean --data d --date $D >/dev/null &&
	txnflow audit --data d --json >audit.json &&
	test_grep "\"ok\": true" audit.json &&
	test_grep "note: the truth of $D belongs to another bronze batch" audit.json
'

test_expect_success 'a rerun without --force settles back to the previous batch and truth' '
	test_expect_code 4 txnflow generate --data d --date $D --rows 200 --seed 5 2>err &&
	test_grep "already exists (use --force" err &&
	diff -r old d/$B && diff -r oldtruth d/$T && tied d &&
	ls -A d/bronze/transactions d/truth/transactions >entries &&
	! grep -q tmp entries
'

test_expect_success 'a rerun with --force after the same crash converges to the new batch' '
	test_expect_code 3 env TXNFLOW_CRASH_AT=generate-truth \
		"$TXNFLOW" generate --data d --date $D --rows 200 --seed 5 --force &&
	! tied d &&
	txnflow generate --data d --date $D --rows 200 --seed 5 --force >/dev/null &&
	diff -r ref/$B d/$B && diff -r ref/$T d/$T && tied d &&
	ls -A d/bronze/transactions d/truth/transactions >entries &&
	! grep -q tmp entries
'

test_expect_success 'crash after both swaps: the new batch is in place, the leftovers go on the next run' '
	txnflow generate --data d --date $D --rows 200 --force >/dev/null &&
	diff -r old d/$B && diff -r oldtruth d/$T &&
	test_expect_code 3 env TXNFLOW_CRASH_AT=generate-bronze \
		"$TXNFLOW" generate --data d --date $D --rows 200 --seed 5 --force &&
	diff -r ref/$B d/$B && diff -r ref/$T d/$T && tied d &&
	ls -A d/bronze/transactions | grep -q "^\.ingest_date=$D\.tmp-" &&
	test_expect_code 4 txnflow generate --data d --date $D --rows 200 2>err &&
	diff -r ref/$B d/$B && diff -r ref/$T d/$T &&
	ls -A d/bronze/transactions d/truth/transactions >entries &&
	! grep -q tmp entries
'

test_expect_success 'crash before any swap: nothing changes' '
	test_expect_code 3 env TXNFLOW_CRASH_AT=generate-staged \
		"$TXNFLOW" generate --data d --date $D --rows 200 --force &&
	diff -r ref/$B d/$B && diff -r ref/$T d/$T && tied d
'

test_expect_success 'crash between the swaps of a first batch: the rerun makes it whole' '
	test_expect_code 3 env TXNFLOW_CRASH_AT=generate-truth \
		"$TXNFLOW" generate --data f --date $D --rows 200 --seed 5 &&
	test_path_is_missing f/$B &&
	test_path_is_dir f/$T &&
	txnflow generate --data f --date $D --rows 200 --seed 5 >/dev/null &&
	diff -r ref/$B f/$B && diff -r ref/$T f/$T &&
	ls -A f/bronze/transactions f/truth/transactions >entries &&
	! grep -q tmp entries
'

test_expect_success 'a truth from before ties (no _bronze.sha256) is restored too' '
	rm d/$T/_bronze.sha256 && cp -r d/$T untied &&
	test_expect_code 3 env TXNFLOW_CRASH_AT=generate-truth \
		"$TXNFLOW" generate --data d --date $D --rows 200 --force &&
	test_expect_code 4 txnflow generate --data d --date $D --rows 200 2>err &&
	diff -r ref/$B d/$B && diff -r untied d/$T
'

# A failed test may have left its long generate running: stop it (only
# the processes this script started, still running in its directory).
for p in $(cat "$TRASH/long-pids" 2>/dev/null); do
	[ "$(readlink /proc/$p/cwd 2>/dev/null)" = "$TRASH" ] && kill -9 "$p" 2>/dev/null
done

test_done
