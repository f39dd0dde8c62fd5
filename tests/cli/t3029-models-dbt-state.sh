#!/bin/bash
# dbt's state: selection method against a previous manifest (--state DIR,
# or $DBT_STATE), in a project written in dbt's layout. Expected sets are
# written from dbt's docs ("Node selector methods: the state method",
# "Caveats to state comparison"), not from txnflow's output:
#   state:new        no node with the same unique_id in the state manifest
#   state:modified   new nodes, plus any change to existing ones:
#     .body      the node's body (a model's SQL, a seed's values)
#     .configs   its configs, except database / schema / alias
#     .relation  database / schema / alias
#     .macros    a macro it calls changed, directly or through another macro
#   state:old, state:unmodified   the complements
#   a test changed by itself is selected without its (unmodified) parent;
#   `+` adds descendants as for any selector.
. "$(dirname "$0")/../lib/test-lib.sh"

#   raw (seed) -> stg -> wide -> top ; stg -> other ; stg -> fx (calls
#   macro cents, which calls macro round2)
mkdir -p p/models p/seeds p/macros
dbt_project p st
printf "id,amount\n1,1.5\n2,2.25\n" >p/seeds/raw.csv
echo "select id, amount from {{ ref('raw') }}" >p/models/stg.sql
echo "select * from {{ ref('stg') }}" >p/models/wide.sql
echo "select count(*) as n from {{ ref('wide') }}" >p/models/top.sql
echo "select id from {{ ref('stg') }}" >p/models/other.sql
echo "select id, {{ cents('amount') }} as c from {{ ref('stg') }}" >p/models/fx.sql
cat >p/macros/money.sql <<'EOF'
{% macro round2(x) %}round({{ x }}, 2){% endmacro %}
{% macro cents(x) %}cast({{ round2(x) }} * 100 as bigint){% endmacro %}
EOF
cat >p/models/schema.yml <<'EOF'
version: 2
models:
  - name: stg
    columns:
      - name: id
        data_tests: [unique, not_null]
  - name: other
    columns:
      - name: id
        data_tests: [not_null]
EOF

# check WANT SEL: SEL selects exactly the models and seeds WANT names
# (-C p: like every path, --state is relative to the project, as git's -C)
check() { select_is p "$1" --state ../state --select "$2"; }

test_expect_success 'the state: a build, its target/ kept as the production state' '
	txnflow -C p models build >out &&
	test_grep "^Done: 6 ok, 0 error" out &&
	mkdir state && cp p/target/manifest.json state/
'

test_expect_success 'nothing changed: state:modified selects nothing, state:old everything' '
	check "" "state:modified" &&
	check "" "state:new" &&
	check "fx other raw stg top wide " "state:old" &&
	check "fx other raw stg top wide " "state:unmodified"
'

# a config changed in schema.yml: a {{ config() }} in the SQL is part of
# the body (dbt compares the raw code), so it would be .body as well
test_expect_success 'a changed body, config, relation, seed and a new model' '
	echo "select id, amount, amount * 2 as twice from {{ ref('"'"'raw'"'"') }}" >p/models/stg.sql &&
	cat >>p/models/schema.yml <<-\EOF &&
	  - name: wide
	    config: {materialized: table}
	  - name: top
	    config: {alias: top_n}
	EOF
	echo "select 1 as x" >p/models/brand_new.sql &&
	printf "id,amount\n1,1.5\n2,2.25\n3,9\n" >p/seeds/raw.csv &&
	check "brand_new " "state:new" &&
	check "brand_new raw stg top wide " "state:modified" &&
	check "brand_new raw stg " "state:modified.body" &&
	check "brand_new wide " "state:modified.configs" &&
	check "brand_new top " "state:modified.relation" &&
	check "fx other " "state:unmodified" &&
	check "fx other raw stg top wide " "state:old"
'

test_expect_success 'state:modified+ adds the descendants; tests come with their models' '
	check "brand_new fx other raw stg top wide " "state:modified+" &&
	check "fx other stg top wide " "state:modified.body+,resource_type:model,state:old" &&
	txnflow -C p models ls --state ../state --select state:modified.body >ls.out &&
	test_grep "^test unique_stg_id$" ls.out &&
	test_grep "^test not_null_stg_id$" ls.out &&
	! grep -q "not_null_other_id" ls.out
'

# the docs say "any node configs"; dbt-core's config classes leave tags
# and group out of the comparison (CompareBehavior.Exclude)
test_expect_success 'tags alone are no modification' '
	sed -i "s/^  - name: other$/  - name: other\n    config: {tags: [nightly]}/" p/models/schema.yml &&
	test_grep "tags: \[nightly\]" p/models/schema.yml &&
	select_is p "other " --select tag:nightly &&
	check "" "state:modified.configs,other"
'

test_expect_success 'a macro changed deep down marks the model that calls it' '
	cat >p/macros/money.sql <<-\EOF &&
	{% macro round2(x) %}round({{ x }}, 3){% endmacro %}
	{% macro cents(x) %}cast({{ round2(x) }} * 100 as bigint){% endmacro %}
	EOF
	check "fx " "state:modified.macros" &&
	check "brand_new fx raw stg top wide " "state:modified"
'

test_expect_success 'a test changed alone is selected without its parent' '
	sed -i "s/data_tests: \[not_null\]/data_tests: [{not_null: {config: {severity: warn}}}]/" p/models/schema.yml &&
	test_grep "severity: warn" p/models/schema.yml &&
	txnflow -C p models ls --state ../state --select "state:modified,resource_type:test" >ls.out &&
	test_grep "^test not_null_other_id$" ls.out &&
	! grep -q "^model other" ls.out &&
	check "brand_new fx raw stg top wide " "state:modified"
'

test_expect_success 'build --select state:... builds exactly those (a new node counts as modified); after a build nothing is' '
	txnflow -C p models build --state ../state --select "state:modified.relation+" >out &&
	grep -E "^ *[0-9]+ of [0-9]+ OK" out | sed -e "s/ (.*//" -e "s/.* //" >got &&
	printf "brand_new\ntop\n" >want && test_cmp want got &&
	: the seed was not reloaded: its third row is not there yet &&
	txnflow sql --db p/target/st.duckdb "SELECT n FROM top_n" >got &&
	test_grep "^2$" got &&
	txnflow -C p models build --state ../state --select "state:modified+" >out &&
	test_grep "^Done: 7 ok, 0 error" out &&
	test_grep "WARN .*not_null_other_id\|PASS .*not_null_other_id" out &&
	rm -r state && mkdir state && cp p/target/manifest.json state/ &&
	check "" "state:modified" &&
	: DBT_STATE instead of --state, as in dbt &&
	echo "select id from {{ ref('"'"'stg'"'"') }} where id > 0" >p/models/other.sql &&
	DBT_STATE=$PWD/state txnflow -C p models ls --select state:modified >ls.out &&
	grep "^model" ls.out >got && echo "model other" >want && test_cmp want got
'

test_expect_success 'errors: no manifest in --state, a state selector txnflow lacks' '
	mkdir empty &&
	test_expect_code 2 txnflow -C p models ls --state ../empty --select state:modified 2>err &&
	test_grep "no manifest.json there" err &&
	test_expect_code 2 txnflow -C p models ls --state ../state --select state:modified.contract 2>err &&
	test_grep "state:modified.contract is not supported by txnflow" err &&
	test_expect_code 2 txnflow -C p models ls --state ../state --select state:changed 2>err &&
	test_grep "state:changed: not a state selector" err &&
	echo "{" >empty/manifest.json &&
	test_must_fail txnflow -C p models ls --state ../empty --select state:new 2>err &&
	test_grep "manifest.json:.*not JSON" err
'

test_done
