#!/bin/bash
# Landing from an S3 prefix against the loopback S3 server the publish
# tests use: files put under a prefix (with the AWS SDK, not txnflow) with
# a _SUCCESS marker; the run's sensor lands them and the day is cleaned,
# built and audited; a prefix without its marker times out naming the
# prefix and the land command; `land s3://... --move` removes the objects.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$ROOT/tests/lib/s3/s3-lib.sh"

s3_start lake inbox || exit 1

# put_day DAY [MARKER]: the synthetic batch of DAY (its CSV, as a processor
# would deliver it) put under s3://inbox/daily/DAY/, with _SUCCESS unless
# MARKER is "no"
put_day() {
	txnflow generate --data gen --date "$1" --rows 400 --seed 9 >/dev/null &&
	s3_check inbox put "daily/$1/part-00000.csv" \
		"gen/bronze/transactions/ingest_date=$1/part-00000.csv" >/dev/null &&
	if [ "${2:-}" != no ]; then
		: >empty && s3_check inbox put "daily/$1/_SUCCESS" empty >/dev/null
	fi
}

test_expect_success 'a landed project whose sensor lands from an S3 prefix' '
	txnflow init p >/dev/null &&
	sed -i "s|^  kind: synthetic|  kind: landed\n  landing: s3://inbox/daily/{date}/\n  marker: _SUCCESS\n  poke_interval: 100ms\n  wait: 3s|" p/txnflow.yml &&
	cat >>p/txnflow.yml <<-EOC &&
	publish:
	  s3: {endpoint: "$S3_ENDPOINT", bucket: lake, region: us-east-1, path_style: true, retry_base_ms: 5, retry_max_ms: 50}
	tasks:
	  publish: {enabled: false}
	EOC
	put_day 2025-09-01 &&
	s3_check inbox list daily/2025-09-01/ >ls &&
	test_line_count = 2 ls
'

test_expect_success 'run: the sensor lands the prefix, clean, models, audit' '
	txnflow -C p run --date 2025-09-01 >out 2>&1 &&
	test_grep "landed 1 file from s3://inbox/daily/2025-09-01/" out &&
	B=p/data/bronze/transactions/ingest_date=2025-09-01 &&
	cmp gen/bronze/transactions/ingest_date=2025-09-01/part-00000.csv $B/part-00000.csv &&
	test_path_is_missing $B/_SUCCESS &&
	test_grep "\"s3://inbox/daily/2025-09-01/part-00000.csv\"" $B/_manifest.json &&
	sha=$(sha256sum $B/part-00000.csv | cut -c1-64) &&
	test_grep "\"sha256\": \"$sha\"" $B/_manifest.json &&
	txnflow -C p audit >audit.out &&
	test_grep "^audit: ok" audit.out &&
	txnflow -C p sql --format csv "SELECT count(*) = count(*) FILTER (WHERE status = '\''ok'\'') FROM mart_reconciliation" | tail -1 >got &&
	echo true >want && test_cmp want got &&
	! ls -a p/data/bronze | grep -q download
'

test_expect_success 'the same prefix landed again: nothing to do' '
	sha256sum p/data/bronze/transactions/ingest_date=2025-09-01/_manifest.json >m1 &&
	txnflow -C p land --date 2025-09-01 s3://inbox/daily/2025-09-01/ >out &&
	test_grep "nothing to do" out &&
	sha256sum p/data/bronze/transactions/ingest_date=2025-09-01/_manifest.json >m2 &&
	test_cmp m1 m2
'

test_expect_success 'a prefix without its marker times out naming the prefix' '
	put_day 2025-09-02 no &&
	test_must_fail txnflow -C p run --date 2025-09-02 >out 2>&1 &&
	db "SELECT error FROM task_attempts WHERE task = '\''sensor'\'' ORDER BY attempt_id DESC LIMIT 1" >msg &&
	test_grep "sensor timed out after 3[.0]*s waiting for .*ingest_date=2025-09-02/_manifest.json, to land from feed.landing s3://inbox/daily/2025-09-02/ (s3://inbox/daily/2025-09-02/part-00000.csv is not complete: its marker s3://inbox/daily/2025-09-02/_SUCCESS is not there yet); land them with: txnflow -C .*/p land --date 2025-09-02" msg &&
	test_path_is_missing p/data/bronze/transactions/ingest_date=2025-09-02
'

test_expect_success 'once the marker is there, the rerun lands and cleans the day' '
	: >empty && s3_check inbox put daily/2025-09-02/_SUCCESS empty >/dev/null &&
	txnflow -C p run --date 2025-09-02 >out 2>&1 &&
	test_path_is_file p/data/bronze/transactions/ingest_date=2025-09-02/part-00000.csv &&
	txnflow -C p audit >/dev/null
'

test_expect_success 'land s3://... --move removes the objects and the marker' '
	put_day 2025-09-03 &&
	txnflow -C p land --date 2025-09-03 s3://inbox/daily/2025-09-03 --move >out &&
	test_grep "^landed ingest_date=2025-09-03: 1 file" out &&
	s3_check inbox list daily/2025-09-03/ >ls &&
	test_line_count = 0 ls &&
	cmp gen/bronze/transactions/ingest_date=2025-09-03/part-00000.csv \
		p/data/bronze/transactions/ingest_date=2025-09-03/part-00000.csv
'

test_expect_success 'an empty prefix: nothing to land' '
	test_must_fail txnflow -C p land --date 2025-09-04 s3://inbox/daily/2025-09-04/ 2>err &&
	test_grep "nothing to land under s3://inbox/daily/2025-09-04/" err
'

test_done
