#!/bin/bash
# dbt's Jinja context in a project written as dbt users write one: execute,
# log(), run_started_at, invocation_id, adapter.quote, adapter.get_relation,
# this (name, schema, identifier), modules.datetime, return(),
# exceptions.raise_compiler_error, target.name / type. Expected values from
# dbt's "dbt Jinja functions" reference: this renders as the model's
# relation, quote wraps in the adapter's quote character ("), get_relation
# returns None for a missing relation, execute is true when SQL runs.
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p p/models p/macros p/seeds
dbt_project p ctx
printf "id,lim\n1,500\n" >p/seeds/limits.csv
cat >p/macros/answer.sql <<'EOF'
{% macro answer() %}
  {% do return(40 + 2) %}
  this text is not what a macro that returns gives
{% endmacro %}
{% macro must_be_positive(x) %}
  {% if x <= 0 %}
    {{ exceptions.raise_compiler_error("must_be_positive: got " ~ x) }}
  {% endif %}
  {{ return(x) }}
{% endmacro %}
EOF
cat >p/models/ctx_model.sql <<'EOF'
{{ config(materialized='table', alias='ctx_alias') }}
{% if execute %}{{ log("ctx_model compiled for " ~ target.name, info=True) }}{% endif %}
{% set have = adapter.get_relation(database=this.database, schema='main', identifier='limits') %}
{% set missing = adapter.get_relation(database=this.database, schema='main', identifier='no_such_table') %}
select
  '{{ this }}' as this_rel,
  '{{ this.name }}' as this_name,
  '{{ this.schema }}' as this_schema,
  '{{ this.identifier }}' as this_identifier,
  '{{ invocation_id }}' as invocation_id,
  '{{ run_started_at.strftime("%Y-%m-%d") }}' as started_day,
  '{{ run_started_at }}' as started_at,
  '{{ modules.datetime.date.today().strftime("%Y-%m-%d") }}' as today,
  {{ answer() }} as answer,
  {{ must_be_positive(3) }} as positive,
  '{{ target.name }}/{{ target.type }}' as tgt,
  {{ 'true' if execute else 'false' }} as executed,
  '{{ have.identifier if have is not none else "none" }}' as have_rel,
  '{{ "none" if missing is none else "found" }}' as missing_rel,
  (select lim from {{ ref('limits') }}) as lim,
  '{{ adapter.quote('my col') }}' as quoted
EOF
cat >p/models/second.sql <<'EOF'
{{ config(materialized='table') }}
select '{{ invocation_id }}' as invocation_id, '{{ run_started_at }}' as started_at
EOF

test_expect_success 'every context variable renders with dbt meaning' '
	today=$(date -u +%Y-%m-%d) &&
	txnflow -C p models build >out &&
	test_grep "^ctx_model compiled for dev$" out &&
	txnflow sql --db p/target/ctx.duckdb "SELECT this_rel, this_name, this_schema, this_identifier, started_day, today, answer, positive, tgt, executed, have_rel, missing_rel, lim, quoted FROM ctx_alias" >got &&
	printf "this_rel,this_name,this_schema,this_identifier,started_day,today,answer,positive,tgt,executed,have_rel,missing_rel,lim,quoted\n\"\"\"main\"\".\"\"ctx_alias\"\"\",ctx_alias,main,ctx_alias,$today,$today,42,3,dev/duckdb,true,limits,none,500,\"\"\"my col\"\"\"\n" >expect &&
	test_cmp expect got
'

test_expect_success 'invocation_id is one UUID per run; run_started_at one instant, printed as dbt prints it' '
	txnflow sql --db p/target/ctx.duckdb --format csv "SELECT a.invocation_id = b.invocation_id AND a.started_at = b.started_at FROM ctx_alias a, second b" >got &&
	test_grep "^true$" got &&
	txnflow sql --db p/target/ctx.duckdb --format csv "SELECT invocation_id, started_at FROM second" | tail -1 >first &&
	grep -Eq "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12},[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}\+00:00$" first &&
	txnflow -C p models build --select second >/dev/null &&
	txnflow sql --db p/target/ctx.duckdb --format csv "SELECT invocation_id FROM second" | tail -1 >again &&
	! grep -q "$(cut -d, -f1 first)" again
'

test_expect_success 'execute is false at parse time: the log line is printed once, when SQL runs' '
	txnflow -C p models ls >out &&
	! grep -q "compiled for" out &&
	txnflow -C p models build --select ctx_model >out &&
	grep "compiled for" out >lines &&
	test_line_count = 1 lines
'

test_expect_success 'exceptions.raise_compiler_error fails the build with its message' '
	sed -i "s/must_be_positive(3)/must_be_positive(-1)/" p/models/ctx_model.sql &&
	test_must_fail txnflow -C p models build --select ctx_model >out 2>err &&
	cat out err >all &&
	test_grep "Compilation Error in ctx_model: must_be_positive: got -1" all &&
	sed -i "s/must_be_positive(-1)/must_be_positive(3)/" p/models/ctx_model.sql
'

test_expect_success 'a part of dbt context txnflow lacks is an error naming it' '
	printf "select {{ modules.re.match(\"a\", \"a\") }} as x\n" >p/models/re_model.sql &&
	test_must_fail txnflow -C p models build --select re_model >out 2>err &&
	cat out err >all &&
	test_grep "modules.re.match() is not supported by txnflow" all &&
	printf "select {{ adapter.get_columns_in_relation(this) }} as x\n" >p/models/re_model.sql &&
	test_must_fail txnflow -C p models build --select re_model >out 2>err &&
	cat out err >all &&
	test_grep "adapter.get_columns_in_relation() is not supported by txnflow" all &&
	rm p/models/re_model.sql
'

test_done
