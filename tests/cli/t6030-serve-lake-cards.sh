#!/bin/bash
# The Lake page: the bronze files that hold card numbers (a card feed's)
# with their age in days (today in the pipeline's zone less the ingest
# date) and the day the vacuum removes each (retention.bronze_card_files,
# by default the shortest duration configured; nothing configured: kept,
# bronze_retention null); a feed without card numbers lists none. And the
# lake's versions, as `lake log --json` gives them. The API is checked
# against dates computed here, the page in headless chromium.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TEST_DATA/serve/serve-lib.sh"
trap kill_servers EXIT

unset TXNFLOW_PAN_KEY TXNFLOW_PAN_KEY_FILE
export TXNFLOW_PAN_KEY=0123456789abcdef0123456789abcdef
C="curl -s --max-time 60"
CARDS="SELECT f.path, f.ingest_date, f.age_days, f.size_bytes > 0 AS sized, f.removes_on FROM (SELECT unnest(bronze_card_files) AS f FROM read_json_auto(\"lake.json\"))"

test_expect_success 'a card feed, two days; a day without card numbers beside' '
	txnflow init p >/dev/null &&
	sed -i "s/^  rows: 5000 .*/  rows: 300\n  pan: true/" p/txnflow.yml &&
	txnflow -C p generate --date 2025-09-01 --days 2 &&
	txnflow -C p clean --date 2025-09-01 >/dev/null &&
	txnflow -C p clean --date 2025-09-02 >/dev/null &&
	txnflow generate --data plain --date 2025-09-03 --rows 300 &&
	mv plain/bronze/transactions/ingest_date=2025-09-03 p/data/bronze/transactions/
'

test_expect_success 'serve, no retention configured' '
	start_server s -C p serve --port 0 >url
'
URL=$(cat "$TRASH/url" 2>/dev/null)

test_expect_success '/api/lake lists the files with card numbers and their age, kept' '
	$C "$URL/api/lake" >lake.json &&
	today=$(TZ=Asia/Seoul date +%F) &&
	a1=$(( ($(date -u -d "$today" +%s) - $(date -u -d 2025-09-01 +%s)) / 86400 )) &&
	a2=$((a1 - 1)) &&
	txnflow sql --memory --format csv "$CARDS" >got &&
	cat >expect <<-EOT &&
	path,ingest_date,age_days,sized,removes_on
	bronze/transactions/ingest_date=2025-09-01/part-00000.csv,2025-09-01,$a1,true,
	bronze/transactions/ingest_date=2025-09-02/part-00000.csv,2025-09-02,$a2,true,
	EOT
	test_cmp expect got &&
	test_grep "\"bronze_retention\":null" lake.json &&
	stop_server s
'

test_expect_success 'a bad retention: stops serve with file, line and key' '
	cp p/txnflow.yml yml.orig &&
	printf "retention:\n  bronze_card_files: 90 days\n" >>p/txnflow.yml &&
	test_must_fail txnflow -C p serve --port 0 2>err &&
	test_grep "txnflow.yml:[0-9]*:[0-9]*: retention.bronze_card_files: .90 days." err &&
	cp yml.orig p/txnflow.yml
'

test_expect_success 'with retention: the shortest duration, and the day each file goes' '
	printf "retention:\n  snapshots: 400d\n  bronze: 5y\n  quarantine: 30d\n" >>p/txnflow.yml &&
	start_server s2 -C p serve --port 0 >url2 &&
	$C "$(cat url2)/api/lake" >lake.json &&
	txnflow sql --memory --format csv "SELECT bronze_retention.days, bronze_retention.\"from\", bronze_retention.vacuum FROM read_json_auto(\"lake.json\")" >got &&
	printf "days,from,vacuum\n30,quarantine,daily\n" >expect &&
	test_cmp expect got &&
	: 30 days after the ingest date, the vacuum of the next UTC day removes it &&
	r1=$(date -u -d "2025-09-01 + 31 days" +%F) && r2=$(date -u -d "2025-09-02 + 31 days" +%F) &&
	test $r1 = 2025-10-02 &&
	txnflow sql --memory --format csv "SELECT f.path, f.removes_on FROM (SELECT unnest(bronze_card_files) AS f FROM read_json_auto(\"lake.json\"))" >got &&
	cat >expect <<-EOT &&
	path,removes_on
	bronze/transactions/ingest_date=2025-09-01/part-00000.csv,$r1
	bronze/transactions/ingest_date=2025-09-02/part-00000.csv,$r2
	EOT
	test_cmp expect got
'

test_expect_success '/api/lake has the versions lake log --json lists' '
	txnflow -C p lake log --json >log.json &&
	V="version, committed_at, operation, run_id, ingest_date, batches, partitions_changed, rows, n_partitions" &&
	txnflow sql --memory --format csv "SELECT $V FROM read_json_auto(\"log.json\") ORDER BY version" >want &&
	txnflow sql --memory --format csv "SELECT $V FROM (SELECT unnest(versions, recursive := true) FROM read_json_auto(\"lake.json\")) ORDER BY version" >got &&
	test_cmp want got &&
	test_line_count = 3 want
'

test_expect_success 'the Lake page in chromium: versions, card files and their removal days' '
	if [ ! -x /usr/bin/chromium ] || [ ! -d "$ROOT/node_modules/playwright-core" ]; then
		echo "# SKIP: chromium or playwright-core missing" && return 0
	fi &&
	node -e "
		const log = JSON.parse(require(\"fs\").readFileSync(\"log.json\", \"utf8\"));
		const versions = log.map((v) => ({ version: v.version, rows: v.rows, batches: v.batches.length,
			changed: v.partitions_changed.length === 1 ? v.partitions_changed[0] : v.partitions_changed.length + \" days\" })).reverse();
		const f = (d) => \"bronze/transactions/ingest_date=\" + d + \"/part-00000.csv\";
		console.log(JSON.stringify({ versions,
			card_files: [{ path: f(\"2025-09-01\"), removes_on: \"2025-10-02\" }, { path: f(\"2025-09-02\"), removes_on: \"2025-10-03\" }],
			retention_says: \"removed 30 days after their ingest date (retention.quarantine, the shortest configured)\" }));
	" >expect.json &&
	node "$ROOT/tests/browser/lake.js" "$(cat url2)" expect.json "$ROOT/tests/out/screenshots" >browser.out 2>&1 ;
	rc=$? ; cat browser.out ; grep "^not ok" browser.out ;
	test $rc = 0 && test_grep "^browser: [0-9]* passed, 0 failed" browser.out &&
	stop_server s2
'

test_done
