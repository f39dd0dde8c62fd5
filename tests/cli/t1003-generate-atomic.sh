#!/bin/bash
# A batch appears whole or not at all: a killed generate leaves no
# ingest_date= directory, and the next run cleans up after it.
. "$(dirname "$0")/../lib/test-lib.sh"

test_expect_success 'kill -9 during generate leaves no visible batch' '
	mkdir -p d &&
	( exec "$TXNFLOW" generate --data d --date 2025-09-01 --rows 5000000 >/dev/null 2>&1 ) &
	pid=$! &&
	i=0 &&
	while [ $i -lt 1200 ] && ! ls -A d/bronze/transactions 2>/dev/null | grep -q tmp; do
		sleep 0.05; i=$((i + 1))
	done &&
	sleep 0.3 &&
	kill -9 $pid && { wait $pid; true; } &&
	ls -A d/bronze/transactions >entries &&
	cat entries &&
	! grep -q "^ingest_date=" entries &&
	grep -q "^\.ingest_date=2025-09-01\.tmp-" entries
'

test_expect_success 'the next run replaces the leftovers with a whole batch' '
	txnflow generate --data d --date 2025-09-01 --rows 200 &&
	ls -A d/bronze/transactions >entries &&
	echo ingest_date=2025-09-01 >expect &&
	test_cmp expect entries &&
	ls -A d/truth/transactions >entries &&
	test_cmp expect entries
'

test_expect_success 'kill -9 during --force leaves the old batch intact' '
	cp -r d/bronze/transactions/ingest_date=2025-09-01 old &&
	( exec "$TXNFLOW" generate --data d --date 2025-09-01 --rows 5000000 --force >/dev/null 2>&1 ) &
	pid=$! &&
	i=0 &&
	while [ $i -lt 1200 ] && ! ls -A d/bronze/transactions | grep -q tmp; do
		sleep 0.05; i=$((i + 1))
	done &&
	sleep 0.3 &&
	kill -9 $pid && { wait $pid; true; } &&
	diff -r old d/bronze/transactions/ingest_date=2025-09-01
'

test_done
