#!/bin/bash
# txnflow status --reconcile: each ingestion day's equation from its latest
# successful clean (lines read = inserted + updated + duplicates + stale +
# quarantined), checked, with the total; --from/--to; --json; a day that
# does not hold is MISMATCH and exit 1.
. "$(dirname "$0")/../lib/test-lib.sh"

test_expect_success 'three days generated and cleaned' '
	txnflow init p >/dev/null &&
	txnflow -C p generate --date 2025-09-01 --days 3 --rows 300 >/dev/null &&
	for d in 01 02 03; do txnflow -C p clean --date 2025-09-$d >/dev/null || return 1; done
'

test_expect_success 'the table: one row per day, the total, every check ok' '
	txnflow -C p status --reconcile >out &&
	test_line_count = 5 out &&
	test_grep "^INGEST_DATE   LINES = INSERTED + UPDATED + DUPLICATES + STALE + QUARANTINED  CHECK$" out &&
	db "SELECT ingest_date, lines_read, inserted, updated, duplicates, stale, quarantined FROM clean_runs WHERE state = '"'"'success'"'"' ORDER BY ingest_date" |
		awk -F"|" "{ printf \"%-11s %7d = %8d + %7d + %10d + %5d + %11d  ok\\n\", \$1, \$2, \$3, \$4, \$5, \$6, \$7 }" >expect &&
	sed -n "2,4p" out >days &&
	test_cmp expect days &&
	test_grep "^total .*  ok$" out
'

test_expect_success '--from/--to and --json' '
	txnflow -C p status --reconcile --from 2025-09-02 --to 2025-09-02 --json >r.json &&
	lines=$(db "SELECT lines_read FROM clean_runs WHERE ingest_date = '"'"'2025-09-02'"'"'") &&
	node -e "
		const j = JSON.parse(require(\"fs\").readFileSync(\"r.json\", \"utf8\"));
		const d = j.days;
		if (d.length !== 1 || d[0].ingest_date !== \"2025-09-02\" || d[0].lines_read !== $lines ||
		    !d[0].holds || !j.holds || j.total.lines_read !== $lines ||
		    d[0].lines_read !== d[0].inserted + d[0].updated + d[0].duplicates + d[0].stale + d[0].quarantined)
			process.exit(1);
	"
'

test_expect_success 'a day that does not reconcile: MISMATCH, exit 1' '
	cp p/data/txnflow.db good.db &&
	db "UPDATE clean_runs SET inserted = inserted + 1 WHERE ingest_date = '"'"'2025-09-03'"'"'" &&
	test_expect_code 1 txnflow -C p status --reconcile >out &&
	test_grep "^2025-09-03 .*  MISMATCH$" out &&
	test_grep "^total .*  MISMATCH$" out &&
	test_grep "^2025-09-01 .*  ok$" out &&
	cp good.db p/data/txnflow.db
'

test_expect_success 'usage: --from without --reconcile, --to before --from' '
	test_expect_code 2 txnflow -C p status --from 2025-09-01 2>err &&
	test_grep "go with --reconcile" err &&
	test_expect_code 2 txnflow -C p status --reconcile --from 2025-09-03 --to 2025-09-01 2>err
'

test_done
