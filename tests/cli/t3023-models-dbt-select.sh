#!/bin/bash
# Node selection with dbt's syntax and meaning (docs: "Syntax overview",
# "Graph operators", "Set operators", "Node selector methods"): space is a
# union, comma an intersection; +m, m+, N+m, m+N, @m; methods tag, path,
# file, fqn, resource_type, config.materialized, source (source:x+ is what
# reads x and downstream), test_type, test_name; an unknown or unsupported
# selector is an error, never an empty selection. Expected sets are
# written from the graph drawn below.
. "$(dirname "$0")/../lib/test-lib.sh"

#   raw_a (seed) -> stg_a -> mid -> top
#   source bank.accounts -> stg_accounts -> mid
#   raw_a -> other
mkdir -p p/models/staging p/models/marts p/seeds p/data
dbt_project p sel
printf "id\n1\n2\n" >p/seeds/raw_a.csv
printf "account_id,customer_id\n7,1\n" >p/data/accounts.csv
cat >p/models/staging/sources.yml <<'EOF'
version: 2
sources:
  - name: bank
    tables:
      - name: accounts
        meta:
          external_location: "read_csv('data/accounts.csv')"
models:
  - name: stg_a
    columns:
      - name: id
        data_tests: [not_null, unique]
EOF
cat >p/models/staging/stg_a.sql <<'EOF'
{{ config(tags=['nightly']) }}
select * from {{ ref('raw_a') }}
EOF
echo "select * from {{ source('bank', 'accounts') }}" >p/models/staging/stg_accounts.sql
echo "select a.id, b.account_id from {{ ref('stg_a') }} a, {{ ref('stg_accounts') }} b" >p/models/marts/mid.sql
cat >p/models/marts/top.sql <<'EOF'
{{ config(materialized='table', tags=['finance']) }}
select * from {{ ref('mid') }}
EOF
cat >p/models/other.sql <<'EOF'
{{ config(tags=['nightly']) }}
select * from {{ ref('raw_a') }}
EOF

# check WANT SEL: SEL selects exactly the models and seeds WANT names
check() { select_is p "$1" --select "$2"; }

test_expect_success 'union (space) and intersection (comma)' '
	check "other stg_a " "stg_a other" &&
	check "stg_a " "tag:nightly,stg_a+" &&
	check "other stg_a " "tag:nightly" &&
	check "mid top " "path:marts,resource_type:model" &&
	check "" "tag:finance,tag:nightly"
'

test_expect_success 'graph operators: +m, m+, N+m, m+N, @m' '
	check "mid raw_a stg_a stg_accounts " "+mid" &&
	check "mid top " "mid+" &&
	check "mid stg_a stg_accounts " "1+mid" &&
	check "mid top " "mid+1" &&
	check "stg_a " "stg_a+0" &&
	check "mid raw_a stg_a stg_accounts top " "@stg_a" &&
	check "mid other raw_a stg_a stg_accounts top " "@raw_a"
'

test_expect_success 'source: selects what reads the source, with +' '
	check "mid stg_accounts top " "source:bank+" &&
	check "stg_accounts " "source:bank.accounts+1" &&
	check "" "source:bank"
'

test_expect_success 'methods: file, fqn, config.materialized, test_type, test_name' '
	check "top " "file:top.sql" &&
	check "mid " "fqn:sel.marts.mid" &&
	check "top " "config.materialized:table" &&
	txnflow -C p models ls --select "test_type:generic" >out &&
	printf "test not_null_stg_a_id\ntest unique_stg_a_id\n" >expect &&
	grep "^test" out | sort >got && test_cmp expect got &&
	txnflow -C p models ls --select "test_name:unique" >out &&
	grep "^test" out >got && echo "test unique_stg_a_id" >expect && test_cmp expect got
'

test_expect_success 'unknown and unsupported selectors are errors' '
	test_expect_code 2 txnflow -C p models ls --select "tga:nightly" 2>err &&
	test_grep "unknown selector method .tga. (did you mean .tag.?)" err &&
	test_expect_code 2 txnflow -C p models ls --select "exposure:dash+" 2>err &&
	test_grep "the .exposure:. method is not supported by txnflow" err &&
	test_expect_code 2 txnflow -C p models build --select "state:modified+" 2>err &&
	test_grep "state: needs --state DIR" err &&
	test_must_fail txnflow -C p models ls --select "source:nosuch+" 2>err &&
	test_grep "no source named .nosuch." err &&
	test_expect_code 2 txnflow -C p models ls --select "@+mid" 2>err &&
	test_grep "do not combine" err
'

test_expect_success 'build with an intersection builds exactly those' '
	txnflow -C p models build >/dev/null &&
	txnflow -C p models build --select "+top,path:marts" >out 2>err &&
	test_grep "OK .*mid" out && test_grep "OK .*top" out &&
	! grep -q "stg_a\|stg_accounts\|raw_a" out
'

test_expect_success 'dbt surface txnflow lacks is named: exposures, Python models' '
	printf "exposures:\n  - name: dash\n    type: dashboard\n" >p/models/exposures.yml &&
	test_must_fail txnflow -C p models ls >out 2>err &&
	test_grep "exposures.yml:1:1: .exposures:. is not supported by txnflow" err &&
	rm p/models/exposures.yml &&
	echo "def model(dbt, session): return None" >p/models/py_model.py &&
	test_must_fail txnflow -C p models ls >out 2>err &&
	test_grep "models/py_model.py: Python models are not supported by txnflow" err &&
	rm p/models/py_model.py
'

# the issue's case: source:silver+ selected nothing and exited 0
test_expect_success 'source:silver+ selects what reads the built-in lake, and downstream' '
	echo "select count(*) as n from {{ source('"'"'silver'"'"', '"'"'transactions'"'"') }}" >p/models/lake_count.sql &&
	echo "select n * 2 as n2 from {{ ref('"'"'lake_count'"'"') }}" >p/models/lake_twice.sql &&
	check "lake_count lake_twice " "source:silver+" &&
	check "lake_count " "source:silver.transactions+1" &&
	check "lake_count " "source:silver.transactions+,config.materialized:view,+lake_count"
'

test_done
