#!/bin/bash
# models build --as-of (issue 21): the models rebuilt as of a past lake
# version, into a separate database, equal the marts that version's daily
# build produced, table for table and row for row; the project's
# warehouse, metadata and target/ are not touched.
. "$(dirname "$0")/../lib/test-lib.sh"
test_duckdb_heavy

DAYS="01 02 03 04"
# what the as-of builds must leave alone
project_sums() {
	(cd p && find data/txnflow.db data/warehouse.duckdb* target -type f |
		sort | xargs sha256sum)
}

test_expect_success 'four days, every fault on, each cleaned and built at its own time; the marts hashed per version' '
	txnflow init p >/dev/null &&
	one_duckdb_thread p &&
	txnflow -C p generate --date 2025-09-01 --days 4 --rows 600 --seed 11 \
		--late-rate 0.3 --version-rate 0.3 --dup-rate 0.1 --stale-rate 0.05 \
		--malformed-rate 0.02 >/dev/null &&
	for x in $DAYS; do
		TXNFLOW_NOW=2025-09-${x}T06:00:00+09:00 \
			txnflow -C p clean --date 2025-09-$x --json >clean$x.json &&
		txnflow -C p models build --vars "{run_date: \"2025-09-$x\"}" >build$x.out &&
		! grep -E "FAIL|ERROR" build$x.out &&
		warehouse_sums p/data/warehouse.duckdb >marts$x &&
		test $(wc -l <marts$x) -ge 18 || return 1
	done &&
	txnflow -C p lake log --json >log.json &&
	python3 -c "
import json; vs = [r[\"version\"] for r in json.load(open(\"log.json\"))]
assert vs == [1, 2, 3, 4], vs" &&
	! test_cmp marts01 marts02 && ! test_cmp marts02 marts03 &&
	project_sums >project_before
'

test_expect_success 'as of version 2 (a number): every mart equals day 2'"'"'s build' '
	txnflow -C p models build --as-of 2 --target-path ../asof2 \
		--vars "{run_date: \"2025-09-02\"}" >out &&
	test_grep "^as of lake version 2: .*/asof2/warehouse.duckdb" out &&
	! grep -E "FAIL|ERROR" out &&
	warehouse_sums asof2/warehouse.duckdb >got2 &&
	test_cmp marts02 got2 &&
	test_path_is_file asof2/run_results.json &&
	test_path_is_file asof2/manifest.json
'

test_expect_success 'as of the run that committed version 1, and of a time after version 3: their marts' '
	run1=$(python3 -c "import json; print(json.load(open(\"clean01.json\"))[\"run_id\"])") &&
	txnflow -C p models build --as-of "$run1" --target-path ../asof1 \
		--vars "{run_date: \"2025-09-01\"}" >out &&
	test_grep "^as of lake version 1:" out &&
	warehouse_sums asof1/warehouse.duckdb >got1 &&
	test_cmp marts01 got1 &&
	txnflow -C p models build --as-of 2025-09-03T12:00:00+09:00 \
		--target-path ../asof3 --vars "{run_date: \"2025-09-03\"}" >out &&
	test_grep "^as of lake version 3:" out &&
	warehouse_sums asof3/warehouse.duckdb >got3 &&
	test_cmp marts03 got3
'

test_expect_success 'a second build into the same directory, of another version, is that version'"'"'s' '
	txnflow -C p models build --as-of 1 --target-path ../asof2 -q \
		--vars "{run_date: \"2025-09-01\"}" >/dev/null &&
	warehouse_sums asof2/warehouse.duckdb >again1 &&
	test_cmp marts01 again1
'

test_expect_success 'the project'"'"'s warehouse, metadata and target/ are as they were' '
	project_sums >project_after &&
	test_cmp project_before project_after &&
	warehouse_sums p/data/warehouse.duckdb >marts_now &&
	test_cmp marts04 marts_now
'

test_expect_success 'usage: --as-of needs --target-path and build or run; an unknown version is named' '
	test_expect_code 2 txnflow -C p models build --as-of 2 2>err &&
	test_grep "with --target-path DIR" err &&
	test_expect_code 2 txnflow -C p models test --as-of 2 --target-path x 2>err &&
	test_grep "is for build and run" err &&
	test_expect_code 4 txnflow -C p models build --as-of 9 --target-path ../x 2>err &&
	test_grep "no lake version 9 (the lake has versions 1 to 4" err &&
	mkdir -p mine/lake && echo keep >mine/lake/f &&
	test_expect_code 4 txnflow -C p models build --as-of 2 --target-path ../mine 2>err &&
	test_grep "mine/lake exists and is not a lake a build as of a version made" err &&
	test_path_is_file mine/lake/f &&
	txnflow models --help >help &&
	test_grep "^      --as-of V " help &&
	test_grep "^      --target-path DIR" help
'

test_done
