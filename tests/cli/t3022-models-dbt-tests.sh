#!/bin/bash
# Custom generic tests and dbt's test configs, in a project written the way
# dbt users write them: {% test %} blocks in tests/generic/ and in macros/,
# called from schema.yml with arguments (old style and dbt 1.10's
# `arguments:`), and the configs where, severity, warn_if / error_if,
# limit, fail_calc, store_failures. Expected verdicts are computed by hand
# from the seed below with dbt's rules (docs: "Data test configurations",
# "severity, error_if, warn_if": with severity error, error_if decides a
# failure, else warn_if a warning; the defaults are "!=0"; where filters
# the model as a subquery; limit caps the failing rows; store_failures
# keeps them in <target schema>_dbt_test__audit.<test name>).
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p p/models p/seeds p/macros p/tests/generic
dbt_project p cards
# amounts <= 0: ids 4 (a refund) and 6 (lost); customer_id NULL: 4, 5, 7;
# status: paid x3, pending x2, refund, lost
cat >p/seeds/raw_txns.csv <<'EOF'
id,customer_id,amount,status
1,10,100,paid
2,10,250,paid
3,11,75,pending
4,,-40,refund
5,,30,paid
6,12,0,lost
7,,55,pending
EOF
cat >p/models/txns.sql <<'EOF'
{{ config(materialized='table') }}
select * from {{ ref('raw_txns') }}
EOF
cat >p/tests/generic/is_positive.sql <<'EOF'
{% test is_positive(model, column_name) %}
select * from {{ model }} where {{ column_name }} <= 0
{% endtest %}
EOF
cat >p/macros/table_tests.sql <<'EOF'
{% test row_count_at_least(model, min_rows) %}
select n from (select count(*) as n from {{ model }}) t where n < {{ min_rows }}
{% endtest %}
EOF
cat >p/models/schema.yml <<'EOF'
version: 2
models:
  - name: txns
    data_tests:
      - row_count_at_least:
          arguments:
            min_rows: 7
    columns:
      - name: amount
        data_tests:
          - is_positive:
              config:
                where: "status not in ('refund', 'lost')"
      - name: customer_id
        data_tests:
          - not_null:
              config:
                warn_if: ">=1"
                error_if: ">3"
      - name: status
        data_tests:
          - unique:
              config:
                limit: 1
                severity: warn
          - unique:
              name: status_duplicate_rows
              config:
                fail_calc: "sum(n_records)"
                severity: warn
          - accepted_values:
              values: [paid, pending, refund]
              config:
                severity: warn
                store_failures: true
EOF

test_expect_success 'custom generic tests and test configs: the verdicts dbt gives' '
	txnflow -C p models build >out &&
	test_grep "^  PASS   row_count_at_least_txns$" out &&
	test_grep "^  PASS   is_positive_txns_amount$" out &&
	test_grep "^  WARN   not_null_txns_customer_id (3 failing rows)" out &&
	test_grep "^  WARN   unique_txns_status (1 failing row)" out &&
	test_grep "^  WARN   status_duplicate_rows (5 failing rows)" out &&
	test_grep "^  WARN   accepted_values_txns_status (1 failing row)" out
'

test_expect_success 'store_failures keeps the failing rows in <schema>_dbt_test__audit' '
	txnflow sql --db p/target/cards.duckdb "SELECT value_field, n_records FROM main_dbt_test__audit.accepted_values_txns_status" >got &&
	printf "value_field,n_records\nlost,1\n" >expect &&
	test_cmp expect got
'

test_expect_success 'without where the custom test finds both rows; error_if reached fails the audit' '
	sed -i "s/where: \"status not in .*/severity: error/" p/models/schema.yml &&
	sed -i "s/error_if: \">3\"/error_if: \">2\"/" p/models/schema.yml &&
	test_expect_code 4 txnflow -C p models build >out 2>err &&
	test_grep "^  FAIL   is_positive_txns_amount (2 failing rows)" out &&
	test_grep "^  FAIL   not_null_txns_customer_id (3 failing rows)" out
'

test_expect_success 'a custom test with arguments that fails' '
	sed -i "s/min_rows: 7/min_rows: 8/" p/models/schema.yml &&
	test_expect_code 4 txnflow -C p models test --select txns >out 2>err &&
	test_grep "^  FAIL   row_count_at_least_txns (1 failing row)" out
'

test_expect_success 'an unknown generic test names the way to define one' '
	sed -i "s/- row_count_at_least:/- row_count_at_most:/" p/models/schema.yml &&
	test_must_fail txnflow -C p models ls >out 2>err &&
	test_grep "unknown generic test .row_count_at_most." err &&
	test_grep "{% test row_count_at_most(model, column_name) %}" err &&
	sed -i "s/- row_count_at_most:/- row_count_at_least:/" p/models/schema.yml
'

test_expect_success 'an unsupported test config is an error naming it' '
	sed -i "s/store_failures: true/store_failures_as: view/" p/models/schema.yml &&
	test_must_fail txnflow -C p models ls >out 2>err &&
	test_grep "store_failures_as: .view. is not supported by txnflow" err &&
	sed -i "s/store_failures_as: view/store_failures: true\n                database: other/" p/models/schema.yml &&
	test_must_fail txnflow -C p models ls >out 2>err &&
	test_grep "test config .database. is not supported by txnflow" err &&
	sed -i "/database: other/d" p/models/schema.yml
'

test_expect_success 'a singular test with config(limit, warn_if, error_if)' '
	cat >p/tests/few_big_amounts.sql <<-EOF &&
	{{ config(warn_if=">1", error_if=">3") }}
	select * from {{ ref("txns") }} where amount > 60
	EOF
	txnflow -C p models test --select few_big_amounts >out &&
	test_grep "^  WARN   few_big_amounts (3 failing rows)" out &&
	sed -i "s/error_if=\">3\"/error_if=\">2\"/" p/tests/few_big_amounts.sql &&
	test_expect_code 4 txnflow -C p models test --select few_big_amounts >out &&
	test_grep "^  FAIL   few_big_amounts (3 failing rows)" out &&
	sed -i "s/warn_if=\">1\", error_if=\">2\"/limit=2/" p/tests/few_big_amounts.sql &&
	test_expect_code 4 txnflow -C p models test --select few_big_amounts >out &&
	test_grep "^  FAIL   few_big_amounts (2 failing rows)" out
'

test_expect_success 'project-level data_tests: +configs apply; a test'"'"'s own config wins' '
	cat >>p/dbt_project.yml <<-\EOF &&
	data_tests:
	  cards:
	    +severity: warn
	    +store_failures: true
	EOF
	txnflow -C p models test --select few_big_amounts >out &&
	test_grep "^  WARN   few_big_amounts (2 failing rows)" out &&
	txnflow sql --db p/target/cards.duckdb "SELECT count(*) AS n FROM main_dbt_test__audit.few_big_amounts" >got &&
	printf "n\n2\n" >expect && test_cmp expect got &&
	sed -i "s/limit=2/limit=2, severity=\"error\"/" p/tests/few_big_amounts.sql &&
	test_expect_code 4 txnflow -C p models test --select few_big_amounts >out &&
	test_grep "^  FAIL   few_big_amounts (2 failing rows)" out
'

test_expect_success 'test configs by folder are an error, not ignored' '
	printf "    marts:\n      +severity: error\n" >>p/dbt_project.yml &&
	test_must_fail txnflow -C p models ls >out 2>err &&
	test_grep "data_tests: .marts.: test configs by folder or package are not supported" err
'

test_done
