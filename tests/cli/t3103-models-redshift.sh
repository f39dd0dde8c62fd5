#!/bin/bash
# The default project on Redshift, without a Redshift: every model compiles
# for a redshift output (no server is asked: its host does not resolve), as
# a full build and as a build by change, and none of the SQL holds a
# construct Redshift documents as unsupported (the list, with the pages it
# comes from, is t3103-models-redshift.pl; the same check finds the
# constructs in the PostgreSQL forms, so it can fail). Then the Redshift
# forms of the dispatch macros give the same marts as the default forms:
# a project whose duckdb__ macros call the redshift__ ones builds, by
# change too, tables equal to the default project's. Those builds are
# txnflow_ref's (the release build): what they prove is what the Redshift
# forms' SQL computes (DuckDB's answer); the template engine that renders
# them runs under ASan in this script's compiles, builds by change in
# t3102, t3104, t3110 and t3111 (decision 0001).
. "$(dirname "$0")/../lib/test-lib.sh"
test_duckdb_heavy

CHECK=$ROOT/tests/cli/t3103-models-redshift.pl
export TXNFLOW_PG_PASSWORD=not-used

test_expect_success 'a project with a redshift and a postgres output' '
	txnflow init p >/dev/null &&
	one_duckdb_thread p &&
	cat >>p/profiles.yml <<-\EOF
	    rs:
	      type: redshift
	      host: redshift.example.invalid
	      port: 5439
	      connect_timeout: 5
	      user: txnflow
	      password: "{{ env_var('"'"'TXNFLOW_PG_PASSWORD'"'"') }}"
	      dbname: dev
	      schema: analytics
	    pg:
	      type: postgres
	      host: postgres.example.invalid
	      user: txnflow
	      password: "{{ env_var('"'"'TXNFLOW_PG_PASSWORD'"'"') }}"
	      dbname: txnflow
	      schema: analytics
	EOF
'

# compiled DIR: the model files compile wrote
compiled() { find "$1/target/compiled/models" -name "*.sql" | sort; }

test_expect_success 'every model compiles for Redshift without a server' '
	txnflow -C p models compile --target rs >out &&
	n_models=$(find p/models -name "*.sql" | wc -l) &&
	test $n_models -ge 15 &&
	test $(compiled p | wc -l) = $n_models &&
	test_grep "CONVERT_TIMEZONE(.Asia/Seoul., txn_ts)" p/target/compiled/models/staging/stg_transactions.sql &&
	test_grep "FROM \"analytics\".\"silver_transactions\"" p/target/compiled/models/staging/stg_transactions.sql
'

test_expect_success 'no construct Redshift documents as unsupported, in a full build' '
	perl "$CHECK" $(compiled p) >found &&
	test_line_count = 0 found
'

test_expect_success 'nor in a build by change (--incremental)' '
	rm -rf p/target &&
	txnflow -C p models compile --target rs --incremental >out &&
	test_grep "\"_txnflow\".\"delta__analytics__int_customer_sales_daily\"" \
		p/target/compiled/models/intermediate/int_customer_totals.sql &&
	test $(compiled p | wc -l) = $(find p/models -name "*.sql" | wc -l) &&
	perl "$CHECK" $(compiled p) >found &&
	test_line_count = 0 found
'

test_expect_success 'the check finds what PostgreSQL and DuckDB accept and Redshift does not' '
	rm -rf p/target &&
	txnflow -C p models compile --target pg >out &&
	test_expect_code 1 perl "$CHECK" $(compiled p) >found &&
	test_grep "mart_sales_daily.sql: aggregate FILTER (WHERE" found &&
	test_grep "int_fraud_card_day.sql: a RANGE/GROUPS window frame" found &&
	test_grep "int_fraud_card_day.sql: an aggregate window function with ORDER BY and no ROWS frame" found &&
	test_grep "r_Window_function_synopsis.html" found &&
	rm -rf p/target &&
	txnflow -C p models compile >out &&
	test_expect_code 1 perl "$CHECK" $(compiled p) >found &&
	test_grep "stg_transactions.sql: a DuckDB function .*MAKE_DATE(" found
'

test_expect_success 'compile asks the warehouse only for what it must' '
	: an incremental model outside the changes strategy asks whether its table is there &&
	mkdir -p p/models/extra &&
	printf "{{ config(materialized=\"incremental\", unique_key=\"k\") }}\nselect 1 as k\n" \
		>p/models/extra/plain_incremental.sql &&
	test_expect_code 1 txnflow -C p models compile --target rs 2>err &&
	test_grep "target .rs." err &&
	txnflow -C p models compile --target rs --full-refresh >out &&
	txnflow -C p models compile --target rs --incremental >out &&
	rm -r p/models/extra &&
	test_expect_code 2 txnflow -C p models build --incremental 2>err &&
	test_grep "incremental is for compile" err
'

# The dispatch macros Redshift gets, on DuckDB: duckdb__X calls redshift__X.
force_redshift_forms() {
	cat >"$1/macros/redshift_forms.sql" <<-\EOF
	{% macro duckdb__sum_where(expr, cond) %}{{ redshift__sum_where(expr, cond) }}{% endmacro %}
	{% macro duckdb__count_where(cond) %}{{ redshift__count_where(cond) }}{% endmacro %}
	{% macro duckdb__time_window_counts(relation, partition_by, order_by, windows, columns, join) -%}
	{{ redshift__time_window_counts(relation, partition_by, order_by, windows, columns, join) }}
	{%- endmacro %}
	EOF
}

test_expect_success 'a feed of five days, in two copies of the project' '
	txnflow -C p generate --date 2025-09-01 --days 5 --rows 3000 --customers 500 \
		--late-rate 0.2 --version-rate 0.2 >/dev/null &&
	cp -r p r &&
	force_redshift_forms r &&
	txnflow -C r models compile >out &&
	test_grep "JOIN attempts a" r/target/compiled/models/intermediate/int_fraud_card_day.sql &&
	test_grep "COUNT(CASE WHEN NOT is_refund THEN 1 END)" r/target/compiled/models/marts/mart_sales_daily.sql &&
	! grep "FILTER" r/target/compiled/models/marts/mart_sales_daily.sql
'

test_expect_success 'the Redshift forms build the same tables, in full and by change' '
	for d in 01 02 03 04 05; do
		for proj in p r; do
			txnflow_ref -C $proj clean --date 2025-09-$d >/dev/null &&
			txnflow_ref -C $proj models build --vars "{run_date: \"2025-09-$d\"}" >$proj.build$d.out &&
			! grep -E "FAIL|ERROR|WARN" $proj.build$d.out || return 1
		done
		warehouse_sums p/data/warehouse.duckdb >p.sums$d &&
		warehouse_sums r/data/warehouse.duckdb >r.sums$d &&
		test_cmp p.sums$d r.sums$d || return 1
	done &&
	test_grep "int_fraud_card_day (.*by change" r.build05.out &&
	test_grep "mart_sales_daily (.*by change" r.build05.out
'

# Attempts at the edges of the card rules' windows, for ingestion day
# 2025-09-06 (02:00-04:00 UTC is that day in Seoul too): six at one
# instant (RANGE counts a row's peers), one exactly 10 minutes later (the
# window includes its start), one a second after that; declines 10 minutes
# apart, the fourth exactly 30 minutes after the first, and an approved
# attempt at that instant too (its peer: a decline burst flags only the
# declined attempts of the instant, a flag names the instant).
plant_edges() {
	txnflow sql --write --memory "
	SET TimeZone = 'UTC';
	COPY (SELECT id AS transaction_id, cust AS customer_id, card AS card_id,
	  'ME0000001' AS merchant_id,
	  strftime(CAST(ts AS TIMESTAMPTZ), '%Y-%m-%dT%H:%M:%S+00:00') AS txn_ts,
	  '5000.00' AS amount, 'KRW' AS currency, '5999' AS mcc, st AS status,
	  'false' AS is_refund, 'pos' AS channel,
	  strftime(CAST(ts AS TIMESTAMPTZ) + INTERVAL 5 SECOND, '%Y-%m-%dT%H:%M:%S+00:00') AS ingested_at,
	  '' AS original_transaction_id
	FROM (SELECT 'EV' || i, 'CE0000001', 'KE0000001', '2025-09-06 02:00:00+00', 'approved'
	      FROM range(1, 7) r(i)
	      UNION ALL VALUES
	      ('EV7', 'CE0000001', 'KE0000001', '2025-09-06 02:10:00+00', 'approved'),
	      ('EV8', 'CE0000001', 'KE0000001', '2025-09-06 02:10:01+00', 'approved'),
	      ('ED1', 'CE0000002', 'KE0000002', '2025-09-06 03:00:00+00', 'declined'),
	      ('ED2', 'CE0000002', 'KE0000002', '2025-09-06 03:10:00+00', 'declined'),
	      ('EA1', 'CE0000002', 'KE0000002', '2025-09-06 03:15:00+00', 'approved'),
	      ('ED3', 'CE0000002', 'KE0000002', '2025-09-06 03:20:00+00', 'declined'),
	      ('ED4', 'CE0000002', 'KE0000002', '2025-09-06 03:30:00+00', 'declined'),
	      ('EA2', 'CE0000002', 'KE0000002', '2025-09-06 03:30:00+00', 'approved'))
	  AS v(id, cust, card, ts, st)
	ORDER BY txn_ts, transaction_id) TO 'edges.csv' (HEADER, QUOTE '');"
}

test_expect_success 'and the same flags at the edges of the windows' '
	plant_edges &&
	for proj in p r; do
		txnflow_ref -C $proj clean --date 2025-09-06 --input "$PWD/edges.csv" >/dev/null &&
		txnflow_ref -C $proj models build --vars "{run_date: \"2025-09-06\"}" >$proj.build06.out &&
		! grep -E "FAIL|ERROR|WARN" $proj.build06.out || return 1
	done &&
	warehouse_sums p/data/warehouse.duckdb >p.sums06 &&
	warehouse_sums r/data/warehouse.duckdb >r.sums06 &&
	test_cmp p.sums06 r.sums06 &&
	txnflow -C r sql --format csv "SELECT transaction_id, rule, observed FROM int_fraud_card_day
		WHERE card_id LIKE '"'"'KE%'"'"' ORDER BY 1, 2" >flags &&
	cat >expect <<-\EOF &&
	transaction_id,rule,observed
	ED3,decline_burst,3.0
	ED4,decline_burst,4.0
	EV1,card_velocity,6.0
	EV2,card_velocity,6.0
	EV3,card_velocity,6.0
	EV4,card_velocity,6.0
	EV5,card_velocity,6.0
	EV6,card_velocity,6.0
	EV7,card_velocity,7.0
	EOF
	test_cmp expect flags
'

test_done
