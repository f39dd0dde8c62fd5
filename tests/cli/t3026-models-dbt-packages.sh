#!/bin/bash
# dbt packages in a project written as dbt users write one: packages.yml
# with a hub package (vendored under dbt_packages/, since nothing is
# downloaded here) and a `local:` package; their macros called qualified
# (finance_utils.to_cents) and bare, a package's generic test
# (dbt_utils.expression_is_true), and adapter.dispatch's search order from
# dbt's docs ("dispatch (config)": without a dispatch config the root
# project is searched first, then the macro_namespace package; a
# search_order replaces that). A package that is named but not installed
# is an error saying how to vendor it.
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p p/models p/seeds p/vendor/finance_utils/macros p/vendor/finance_utils/tests/generic
dbt_project p shop
cat >p/packages.yml <<'EOF'
packages:
  - package: dbt-labs/dbt_utils
    version: [">=1.0.0", "<2.0.0"]
  - local: vendor/finance_utils
EOF
cat >p/vendor/finance_utils/dbt_project.yml <<'EOF'
name: finance_utils
version: '0.1.0'
EOF
cat >p/vendor/finance_utils/macros/cents.sql <<'EOF'
{% macro to_cents(col) %}
  {{ return(adapter.dispatch('to_cents', 'finance_utils')(col)) }}
{% endmacro %}
{% macro default__to_cents(col) %}({{ col }} * 100)::bigint{% endmacro %}
{% macro duckdb__to_cents(col) %}cast(round({{ col }} * 100) as bigint){% endmacro %}
EOF
cat >p/vendor/finance_utils/tests/generic/not_negative.sql <<'EOF'
{% test not_negative(model, column_name) %}
select * from {{ model }} where {{ column_name }} < 0
{% endtest %}
EOF
printf "id,amount,fee\n1,12.349,0.5\n2,3.001,0.25\n" >p/seeds/payments.csv
cat >p/models/payment_cents.sql <<'EOF'
{{ config(materialized='table') }}
select id,
       {{ finance_utils.to_cents('amount') }} as amount_cents,
       {{ to_cents('fee') }} as fee_cents,
       {{ dbt_utils.safe_add(['amount', 'fee']) }} as total
from {{ ref('payments') }}
EOF
cat >p/models/schema.yml <<'EOF'
version: 2
models:
  - name: payment_cents
    data_tests:
      - dbt_utils.expression_is_true:
          arguments:
            expression: "amount_cents > fee_cents"
    columns:
      - name: amount_cents
        data_tests: [not_negative]
EOF
q() { txnflow sql --db p/target/shop.duckdb "$1"; }

test_expect_success 'a package named but not installed: an error saying how to vendor it' '
	test_must_fail txnflow -C p models build >out 2>err &&
	test_grep "packages.yml:2:5: packages: .dbt-labs/dbt_utils. is not installed in dbt_packages/" err &&
	test_grep "txnflow does not download packages" err &&
	test_grep "into dbt_packages/dbt_utils" err
'

test_expect_success 'vendored under dbt_packages/: macros, qualified and bare, and a package test' '
	mkdir -p p/dbt_packages/dbt_utils/macros &&
	printf "name: dbt_utils\nversion: 1.3.0\n" >p/dbt_packages/dbt_utils/dbt_project.yml &&
	cat >p/dbt_packages/dbt_utils/macros/sql.sql <<-\EOF &&
	{% macro safe_add(field_list) %}{{ return("(" ~ field_list | join(" + ") ~ ")") }}{% endmacro %}
	{% test expression_is_true(model, expression) %}
	select * from {{ model }} where not ({{ expression }})
	{% endtest %}
	EOF
	txnflow -C p models build >out &&
	test_grep "PASS   dbt_utils_expression_is_true_payment_cents" out &&
	test_grep "PASS   not_negative_payment_cents_amount_cents" out &&
	q "SELECT id, amount_cents, fee_cents, round(total, 3) AS total FROM payment_cents ORDER BY id" >got &&
	printf "id,amount_cents,fee_cents,total\n1,1235,50,12.849\n2,300,25,3.251\n" >expect &&
	test_cmp expect got
'

test_expect_success 'dispatch searches the root project first: its duckdb__to_cents wins' '
	mkdir -p p/macros &&
	echo "{% macro duckdb__to_cents(col) %}cast(floor({{ col }} * 100) as bigint){% endmacro %}" >p/macros/cents.sql &&
	txnflow -C p models build --select payment_cents >out &&
	q "SELECT id, amount_cents FROM payment_cents ORDER BY id" >got &&
	printf "id,amount_cents\n1,1234\n2,300\n" >expect &&
	test_cmp expect got
'

test_expect_success 'a dispatch search_order without the root project: the package wins again' '
	cat >>p/dbt_project.yml <<-\EOF &&
	dispatch:
	  - macro_namespace: finance_utils
	    search_order: [finance_utils]
	EOF
	txnflow -C p models build --select payment_cents >out &&
	q "SELECT id, amount_cents FROM payment_cents ORDER BY id" >got &&
	printf "id,amount_cents\n1,1235\n2,300\n" >expect &&
	test_cmp expect got
'

test_expect_success 'a package test that fails fails the audit' '
	sed -i "s/amount_cents > fee_cents/amount_cents > 1000/" p/models/schema.yml &&
	test_expect_code 4 txnflow -C p models build --select payment_cents >out 2>err &&
	test_grep "FAIL   dbt_utils_expression_is_true_payment_cents (1 failing row)" out &&
	sed -i "s/amount_cents > 1000/amount_cents > fee_cents/" p/models/schema.yml
'

test_expect_success 'a package with models is an error naming them' '
	mkdir -p p/vendor/finance_utils/models &&
	echo "select 1 as x" >p/vendor/finance_utils/models/fx.sql &&
	test_must_fail txnflow -C p models ls >out 2>err &&
	test_grep "package finance_utils .* has models (models/fx.sql); txnflow loads a package.s macros and tests but does not build its models" err
'

test_done
