#!/bin/bash
# txnflow lineage: OpenLineage run events for task attempts, recorded in the
# metadata database, exported as NDJSON (validated against the vendored
# OpenLineage JSON schema) or POSTed to a collector.
. "$(dirname "$0")/../lib/test-lib.sh"
trap '[ -f "$TRASH/recv.pid" ] && kill $(cat "$TRASH/recv.pid") 2>/dev/null' EXIT

test_expect_success 'a project with clean, models and test results' '
	txnflow init p >/dev/null &&
	sqlite3 p/data/txnflow.db <"$TEST_DATA/serve/metadata.sql" &&
	mkdir -p p/target && cp "$TEST_DATA/serve/manifest.json" p/target/ &&
	mkdir -p p/data/bronze/transactions/ingest_date=2025-09-03 &&
	echo "{\"format\": \"txnflow-bronze-manifest/1\", \"ingest_date\": \"2025-09-03\", \"files\": [{\"name\": \"part-00000.csv\", \"rows\": 1020, \"size_bytes\": 99000, \"sha256\": \"00\"}]}" \
		>p/data/bronze/transactions/ingest_date=2025-09-03/_manifest.json
'

test_expect_success 'record START and COMPLETE/FAIL for each task attempt' '
	for t in generate clean models publish; do
		run=$(TXNFLOW_NOW=2025-09-03T06:00:00+09:00 txnflow -C p lineage record --date 2025-09-03 --task $t --event START --attempt 1) &&
		TXNFLOW_NOW=2025-09-03T06:05:00+09:00 txnflow -C p lineage record --date 2025-09-03 --task $t --event COMPLETE --run $run >/dev/null || exit 1
	done &&
	run=$(TXNFLOW_NOW=2025-09-02T06:00:00+09:00 txnflow -C p lineage record --date 2025-09-02 --task clean --event START) &&
	TXNFLOW_NOW=2025-09-02T06:01:00+09:00 txnflow -C p lineage record --date 2025-09-02 --task clean --event FAIL --run $run \
		--error "bad <b>manifest</b> \"quoted\"" >/dev/null &&
	sqlite3 p/data/txnflow.db "SELECT count(*) FROM lineage_events" >n && test_grep "^10$" n
'

test_expect_success 'export writes NDJSON that validates against the OpenLineage schema' '
	txnflow -C p lineage export >events.ndjson &&
	test_line_count = 10 events.ndjson &&
	node "$TEST_DATA/openlineage/validate.js" events.ndjson >v.out &&
	test_grep "^ok 10 events$" v.out &&
	# the validator is not a rubber stamp
	head -1 events.ndjson | sed "s/\"eventType\":\"START\"/\"eventType\":\"BEGUN\"/" >bad.ndjson &&
	grep -m1 rowCount events.ndjson | sed "s/\"rowCount\":/\"rowCount\":\"x\",\"y\":/" >>bad.ndjson &&
	head -2 events.ndjson | tail -1 | sed "s/\"_producer\":/\"_nope\":/" >>bad.ndjson &&
	test_must_fail node "$TEST_DATA/openlineage/validate.js" bad.ndjson >v.out &&
	test_grep "3 of 3 events invalid" v.out
'

test_expect_success 'events carry datasets, row counts and data-quality facets' '
	node -e "
		const ev = require(\"fs\").readFileSync(\"events.ndjson\", \"utf8\").trim().split(\"\n\").map(JSON.parse);
		const fail = (m) => { console.error(m); process.exit(1); };
		const done = ev.filter((e) => e.eventType === \"COMPLETE\");
		const clean = done.find((e) => e.job.name === \"txnflow.clean\");
		if (clean.job.namespace !== \"p\") fail(\"namespace\");
		const bronze = clean.inputs[0];
		if (bronze.name !== \"bronze/transactions/ingest_date=2025-09-03\") fail(\"bronze name\");
		if (bronze.inputFacets.dataQualityMetrics.rowCount !== 1020) fail(\"lines read\");
		if (bronze.inputFacets.dataQualityMetrics.bytes !== 99000) fail(\"bytes\");
		const silver = clean.outputs.find((d) => d.name === \"silver/transactions\");
		if (silver.outputFacets.outputStatistics.rowCount !== 980) fail(\"silver rows \" + silver.outputFacets.outputStatistics.rowCount);
		if (silver.facets.schema.fields.length !== 15 || silver.facets.schema.fields[5].type !== \"DECIMAL(18,2)\") fail(\"schema\");
		const models = done.find((e) => e.job.name === \"txnflow.models\");
		const mart = models.outputs.find((d) => d.name === \"main.mart_sales_daily\");
		if (!mart || mart.outputFacets.outputStatistics.rowCount !== 6) fail(\"mart rows\");
		const asserts = mart.facets.dataQualityAssertions.assertions;
		if (!asserts.some((a) => a.success === false && a.assertion === \"accepted_values_mart_sales_daily_channel\")) fail(\"failed assertion\");
		if (!mart.facets.schema.fields.some((f) => f.name === \"net_sales\" && f.description === \"gross - refunds\")) fail(\"manifest schema\");
		const gen = done.find((e) => e.job.name === \"txnflow.generate\");
		if (gen.outputs[0].outputFacets.outputStatistics.rowCount !== 1020) fail(\"generate rows\");
		const f = ev.find((e) => e.eventType === \"FAIL\");
		if (f.run.facets.errorMessage.message !== \"bad <b>manifest</b> \\\"quoted\\\"\") fail(\"error message\");
		const start = ev.find((e) => e.eventType === \"START\" && e.run.runId === f.run.runId);
		if (!start) fail(\"START and FAIL share the run id\");
		if (start.eventTime !== \"2025-09-01T21:00:00Z\") fail(\"event time \" + start.eventTime);
	"
'

test_expect_success 'export --since keeps later events only' '
	txnflow -C p lineage export --since 2025-09-03 >since.ndjson &&
	test_line_count = 8 since.ndjson &&
	! grep "2025-09-01T2" since.ndjson
'

test_expect_success 'export --url POSTs each event to a collector' '
	node "$TEST_DATA/openlineage/receiver.js" got.ndjson >recv.url &
	echo $! >"$TRASH/recv.pid" &&
	for i in $(seq 1 100); do test -s recv.url && break; sleep 0.05; done &&
	txnflow -C p lineage export --url "$(cat recv.url)" 2>err &&
	test_grep "posted 10 events" err &&
	test_line_count = 10 got.ndjson &&
	node "$TEST_DATA/openlineage/validate.js" got.ndjson &&
	kill $(cat "$TRASH/recv.pid") && rm "$TRASH/recv.pid"
'

test_expect_success 'a collector that refuses is an error (exit 1)' '
	: a fresh file: the shell truncates recv.url only when the background job starts &&
	rm -f recv.url
	node "$TEST_DATA/openlineage/receiver.js" refused.ndjson 500 >recv.url &
	echo $! >"$TRASH/recv.pid" &&
	for i in $(seq 1 100); do test -s recv.url && break; sleep 0.05; done &&
	test_expect_code 1 txnflow -C p lineage export --url "$(cat recv.url)" 2>err &&
	test_grep "HTTP status 500" err &&
	kill $(cat "$TRASH/recv.pid") && rm "$TRASH/recv.pid" &&
	test_expect_code 1 txnflow -C p lineage export --url http://127.0.0.1:1/x 2>err &&
	test_grep "error: .*POST" err
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 txnflow -C p lineage record --date 2025-09-03 --task clean --event COMPLETE &&
	test_expect_code 2 txnflow -C p lineage record --date 2025-09-03 --task clean --event DONE &&
	test_expect_code 2 txnflow -C p lineage record --date 2025-02-30 --task clean --event START &&
	test_expect_code 2 txnflow -C p lineage export --since nope &&
	test_expect_code 2 txnflow -C p lineage export --url ftp://x &&
	test_expect_code 2 txnflow -C p lineage frob &&
	test_expect_code 2 txnflow -C p lineage
'

test_expect_success 'export with no database prints nothing' '
	txnflow lineage export --data nodata >out && test_line_count = 0 out
'

test_done
