#!/bin/bash
# The Lake page's bronze files that hold card numbers (a card feed's), with
# their age in days (today in the pipeline's zone less the ingest date) and
# no retention configured yet (bronze retention is issue 21's); a feed
# without card numbers lists none.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TEST_DATA/serve/serve-lib.sh"
trap kill_servers EXIT

unset TXNFLOW_PAN_KEY TXNFLOW_PAN_KEY_FILE
export TXNFLOW_PAN_KEY=0123456789abcdef0123456789abcdef
C="curl -s --max-time 60"

test_expect_success 'a card feed, two days; a day without card numbers beside' '
	txnflow init p >/dev/null &&
	sed -i "s/^  rows: 5000 .*/  rows: 300\n  pan: true/" p/txnflow.yml &&
	txnflow -C p generate --date 2025-09-01 --days 2 &&
	txnflow -C p clean --date 2025-09-01 >/dev/null &&
	txnflow generate --data plain --date 2025-09-03 --rows 300 &&
	mv plain/bronze/transactions/ingest_date=2025-09-03 p/data/bronze/transactions/
'

test_expect_success 'serve' '
	start_server s -C p serve --port 0 >url
'
URL=$(cat "$TRASH/url" 2>/dev/null)

test_expect_success '/api/lake lists the files with card numbers and their age' '
	$C "$URL/api/lake" >lake.json &&
	today=$(TZ=Asia/Seoul date +%F) &&
	a1=$(( ($(date -u -d "$today" +%s) - $(date -u -d 2025-09-01 +%s)) / 86400 )) &&
	a2=$((a1 - 1)) &&
	txnflow sql --memory --format csv "SELECT f.path, f.ingest_date, f.age_days, f.size_bytes > 0 AS sized FROM (SELECT unnest(bronze_card_files) AS f FROM read_json_auto(\"lake.json\"))" >got &&
	cat >expect <<-EOT &&
	path,ingest_date,age_days,sized
	bronze/transactions/ingest_date=2025-09-01/part-00000.csv,2025-09-01,$a1,true
	bronze/transactions/ingest_date=2025-09-02/part-00000.csv,2025-09-02,$a2,true
	EOT
	test_cmp expect got &&
	test_grep "\"bronze_retention\":null" lake.json
'

test_expect_success 'the Lake page script renders them' '
	$C "$URL/static/app.js" >app.js &&
	test_grep "Bronze files holding card numbers" app.js &&
	test_grep "data-card-file" app.js
'

test_done
