#!/bin/bash
# The artifacts of a build in dbt's published schemas (issue 20):
# target/manifest.json validates against manifest v12 and
# target/run_results.json against run_results v6, the schema files
# vendored unchanged from dbt-core (tests/data/dbt-schemas/README.md says
# where from), checked with python3's jsonschema. The project, in dbt's
# layout, has every kind of node txnflow builds: seeds, a source, models
# (view, table, incremental, ephemeral), generic tests (built-in, custom,
# a package's), a singular test, a snapshot, a unit test, macros (the
# root project's and a local package's), a disabled model; and the build
# has every result status: success, error, skipped, pass, fail.
. "$(dirname "$0")/../lib/test-lib.sh"

SCHEMAS="$ROOT/tests/data/dbt-schemas"
check() { python3 "$ROOT/tests/lib/dbt-artifacts-check.py" "$@"; }

mkdir -p p/models/staging p/models/marts p/seeds p/snapshots p/macros \
	p/tests/generic p/vendor/money/macros
dbt_project p shop
cat >p/packages.yml <<'EOF'
packages:
  - local: vendor/money
EOF
printf "name: money\nversion: '0.1.0'\n" >p/vendor/money/dbt_project.yml
cat >p/vendor/money/macros/cents.sql <<'EOF'
{% macro to_cents(col) %}
  {{ return(adapter.dispatch('to_cents', 'money')(col)) }}
{% endmacro %}
{% macro default__to_cents(col) %}cast(round({{ col }} * 100) as bigint){% endmacro %}
EOF
cat >p/macros/upper_name.sql <<'EOF'
{% macro upper_name(col) %}upper({{ col }}){% endmacro %}
EOF
cat >p/tests/generic/below.sql <<'EOF'
{% test below(model, column_name, limit_cents) %}
select {{ column_name }} from {{ model }} where {{ column_name }} >= {{ limit_cents }}
{% endtest %}
EOF
printf "id,name,amount\n1,ann,12.5\n2,bob,3.25\n" >p/seeds/raw_customers.csv
printf "account_id,customer_id\n7,1\n8,2\n" >p/accounts.csv
cat >p/models/staging/schema.yml <<'EOF'
version: 2
sources:
  - name: bank
    description: the core banking system
    tables:
      - name: accounts
        description: one row per account
        meta:
          external_location: "read_csv('accounts.csv')"
models:
  - name: stg_customers
    description: customers, cleaned
    columns:
      - name: id
        description: the customer
        data_tests: [unique, not_null]
      - name: amount_cents
        data_tests:
          - below: {limit_cents: 100000}
  - name: customers
    columns:
      - name: id
        data_tests:
          - relationships:
              to: ref('stg_customers')
              field: id
unit_tests:
  - name: test_cents
    model: stg_customers
    given:
      - input: ref('raw_customers')
        rows: [{id: 1, name: x, amount: 1.5}]
    expect:
      rows: [{id: 1, amount_cents: 150}]
EOF
cat >p/models/staging/stg_customers.sql <<'EOF'
select id, {{ upper_name('name') }} as name, {{ money.to_cents('amount') }} as amount_cents
from {{ ref('raw_customers') }}
EOF
echo "select * from {{ source('bank', 'accounts') }}" >p/models/staging/stg_accounts.sql
echo "{{ config(materialized='ephemeral') }} select id from {{ ref('stg_customers') }}" >p/models/staging/eph_ids.sql
cat >p/models/marts/customers.sql <<'EOF'
{{ config(materialized='table', tags=['finance']) }}
select c.id, c.name, a.account_id
from {{ ref('stg_customers') }} c join {{ ref('eph_ids') }} e using (id)
left join {{ ref('stg_accounts') }} a on a.customer_id = c.id
EOF
cat >p/models/marts/ledger.sql <<'EOF'
{{ config(materialized='incremental', unique_key='id') }}
select id, amount_cents from {{ ref('stg_customers') }}
EOF
echo "{{ config(enabled=false) }} select 1 as x" >p/models/marts/retired.sql
# a SQL error (error), what reads it (skipped)
echo "select no_such_column from {{ ref('stg_customers') }}" >p/models/broken.sql
echo "select * from {{ ref('broken') }}" >p/models/after_broken.sql
# an error-severity test that fails: the ledger is not published (fail)
cat >p/tests/ledger_small.sql <<'EOF'
select * from {{ ref('ledger') }} where amount_cents > 1000
EOF
cat >p/snapshots/customers_snap.sql <<'EOF'
{% snapshot customers_snap %}
{{ config(target_schema='snapshots', unique_key='id', strategy='check',
          check_cols='all') }}
select * from {{ ref('stg_customers') }}
{% endsnapshot %}
EOF

test_expect_success 'the vendored schemas are the files the README names' '
	(cd "$SCHEMAS" && sha256sum manifest-v12.json run-results-v6.json) >got &&
	for f in manifest-v12.json run-results-v6.json; do
		grep "^| .$f. " "$SCHEMAS/README.md" | sed -e "s/.*| .\([0-9a-f]\{64\}\). |$/\1  $f/"
	done >want &&
	test_cmp want got
'


test_expect_success 'a build with every result status' '
	test_expect_code 4 txnflow -C p models build >out 2>err &&
	test_grep "ERROR .*broken" out &&
	test_grep "SKIP .*after_broken" out &&
	test_grep "FAIL .*ledger_small" out &&
	test_grep "PASS .*test_cents" out
'

test_expect_success 'run_results.json validates against run_results v6' '
	check "$SCHEMAS/run-results-v6.json" p/target/run_results.json
'

test_expect_success 'manifest.json validates against manifest v12' '
	check "$SCHEMAS/manifest-v12.json" p/target/manifest.json
'

test_expect_success 'the checker finds what the schemas forbid' '
	python3 - <<-\EOF &&
	import json
	m = json.load(open("p/target/manifest.json"))
	m["nodes"]["model.shop.customers"]["test_kind"] = "x"
	del m["nodes"]["test.shop.ledger_small"]["checksum"]["checksum"]
	json.dump(m, open("bad-manifest.json", "w"))
	r = json.load(open("p/target/run_results.json"))
	r["results"][0]["status"] = "ok"
	del r["results"][1]["timing"]
	json.dump(r, open("bad-results.json", "w"))
	EOF
	test_must_fail check "$SCHEMAS/manifest-v12.json" bad-manifest.json >out &&
	test_grep "/nodes/model.shop.customers: Additional properties are not allowed (.test_kind. was unexpected)" out &&
	test_grep "/nodes/test.shop.ledger_small/checksum: .checksum. is a required property" out &&
	test_must_fail check "$SCHEMAS/run-results-v6.json" bad-results.json >out &&
	test_grep "/results/0/status: .ok. is not valid" out &&
	test_grep "/results/1: .timing. is a required property" out
'

test_expect_success 'run_results: every status, with dbt'"'"'s fields' '
	python3 - <<-\EOF
	import json, sys
	r = json.load(open("p/target/run_results.json"))
	by = {x["unique_id"]: x for x in r["results"]}
	want = {
	    "seed.shop.raw_customers": "success",
	    "model.shop.stg_customers": "success",
	    "model.shop.broken": "error",
	    "model.shop.after_broken": "skipped",
	    "test.shop.ledger_small": "fail",
	    "model.shop.ledger": "error",
	    "test.shop.unique_stg_customers_id": "pass",
	    "unit_test.shop.stg_customers.test_cents": "pass",
	    "snapshot.shop.customers_snap": "success",
	}
	bad = [(k, v, by.get(k, {}).get("status")) for k, v in want.items()
	       if by.get(k, {}).get("status") != v]
	if bad:
	    sys.exit("statuses: %r" % bad)
	if by["test.shop.ledger_small"]["failures"] != 1:
	    sys.exit("failures: %r" % by["test.shop.ledger_small"])
	if "no_such_column" not in by["model.shop.broken"]["message"]:
	    sys.exit("message: %r" % by["model.shop.broken"])
	s = by["model.shop.stg_customers"]
	if s["relation_name"] != "\"main\".\"stg_customers\"" or "upper(name)" not in s["compiled_code"]:
	    sys.exit("stg_customers: %r" % s)
	if r["metadata"]["dbt_schema_version"] != "https://schemas.getdbt.com/dbt/run-results/v6.json":
	    sys.exit("version")
	EOF
'

test_expect_success 'manifest: every kind of node, with dbt'"'"'s ids and edges' '
	python3 - <<-\EOF
	import json, sys
	m = json.load(open("p/target/manifest.json"))
	def need(cond, what):
	    if not cond:
	        sys.exit("manifest: " + what)
	n = m["nodes"]
	need(m["metadata"]["dbt_schema_version"] == "https://schemas.getdbt.com/dbt/manifest/v12.json", "version")
	need(m["metadata"]["project_name"] == "shop", "project_name")
	kinds = sorted({v["resource_type"] for v in n.values()})
	need(kinds == ["model", "seed", "snapshot", "test"], "kinds %r" % kinds)
	need(n["model.shop.eph_ids"]["config"]["materialized"] == "ephemeral", "ephemeral")
	need(n["model.shop.ledger"]["config"]["unique_key"] == "id", "unique_key")
	c = n["model.shop.customers"]
	need(c["fqn"] == ["shop", "marts", "customers"], "fqn %r" % c["fqn"])
	need(c["original_file_path"] == "models/marts/customers.sql" and c["path"] == "marts/customers.sql", "paths")
	need(sorted(c["depends_on"]["nodes"]) == ["model.shop.eph_ids", "model.shop.stg_accounts", "model.shop.stg_customers"], "customers deps %r" % c["depends_on"])
	need(c["tags"] == ["finance"], "tags")
	sa = n["model.shop.stg_accounts"]
	need(sa["depends_on"]["nodes"] == ["source.shop.bank.accounts"] and sa["sources"] == [["bank", "accounts"]], "source dep %r" % sa["depends_on"])
	sc = n["model.shop.stg_customers"]
	need("macro.shop.upper_name" in sc["depends_on"]["macros"] and "macro.money.to_cents" in sc["depends_on"]["macros"], "macros of stg %r" % sc["depends_on"])
	need(sc["refs"] == [{"name": "raw_customers", "package": None, "version": None}], "refs")
	need(sc["checksum"]["name"] == "sha256" and len(sc["checksum"]["checksum"]) == 64, "checksum")
	need(sc["columns"]["id"]["description"] == "the customer", "column description")
	t = n["test.shop.relationships_customers_id__stg_customers_id"]
	need(t["test_metadata"]["name"] == "relationships" and t["attached_node"] == "model.shop.customers" and t["column_name"] == "id", "generic test %r" % t)
	need(sorted(t["depends_on"]["nodes"]) == ["model.shop.customers", "model.shop.stg_customers"], "test deps")
	need(n["test.shop.below_stg_customers_amount_cents"]["depends_on"]["macros"] == ["macro.shop.test_below"], "custom test macro")
	need(n["test.shop.ledger_small"]["original_file_path"] == "tests/ledger_small.sql", "singular")
	snap = n["snapshot.shop.customers_snap"]
	need(snap["config"]["strategy"] == "check" and snap["schema"] == "snapshots", "snapshot")
	need(m["sources"]["source.shop.bank.accounts"]["source_description"] == "the core banking system", "source")
	need(m["unit_tests"]["unit_test.shop.stg_customers.test_cents"]["model"] == "stg_customers", "unit test")
	need(m["unit_tests"]["unit_test.shop.stg_customers.test_cents"]["given"][0]["rows"] == [{"id": 1, "name": "x", "amount": 1.5}], "unit rows")
	macros = m["macros"]
	need(macros["macro.money.default__to_cents"]["package_name"] == "money", "package macro")
	need(macros["macro.shop.upper_name"]["macro_sql"].startswith("{% macro upper_name(col) %}"), "macro_sql")
	need("macro.money.default__to_cents" in macros["macro.money.to_cents"]["depends_on"]["macros"], "dispatch deps")
	need(list(m["disabled"]) == ["model.shop.retired"], "disabled %r" % list(m["disabled"]))
	need("model.shop.customers" in m["child_map"]["model.shop.stg_customers"], "child_map")
	need("source.shop.bank.accounts" in m["parent_map"]["model.shop.stg_accounts"], "parent_map")
	EOF
'

test_expect_success 'models docs writes a manifest that validates too' '
	txnflow -C p models docs >out &&
	check "$SCHEMAS/manifest-v12.json" p/target/manifest.json &&
	python3 -c "import json; m = json.load(open(\"p/target/manifest.json\")); assert \"upper(name)\" in m[\"nodes\"][\"model.shop.stg_customers\"][\"compiled_code\"]"
'

test_expect_success 'the default project'"'"'s artifacts validate too (dispatch macros, 100+ tests)' '
	txnflow init d >/dev/null &&
	txnflow -C d models build --vars "{run_date: \"2025-09-11\", dates: [\"2025-09-11\"]}" >out &&
	test_grep "^Done: [0-9]* ok, 0 error" out &&
	check "$SCHEMAS/manifest-v12.json" d/target/manifest.json &&
	check "$SCHEMAS/run-results-v6.json" d/target/run_results.json &&
	python3 -c "import json, sys; m = json.load(open(\"d/target/manifest.json\")); sys.exit(0 if len(m[\"nodes\"]) > 100 and \"macro.d.default__sum_where\" in m[\"macros\"] else 1)"
'

test_done
