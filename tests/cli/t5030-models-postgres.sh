#!/bin/bash
# The default project's models on PostgreSQL (a throwaway cluster on
# loopback) and on DuckDB, from the same cleaned days: every mart gives the
# same rows (sorted; numbers to the cent), the data tests pass on both, and
# an incremental run (delete+insert and merge, one transaction each) keeps
# them equal.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$ROOT/tests/lib/pg.sh"
pg_start

MARTS="mart_sales_daily mart_rfm_customer mart_customer_ltv mart_fraud_signals mart_reconciliation fact_merge dim_customer int_customer_totals"

# The canonical text of every row of the marts: "mart|col|col|...", one line
# per row, numbers as DECIMAL(38,2), booleans as true/false, NULL as '~'.
# The select lists come from the DuckDB relations' columns; the same SQL
# runs on both targets (one query each).
canon_sql() {
	txnflow sql --db p/data/warehouse.duckdb --format csv "
		SELECT string_agg('SELECT ''' || table_name || '|'' || ' || cols
		                  || ' AS r FROM ' || table_name, ' UNION ALL ' ORDER BY table_name)
		FROM (SELECT table_name, string_agg('COALESCE(' || CASE
			WHEN data_type IN ('BIGINT', 'INTEGER', 'SMALLINT', 'HUGEINT', 'DOUBLE', 'FLOAT')
			     OR data_type LIKE 'DECIMAL%'
				THEN 'CAST(CAST(' || q || ' AS DECIMAL(38,2)) AS VARCHAR)'
			WHEN data_type = 'BOOLEAN'
				THEN 'CASE WHEN ' || q || ' THEN ''true'' WHEN NOT ' || q || ' THEN ''false'' END'
			ELSE 'CAST(' || q || ' AS VARCHAR)' END || ', ''~'')', ' || ''|'' || '
			ORDER BY ordinal_position) AS cols
		      FROM (SELECT table_name, ordinal_position, data_type, '\"' || column_name || '\"' AS q
		            FROM information_schema.columns
		            WHERE table_schema = 'main' AND table_name IN ($(echo "'$MARTS'" | sed "s/ /', '/g")))
		      GROUP BY table_name) t" |
		tail -n +2 | sed 's/^"//; s/"$//; s/""/"/g'
}
compare_marts() {
	canon_sql >canon.sql &&
	txnflow sql --db p/data/warehouse.duckdb --format csv "$(cat canon.sql)" |
		tail -n +2 | sed 's/^"//; s/"$//; s/""/"/g' | sort >duck.rows &&
	psql -X -A -t -q -c "$(cat canon.sql)" | sort >pg.rows &&
	for m in $MARTS; do grep -q "^$m|" duck.rows || return 1; done &&
	test_cmp duck.rows pg.rows
}

# the event dates a clean --json rewrote, as a YAML list
rewritten() {
	tr -d ' \n' <"$1" | sed -n 's/.*"partitions_rewritten":\[\([^]]*\)\].*/[\1]/p'
}

test_expect_success 'setup: two cleaned days, a postgres target, a merge model' '
	txnflow init p >/dev/null &&
	pg_target p &&
	mkdir -p p/models/extra &&
	cat >p/models/extra/fact_merge.sql <<-\EOM &&
	{{ config(materialized="incremental", unique_key="transaction_id",
	          incremental_strategy="merge") }}
	SELECT transaction_id, event_date, amount_krw, channel
	FROM {{ ref("fact_transactions") }}
	WHERE 1 = 1 {{ incremental_date_filter("event_date") }}
	EOM
	txnflow -C p generate --date 2025-09-01 --days 3 --rows 1200 --customers 400 --merchants 100 >/dev/null &&
	txnflow -C p clean --date 2025-09-01 >/dev/null &&
	txnflow -C p clean --date 2025-09-02 >/dev/null &&
	txnflow -C p load --date 2025-09-02 >/dev/null &&
	test "$(psql_q "SELECT count(*) FROM silver_transactions")" = \
	     "$(txnflow sql "SELECT count(*) FROM read_parquet('"'"'p/data/silver/transactions/**/*.parquet'"'"')" | tail -1)"
'

test_expect_success 'models build on DuckDB and on PostgreSQL: all tests pass' '
	txnflow -C p models build --vars "{run_date: 2025-09-02}" >duck.out &&
	txnflow -C p models build --target pg --vars "{run_date: 2025-09-02}" >pg.out &&
	! grep -E "FAIL|ERROR|WARN" duck.out &&
	test_grep "OK .*seed .*fx_rates" pg.out &&
	test_grep "OK .*incremental .*fact_transactions" pg.out &&
	! grep -E "FAIL|ERROR|WARN" pg.out &&
	test "$(psql_q "SELECT count(*) FROM mart_reconciliation WHERE status = '"'"'ok'"'"'")" = 11
'

test_expect_success 'every mart gives the same numbers on both targets' '
	compare_marts &&
	test "$(grep -c ^mart_rfm_customer pg.rows)" -gt 100 &&
	test "$(grep -c ^mart_sales_daily pg.rows)" -gt 50
'

test_expect_success 'incremental day 3 (late data rebuilds earlier dates) stays equal' '
	txnflow -C p clean --date 2025-09-03 --json >clean3 &&
	dates=$(rewritten clean3) &&
	case "$dates" in *2025-09-02*) ;; *) false ;; esac &&
	txnflow -C p load --date 2025-09-03 >/dev/null &&
	txnflow -C p models build --vars "{run_date: 2025-09-03, dates: $dates}" >duck.out &&
	TXNFLOW_LOG_LEVEL=debug txnflow -C p models build --target pg \
		--vars "{run_date: 2025-09-03, dates: $dates}" >pg.out 2>pg.debug &&
	test_grep "OK .*incremental .*fact_merge" pg.out &&
	test_grep "CREATE TABLE \"_txnflow\".\"ksets__public__stg_transactions\" AS" pg.debug &&
	test_grep "keys__public__int_customer_cards\" AS SELECT \"" pg.debug &&
	test_grep "OK .*view .*stg_transactions (.*by change" pg.out &&
	test_grep "OK .*incremental .*int_customer_totals (.*by change" pg.out &&
	! grep -E "FAIL|ERROR|WARN" duck.out pg.out &&
	compare_marts
'

# (fact_merge aside: a merge keeps a row its new rows no longer have, so
# incrementally it is not a full build, on any warehouse — dbt's merge)
test_expect_success 'on PostgreSQL the build by change equals a --full-refresh' '
	grep -v "^fact_merge|" pg.rows >pg.incr &&
	txnflow -C p models build --target pg --full-refresh --vars "{run_date: 2025-09-03}" >pg.full &&
	! grep -E "FAIL|ERROR|WARN|by change" pg.full &&
	psql -X -A -t -q -c "$(cat canon.sql)" | sort | grep -v "^fact_merge|" >pg.rows &&
	test $(wc -l <pg.rows) -gt 1000 &&
	test_cmp pg.incr pg.rows
'

# PostgreSQL binds a view to the tables it reads and refuses to drop them:
# a table the build replaces (a table model, a full refresh) takes the
# views that read it along and creates them again over the new one, in the
# same transaction, also those the build does not select and those made
# outside txnflow (a BI tool's)
test_expect_success 'on PostgreSQL the views over a table the build replaces stay' '
	cat >p/models/extra/t_small.sql <<-\EOM &&
	{{ config(materialized="table") }}
	SELECT 1 AS a, 2 AS b
	EOM
	txnflow -C p models build --target pg --select t_small >out &&
	psql_q "CREATE VIEW ext_b AS SELECT b FROM t_small" &&
	psql_q "CREATE VIEW ext_b2 AS SELECT b + 1 AS c FROM ext_b" &&
	psql_q "CREATE VIEW ext_flags AS SELECT count(*) AS n FROM dim_customer" &&
	n0=$(psql_q "SELECT n FROM ext_flags") &&
	test "$n0" -gt 0 &&
	cat >p/models/extra/t_small.sql <<-\EOM &&
	{{ config(materialized="table") }}
	SELECT 1 AS a, 5 AS b
	EOM
	txnflow -C p models build --target pg --select "t_small dim_customer int_fraud_card_day" \
		--full-refresh --vars "{run_date: 2025-09-03}" >out &&
	! grep -E "FAIL|ERROR|WARN" out &&
	test "$(psql_q "SELECT c FROM ext_b2")" = 6 &&
	test "$(psql_q "SELECT n FROM ext_flags")" = "$n0" &&
	test "$(psql_q "SELECT count(*) FROM mart_fraud_signals")" -gt 0
'

test_expect_success 'a view that cannot read the new table fails the build; the old one stays' '
	cat >p/models/extra/t_small.sql <<-\EOM &&
	{{ config(materialized="table") }}
	SELECT 1 AS a
	EOM
	test_expect_code 4 txnflow -C p models build --target pg --select t_small >out &&
	test_grep "ERROR .*t_small.*replacing t_small and creating again the views that read it" out &&
	test_grep "column .*b.* does not exist" out &&
	test "$(psql_q "SELECT c FROM ext_b2")" = 6 &&
	test "$(psql_q "SELECT b FROM t_small")" = 5
'

test_expect_success 'models test on PostgreSQL: every test the build ran passes' '
	txnflow -C p models test --target pg --vars "{run_date: 2025-09-03}" >pg.test &&
	n=$(grep -c PASS duck.out) && test "$n" -gt 50 &&
	full=$(grep -c "SKIP .*audit=.full." duck.out) && test "$full" -ge 2 &&
	test "$(grep -c PASS pg.test)" = "$((n + full))"
'

test_expect_success 'a failing audit on PostgreSQL leaves the fact as it was' '
	q="SELECT count(*) || '"'"':'"'"' || sum(amount_krw) || '"'"':'"'"' || count(fx_krw_per_unit) FROM fact_transactions" &&
	before=$(psql_q "$q") &&
	psql_q "UPDATE fx_rates SET currency = '"'"'XXX'"'"' WHERE currency = '"'"'KRW'"'"'" &&
	test_expect_code 4 txnflow -C p models build --target pg --select fact_transactions \
		--vars "{run_date: 2025-09-03, dates: [2025-09-03]}" >bad.out &&
	psql_q "UPDATE fx_rates SET currency = '"'"'KRW'"'"' WHERE currency = '"'"'XXX'"'"'" &&
	test_grep "ERROR .*fact_transactions: audit failed: test .* the previous version stays published" bad.out &&
	test "$(psql_q "$q")" = "$before"
'

test_expect_success 'the profile: a password in the file is refused, a bad one is reported' '
	sed "s/password: .*/password: hunter2/" p/profiles.yml >p/profiles.bad &&
	mkdir bad && cp p/profiles.bad bad/profiles.yml &&
	test_expect_code 4 txnflow -C p models run --target pg --profiles-dir "$PWD/bad" 2>err &&
	test_grep "env_var" err && ! grep hunter2 err &&
	sed "s/sslmode: disable/sslmod: disable/" p/profiles.yml >bad/profiles.yml &&
	test_expect_code 4 txnflow -C p models run --target pg --profiles-dir "$PWD/bad" 2>err &&
	test_grep "profiles.yml:[0-9]*:[0-9]*: unknown key .sslmod. in p.outputs.pg (did you mean .sslmode.?)" err &&
	TXNFLOW_PG_PASSWORD=wrong test_expect_code 1 txnflow -C p models run --target pg 2>err &&
	test_grep "password authentication failed" err && ! grep wrong err
'

test_expect_success 'before any warehouse load the silver source is named, with the fix' '
	txnflow init q >/dev/null &&
	sed -n "/^    pg:/,\$p" p/profiles.yml | sed "s/schema: public/schema: fresh/" >>q/profiles.yml &&
	test_expect_code 4 txnflow -C q models run --target pg --select stg_transactions >out &&
	test_grep "\"fresh\".\"silver_transactions\" does not exist on target .pg.; load it with .txnflow publish" out
'

test_done
