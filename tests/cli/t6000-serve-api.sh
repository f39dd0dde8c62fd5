#!/bin/bash
# txnflow serve: the JSON API and the safety rules, with curl — including
# hostile requests (traversal, encoded traversal, huge headers, odd
# methods, bodies, bad parameters, HTML in data values) and a broken
# metadata database.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$TEST_DATA/serve/serve-lib.sh"
trap kill_servers EXIT

test_expect_success 'fixture project' '
	make_fixture_project p
'

test_expect_success 'serve starts on loopback' '
	start_server s -C p serve --port 0 >url &&
	test_grep "^http://127.0.0.1:[0-9]*$" url
'
URL=$(cat "$TRASH/url" 2>/dev/null)
C="curl -s --max-time 60"

test_expect_success 'pages and static files are served from the binary' '
	for p in / /runs /quality /lineage /lake /business; do
		$C -o page -w "%{http_code} %{content_type}\n" "$URL$p" >code &&
		test_grep "^200 text/html" code &&
		test_grep "/static/app.js" page || exit 1
	done &&
	$C -o js -w "%{http_code} %{content_type}\n" "$URL/static/app.js" >code &&
	test_grep "^200 text/javascript" code &&
	$C -o u -w "%{http_code}\n" "$URL/static/uPlot.min.js" >code &&
	test_grep "^200" code && test_grep "uPlot" u
'

test_expect_success 'every response carries the security headers' '
	for p in / /static/app.css /api/runs /nope /api/nope; do
		$C -D h -o /dev/null "$URL$p" &&
		test_grep -i "^content-security-policy: default-src .self.;.*frame-ancestors .none." h &&
		test_grep -i "^x-content-type-options: nosniff" h &&
		test_grep -i "^x-frame-options: DENY" h || exit 1
	done &&
	! grep -i "unsafe-inline\|unsafe-eval" h
'

test_expect_success 'the page has no inline script or style' '
	$C "$URL/" >page &&
	! grep -i "<script>\|<style\|style=\|onload=\|onclick=" page
'

test_expect_success 'path traversal, plain and encoded, finds nothing' '
	for p in "/static/../../../../etc/passwd" "/static/%2e%2e/%2e%2e/etc/passwd" \
		"/static/..%2f..%2fetc%2fpasswd" "/%2e%2e/%2e%2e/etc/passwd" \
		"/static/%2fetc%2fpasswd" "/static/.hidden" "/static/web/app.js" \
		"/static/../src/main.c" "/static/app.js/" \
		"/../Makefile" "//etc/passwd" "/static/node_modules/uplot/package.json"; do
		$C --path-as-is -o body -w "%{http_code}\n" "$URL$p" >code &&
		test_grep "^404$" code &&
		! grep "root:" body || { echo "for $p"; exit 1; }
	done
'

test_expect_success 'only GET and HEAD; other methods get 405 with Allow' '
	for m in POST PUT DELETE PATCH OPTIONS TRACE PROPFIND FOO; do
		$C -X $m -D h -o /dev/null -w "%{http_code}\n" "$URL/api/runs" >code &&
		test_grep "^405$" code && test_grep -i "^allow: GET, HEAD" h || { echo "for $m"; exit 1; }
	done &&
	$C -I -o /dev/null -w "%{http_code}\n" "$URL/" >code && test_grep "^200$" code
'

test_expect_success 'a large POST body is refused without being read' '
	head -c 5000000 /dev/zero | tr "\0" a >big &&
	$C -X POST --data-binary @big -o /dev/null -w "%{http_code}\n" "$URL/api/runs" >code ;
	test_grep "^405$" code
'

test_expect_success 'huge headers and long URLs are refused; the server lives on' '
	hdr=$(head -c 100000 /dev/zero | tr "\0" x) &&
	$C -H "X-Big: $hdr" -o /dev/null -w "%{http_code}\n" "$URL/api/runs" >code ;
	code=$(cat code) &&
	case "$code" in 413|414|431|400|000) ;; *) echo "huge header: $code"; exit 1;; esac &&
	args=$(for i in $(seq 1 3000); do printf "a%d=1&" $i; done) &&
	$C -o /dev/null -w "%{http_code}\n" "$URL/api/runs?$args" >code ;
	code=$(cat code) &&
	case "$code" in 400|413|414|431|000) ;; *) echo "long url: $code"; exit 1;; esac &&
	$C -o /dev/null -w "%{http_code}\n" "$URL/api/summary" >code &&
	test_grep "^200$" code
'

test_expect_success 'bad parameters are 400 JSON, never a crash' '
	for q in "runs?from=%3Cscript%3E" "runs?limit=-1" "runs?limit=99999999999999999999" \
		"runs?state=x%27%20OR%201=1" "log?attempt=abc" "log" "sample?result=" \
		"quarantine?date=../../etc" "quarantine?date=2025-09-01/../../x" \
		"business?days=0" "events?limit=1e9"; do
		$C -o body -w "%{http_code} %{content_type}\n" "$URL/api/$q" >code &&
		test_grep "^400 application/json" code && test_grep "\"error\"" body || { echo "for $q"; exit 1; }
	done
'

test_expect_success 'runs API: grid, retries and the SLA miss' '
	$C "$URL/api/runs" >runs.json &&
	node -e "
		const r = JSON.parse(require(\"fs\").readFileSync(\"runs.json\"));
		const d3 = r.runs.find((x) => x.logical_date === \"2025-09-03\");
		const d2 = r.runs.find((x) => x.logical_date === \"2025-09-02\");
		if (r.runs.length !== 3 || !d3.sla_missed || d2.sla_missed) process.exit(1);
		if (d2.run_id !== 3 || d2.tasks.clean.n_attempts !== 2 || d2.tasks.clean.state !== \"success\") process.exit(2);
		if (r.tasks.join() !== \"generate,clean,models,publish\") process.exit(3);
	" &&
	: every attempt comes from /api/attempts, on demand &&
	$C "$URL/api/attempts?run=3&task=clean" >a.json &&
	node -e "
		const a = JSON.parse(require(\"fs\").readFileSync(\"a.json\")).attempts;
		if (a.length !== 2 || a[0].attempt !== 1 || a[1].state !== \"success\" || !a[1].has_log) process.exit(1);
		if (a.some((x) => x.task !== \"clean\")) process.exit(2);
	" &&
	$C -o /dev/null -w "%{http_code}\n" "$URL/api/attempts?run=x" >code && test_grep "^400$" code &&
	$C "$URL/api/runs?state=sla_missed" >f.json && test_grep "\"2025-09-03\"" f.json && ! grep "2025-09-01" f.json &&
	$C "$URL/api/runs?from=2025-09-02&to=2025-09-02" >f.json && test_grep "\"2025-09-02\"" f.json && ! grep "2025-09-03" f.json
'

test_expect_success 'logs are served as text, only from the logs directory' '
	$C -o log -w "%{http_code} %{content_type}\n" "$URL/api/log?attempt=9" >code &&
	test_grep "^200 text/plain" code && test_grep "retried" log &&
	$C -o log -w "%{http_code}\n" "$URL/api/log?attempt=15" >code &&
	test_grep "^404$" code && ! grep root: log &&
	$C -o log -w "%{http_code}\n" "$URL/api/log?attempt=4" >code &&
	test_grep "^404$" code
'

test_expect_success 'HTML in data values stays inside JSON strings' '
	$C -D h "$URL/api/sample?result=7" >s.json &&
	test_grep -i "^content-type: application/json" h &&
	node -e "
		const s = JSON.parse(require(\"fs\").readFileSync(\"s.json\"));
		if (s.sample[0].channel !== \"<img src=x onerror=alert(1)>\") process.exit(1);
	" &&
	$C "$URL/api/business" >b.json &&
	node -e "
		const b = JSON.parse(require(\"fs\").readFileSync(\"b.json\"));
		if (!b.sales.by_category.some((r) => r[1] === \"<script>alert(1)</script>\")) process.exit(1);
	"
'

test_expect_success 'quality, reconciliation, lake, lineage and business agree with the data' '
	$C "$URL/api/quality" >q.json && $C "$URL/api/reconciliation" >r.json &&
	$C "$URL/api/lake" >l.json && $C "$URL/api/lineage" >g.json && $C "$URL/api/business" >b.json &&
	node -e "
		const rd = (f) => JSON.parse(require(\"fs\").readFileSync(f));
		const q = rd(\"q.json\"), r = rd(\"r.json\"), l = rd(\"l.json\"), g = rd(\"g.json\"), b = rd(\"b.json\");
		const fail = (m) => { console.error(m); process.exit(1); };
		if (q.latest.fail !== 1 || q.latest.pass !== 2) fail(\"quality \" + JSON.stringify(q.latest));
		const bad = r.runs.filter((x) => x.holds === false).map((x) => x.ingest_date);
		if (bad.join() !== \"2025-09-03\") fail(\"recon \" + bad);
		if (l.partitions.length !== 4 || l.total_rows !== 2340) fail(\"lake \" + l.partitions.length + \" \" + l.total_rows);
		if (l.quarantine_by_reason[0].reason !== \"bad_amount\" || l.quarantine_by_reason[0].n !== 48) fail(\"quarantine\");
		const mart = g.nodes.find((n) => n.name === \"mart_sales_daily\");
		if (!mart || mart.row_count !== 6 || mart.upstream[0] !== \"model.p.fact_transactions\") fail(\"lineage node\");
		if (g.nodes.some((n) => n.kind === \"test\")) fail(\"tests are not nodes\");
		const silver = g.nodes.find((n) => n.id === \"lake.silver\");
		if (!silver.downstream.includes(\"source.p.silver.transactions\")) fail(\"silver edge\");
		const d3 = b.sales.daily_total.find((x) => x[0] === \"2025-09-03\");
		if (!d3 || d3[1] !== \"1098000.25\") fail(\"net sales \" + d3);
		if (b.rfm.segments[0][0] !== \"Champions\" || b.rfm.segments[0][1] !== \"2\") fail(\"rfm\");
		if (b.ltv.status !== \"ok\" || b.ltv.histogram.length !== 20) fail(\"ltv \" + JSON.stringify(b.ltv));
		const n = b.ltv.histogram.reduce((s, x) => s + Number(x[1]), 0);
		if (n !== 4) fail(\"ltv count \" + n);
		if (b.fraud.total !== 2 || b.fraud.rows[0][0] !== \"t9\") fail(\"fraud\");
	" &&
	txnflow -C p sql "SELECT sum(net_sales) FROM mart_sales_daily WHERE sales_date = DATE '\''2025-09-03'\''" >want &&
	test_grep "^1098000.25$" want
'

test_expect_success 'quarantine samples come from the quarantine directory' '
	mkdir -p p/data/quarantine/transactions/ingest_date=2025-09-01 &&
	printf "reason,file,line,raw\nbad_amount,part-0.csv,7,\"t1,c1,abc\"\nbad_timestamp,part-0.csv,9,\"<b>x</b>\"\n" \
		>p/data/quarantine/transactions/ingest_date=2025-09-01/rejects.csv &&
	ln -s /etc/passwd p/data/quarantine/transactions/ingest_date=2025-09-01/link.csv &&
	$C "$URL/api/quarantine?date=2025-09-01" >qs.json &&
	test_grep "bad_amount,part-0.csv,7" qs.json && ! grep "root:" qs.json &&
	$C "$URL/api/quarantine?date=2025-09-01&reason=bad_timestamp" >qs.json &&
	test_grep "<b>x</b>" qs.json && ! grep "bad_amount,part" qs.json
'

test_expect_success 'a broken metadata database gives an error, not a crash' '
	cp p/data/txnflow.db good.db &&
	rm -f p/data/txnflow.db-wal p/data/txnflow.db-shm &&
	head -c 8192 /dev/urandom >p/data/txnflow.db &&
	$C -o body -w "%{http_code}\n" "$URL/api/runs" >code &&
	test_grep "^503$" code && test_grep "metadata database unreadable" body &&
	$C -o /dev/null -w "%{http_code}\n" "$URL/runs" >code && test_grep "^200$" code &&
	rm p/data/txnflow.db &&
	$C "$URL/api/runs" >body && test_grep "\"metadata\":false" body &&
	cp good.db p/data/txnflow.db &&
	$C "$URL/api/runs" >body && test_grep "\"metadata\":true" body
'

test_expect_success 'the server never blocks writers (metadata and warehouse)' '
	sqlite3 p/data/txnflow.db "INSERT INTO runs(logical_date, state) VALUES (\"2025-09-04\", \"running\");" &&
	$C "$URL/api/runs" >body && test_grep "2025-09-04" body &&
	$C "$URL/api/business" >/dev/null &&
	txnflow -C p sql --write "INSERT INTO mart_sales_daily VALUES (DATE '\''2025-09-04'\'', '\''Travel'\'', '\''pos'\'', 5.00, 0.00, 5.00, 1)" &&
	$C "$URL/api/business" >b.json && test_grep "2025-09-04" b.json
'

# The Host header (issue 16): a page on another origin that rebinds its
# DNS name to 127.0.0.1 sends Host: its.name; only the names the server
# was started for are served.
test_expect_success 'only the configured host names are served (DNS rebinding)' '
	port=${URL##*:} &&
	for h in "127.0.0.1:$port" "localhost:$port" "LOCALHOST" "127.0.0.1" "[::1]:$port" "localhost."; do
		$C -H "Host: $h" -o /dev/null -w "%{http_code}\n" "$URL/api/summary" >code &&
		test_grep "^200$" code || { echo "for $h"; exit 1; }
	done &&
	for h in "attacker.example:$port" "attacker.example" "127.0.0.1.attacker.example:$port" \
		"localhost.attacker.example" "10.0.0.1:$port" "127.0.0.1:$port:1" "local host"; do
		for p in /api/quarantine /api/log /api/summary / /static/app.js; do
			$C -H "Host: $h" -o body -w "%{http_code}\n" "$URL$p" >code &&
			test_grep "^421$" code || { echo "for $h $p"; exit 1; }
		done
	done &&
	test_grep "host name" body &&
	$C -H "Host:" -o /dev/null -w "%{http_code}\n" "$URL/api/summary" >code &&
	test_grep "^4[0-9][0-9]$" code
'

# Slow or half-open clients (issue 16): 70 connections that never finish
# their headers must not make a normal request wait; they are closed after
# a short header timeout; over the per-address budget a client gets a clear
# 503, never a reset.
test_expect_success 'half-open connections do not starve a normal request' '
	half_open 70 "$URL" &&
	$C -o /dev/null -w "%{http_code} %{time_total}\n" "$URL/api/summary" >code &&
	read c t <code && test "$c" = 200 &&
	awk -v t="$t" "BEGIN { exit !(t < 2) }" &&
	timeout 20 cat <&$half_open_fd >/dev/null
'

test_expect_success 'over the per-address budget: a clear 503, not a reset' '
	half_open 300 "$URL" &&
	$C -D h -o body -w "%{http_code}\n" "$URL/api/summary" >code &&
	test_grep "^503$" code &&
	test_grep -i "^retry-after: " h &&
	test_grep "too many connections" body &&
	# the server drops them (header timeout) before the next test
	timeout 20 cat <&$half_open_fd >/dev/null
'

test_expect_success '200 parallel requests beside 50 slow clients are all answered' '
	half_open 50 "$URL" &&
	seq 200 | xargs -P 200 -I{} curl -s --max-time 60 -o /dev/null -w "%{http_code}\n" "$URL/api/summary" >codes &&
	test_line_count = 200 codes &&
	test "$(grep -c "^200$" codes)" = 200
'

test_expect_success 'serve stops cleanly on SIGTERM' '
	stop_server s
'

test_expect_success 'a remote address needs --allow-remote and a token' '
	test_expect_code 2 txnflow -C p serve --bind 0.0.0.0 --port 0 2>err &&
	test_grep "allow-remote" err &&
	test_expect_code 2 txnflow -C p serve --bind 0.0.0.0 --allow-remote --port 0 2>err &&
	test_grep "token" err &&
	test_expect_code 2 txnflow -C p serve --port 70000 2>err
'

test_expect_success 'with a token, requests without it get 401' '
	start_server t -C p serve --port 0 --token s3cret-token-0123456789 >turl &&
	T=$(cat turl) &&
	$C -o /dev/null -w "%{http_code}\n" "$T/api/runs" >code && test_grep "^401$" code &&
	$C -o /dev/null -w "%{http_code}\n" "$T/" >code && test_grep "^401$" code &&
	$C -H "Authorization: Bearer wrong-token-0123456789" -o /dev/null -w "%{http_code}\n" "$T/api/runs" >code &&
	test_grep "^401$" code &&
	$C -H "Authorization: Bearer s3cret-token-0123456789" -o /dev/null -w "%{http_code}\n" "$T/api/runs" >code &&
	test_grep "^200$" code &&
	$C -D h -o /dev/null -w "%{http_code}\n" "$T/?token=s3cret-token-0123456789" >code &&
	test_grep "^200$" code && test_grep -i "^set-cookie: txnflow_token=.*HttpOnly" h &&
	$C -b "txnflow_token=s3cret-token-0123456789" -o /dev/null -w "%{http_code}\n" "$T/api/runs" >code &&
	test_grep "^200$" code &&
	stop_server t
'

test_expect_success 'TXNFLOW_SERVE_TOKEN sets the token' '
	TXNFLOW_SERVE_TOKEN=env-token-0123456789abc start_server e -C p serve --port 0 >eurl &&
	E=$(cat eurl) &&
	$C -o /dev/null -w "%{http_code}\n" "$E/api/runs" >code && test_grep "^401$" code &&
	$C -H "Authorization: Bearer env-token-0123456789abc" -o /dev/null -w "%{http_code}\n" "$E/api/runs" >code &&
	test_grep "^200$" code &&
	stop_server e
'

test_expect_success 'remote mode serves the --host names, and says what is unsafe' '
	start_server r -C p serve --bind 0.0.0.0 --allow-remote --host dash.example,Dash2.example \
		--port 0 --token r3mote-token-0123456789 >rurl &&
	R=http://127.0.0.1:$(sed "s/.*://" rurl) &&
	A="Authorization: Bearer r3mote-token-0123456789" &&
	for h in "dash.example" "dash2.example:8080" "localhost" "192.0.2.7:9" "[2001:db8::1]"; do
		$C -H "$A" -H "Host: $h" -o /dev/null -w "%{http_code}\n" "$R/api/summary" >code &&
		test_grep "^200$" code || { echo "for $h"; exit 1; }
	done &&
	$C -H "$A" -H "Host: other.example" -o /dev/null -w "%{http_code}\n" "$R/api/summary" >code &&
	test_grep "^421$" code &&
	stop_server r &&
	test_grep "warning: --token .*ps" r.err &&
	test_grep "TXNFLOW_SERVE_TOKEN" r.err &&
	test_grep "warning: .*without TLS" r.err &&
	! grep "warning" e.err
'

test_expect_success 'a mistake in the charts stops serve with file, line and key' '
	txnflow init bad >/dev/null &&
	sed -i "s/^      kind: histogram /      kind: histgram /" bad/txnflow.yml &&
	test_expect_code 4 txnflow -C bad serve --port 0 >out 2>err &&
	test_grep "txnflow.yml:[0-9]*:13: key .dashboard.business\[2\].kind.: expected timeseries, segments, histogram or table, got .histgram." err &&
	! test -s out
'

test_expect_success 'without a warehouse, business says not built' '
	txnflow init empty >/dev/null &&
	start_server n -C empty serve --port 0 >nurl &&
	$C "$(cat nurl)/api/business" >b.json &&
	test_grep "\"status\":\"not_built\"" b.json &&
	$C "$(cat nurl)/api/lineage" >g.json && test_grep "\"manifest\":\"missing\"" g.json &&
	stop_server n
'

test_done
