#!/bin/bash
# dbt unit tests (unit_tests: in a schema.yml) in a project written as dbt
# users write one: given rows for refs (dict and csv formats) and for
# `this`, expected rows compared as a multiset on the expected columns,
# overrides of vars and of is_incremental; in `build` a model's unit tests
# run before it is built and a failing one skips it and what is
# downstream; `models test --select test_type:unit` runs them alone.
# Expected rows are computed by hand from the given rows and the models'
# SQL (docs: "Unit tests", "Unit test overrides").
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p p/models p/seeds
dbt_project p cards
cat >>p/dbt_project.yml <<'EOF'
vars:
  premium_threshold: 1000
EOF
printf "customer_id,email\n1,a@x.com\n2,b@x.com\n" >p/seeds/raw_customers.csv
printf "txn_id,customer_id,amount\n1,1,700\n2,1,600\n3,2,50\n" >p/seeds/raw_txns.csv
echo "select * from {{ ref('raw_customers') }}" >p/models/stg_customers.sql
echo "select * from {{ ref('raw_txns') }}" >p/models/stg_txns.sql
cat >p/models/customer_segments.sql <<'EOF'
{{ config(materialized='table') }}
select c.customer_id, c.email,
       case when coalesce(sum(t.amount), 0) >= {{ var('premium_threshold') }}
            then 'premium' else 'standard' end as segment,
       count(t.txn_id) as n_txns
from {{ ref('stg_customers') }} c
left join {{ ref('stg_txns') }} t on t.customer_id = c.customer_id
group by c.customer_id, c.email
EOF
echo "select segment, count(*) as n from {{ ref('customer_segments') }} group by segment" >p/models/segment_counts.sql
cat >p/models/txn_log.sql <<'EOF'
{{ config(materialized='incremental', unique_key='txn_id') }}
select txn_id, amount from {{ ref('stg_txns') }}
{% if is_incremental() %}
where txn_id > (select max(txn_id) from {{ this }})
{% endif %}
EOF
cat >p/models/unit_tests.yml <<'EOF'
unit_tests:
  - name: test_premium_over_threshold
    model: customer_segments
    given:
      - input: ref('stg_customers')
        rows:
          - {customer_id: 1, email: a@x.com}
          - {customer_id: 2, email: b@x.com}
          - {customer_id: 3, email: c@x.com}
      - input: ref('stg_txns')
        rows:
          - {txn_id: 10, customer_id: 1, amount: 1200}
          - {txn_id: 11, customer_id: 2, amount: 999}
    expect:
      rows:
        - {customer_id: 1, segment: premium, n_txns: 1}
        - {customer_id: 2, segment: standard, n_txns: 1}
        - {customer_id: 3, segment: standard, n_txns: 0}
  - name: test_threshold_var_override
    model: customer_segments
    overrides:
      vars:
        premium_threshold: 2000
    given:
      - input: ref('stg_customers')
        format: csv
        rows: |
          customer_id,email
          1,a@x.com
      - input: ref('stg_txns')
        format: csv
        rows: |
          txn_id,customer_id,amount
          10,1,1200
          11,1,700
    expect:
      rows:
        - {customer_id: 1, segment: standard, n_txns: 2}
  - name: test_incremental_takes_new_txns
    model: txn_log
    overrides:
      macros:
        is_incremental: true
    given:
      - input: ref('stg_txns')
        rows:
          - {txn_id: 1, amount: 5}
          - {txn_id: 2, amount: 6}
          - {txn_id: 3, amount: 7}
      - input: this
        rows:
          - {txn_id: 2, amount: 6}
    expect:
      rows:
        - {txn_id: 3, amount: 7}
EOF

test_expect_success 'build: unit tests pass and run before their model' '
	txnflow -C p models build >out &&
	test_grep "^  PASS   test_premium_over_threshold$" out &&
	test_grep "^  PASS   test_threshold_var_override$" out &&
	test_grep "^  PASS   test_incremental_takes_new_txns$" out &&
	test "$(grep -n "test_premium_over_threshold" out | cut -d: -f1)" -lt "$(grep -n "OK .*table .*customer_segments" out | cut -d: -f1)"
'

test_expect_success 'models test --select test_type:unit runs the unit tests only' '
	txnflow -C p models test --select test_type:unit >out &&
	grep -c "PASS" out >n && test "$(cat n)" = 3 &&
	! grep -q "not_null\|unique" out &&
	txnflow -C p models ls --select resource_type:unit_test >out &&
	grep -c "^unit_test " out >n && test "$(cat n)" = 3
'

test_expect_success 'a failing unit test skips its model and the models downstream' '
	cat >>p/models/unit_tests.yml <<-\EOF &&
	  - name: test_wrong_expectation
	    model: customer_segments
	    given:
	      - input: ref(\x27stg_customers\x27)
	        rows: [{customer_id: 2, email: b@x.com}]
	      - input: ref(\x27stg_txns\x27)
	        rows: [{txn_id: 11, customer_id: 2, amount: 50}]
	    expect:
	      rows: [{customer_id: 2, segment: premium}]
	EOF
	sed -i "s/\\\\x27/'"'"'/g" p/models/unit_tests.yml &&
	test_expect_code 4 txnflow -C p models build >out 2>err &&
	test_grep "^  FAIL   test_wrong_expectation (2 failing rows)" out &&
	test_grep "SKIP .*customer_segments (unit test test_wrong_expectation failed)" out &&
	test_grep "SKIP .*segment_counts (upstream customer_segments did not build)" out &&
	test_grep "OK .*txn_log" out
'

test_expect_success 'the failing rows say what was unexpected and what is missing' '
	txnflow -C p models test --select test_wrong_expectation >out 2>err;
	sqlite3 p/data/txnflow.db "SELECT sample_json FROM test_results WHERE test_name = '"'"'test_wrong_expectation'"'"' ORDER BY result_id DESC LIMIT 1" >got &&
	test_grep "unexpected" got && test_grep "missing" got && test_grep "standard" got
'

test_expect_success 'a unit test that does not give a ref of its model is an error naming it' '
	sed -i "/name: test_wrong_expectation/,\$d" p/models/unit_tests.yml &&
	cat >>p/models/unit_tests.yml <<-\EOF &&
	  - name: test_missing_input
	    model: segment_counts
	    given: []
	    expect:
	      rows: []
	EOF
	test_expect_code 4 txnflow -C p models test --select test_missing_input >out 2>err &&
	test_grep "ref(.customer_segments.) has no given rows" out
'

test_done
