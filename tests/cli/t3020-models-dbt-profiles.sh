#!/bin/bash
# dbt-duckdb's profiles.yml keys on a project written as a dbt user writes
# one (dbt_project.yml, profiles.yml beside it): extensions are loaded,
# settings SET, attach: databases ATTACHed (read_only honoured), database:
# picks the catalog models are built in, schema: the schema; keys that
# dbt-duckdb has and txnflow cannot honour are errors that name them.
# Expected behaviour from dbt-duckdb's README (profile keys) and DuckDB's
# ATTACH / LOAD documentation.
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p p/models
cat >p/dbt_project.yml <<'EOF'
name: shop
version: '1.0.0'
profile: shop
model-paths: [models]
EOF
cat >p/profiles.yml <<'EOF'
shop:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: target/dev.duckdb
      schema: marts
      extensions:
        - json
      settings:
        threads: 1
      attach:
        - path: ref.duckdb
          alias: refdb
          read_only: true
EOF
cat >p/models/card_limits.sql <<'EOF'
{{ config(materialized='table') }}
select id, lim,
       json_extract('{"tier": 3}', '$.tier')::int as tier,
       (select current_setting('threads')) as threads_setting,
       '{{ target.database }}' as db,
       '{{ target.schema }}' as sch
from refdb.main.limits
EOF

test_expect_success 'setup: the attached database' '
	txnflow sql --db p/ref.duckdb --write "CREATE TABLE limits AS SELECT * FROM (VALUES (1, 500), (2, 900)) t(id, lim)" >/dev/null
'

test_expect_success 'extensions, settings, attach, schema: the model reads the attached table' '
	txnflow -C p models build >out &&
	test_grep "OK .*card_limits (2 rows" out &&
	txnflow sql --db p/target/dev.duckdb "SELECT id, lim, tier, threads_setting, db, sch FROM marts.card_limits ORDER BY id" >got &&
	printf "id,lim,tier,threads_setting,db,sch\n1,500,3,1,dev,marts\n2,900,3,1,dev,marts\n" >expect &&
	test_cmp expect got
'

test_expect_success 'read_only: true is honoured (a model cannot write there)' '
	cat >p/models/bad_write.sql <<-EOF &&
	{{ config(materialized="table", schema="x") }}
	select 1 as a
	EOF
	sed -i "s/^      schema: marts/      schema: marts\n      database: refdb/" p/profiles.yml &&
	test_expect_code 4 txnflow -C p models build --select bad_write >out 2>err &&
	test_grep -i "read-only\|read only" out err &&
	rm p/models/bad_write.sql
'

test_expect_success 'database: an attached alias builds the models there' '
	sed -i "s/read_only: true/read_only: false/" p/profiles.yml &&
	txnflow -C p models build >out &&
	txnflow sql --db p/ref.duckdb "SELECT id, db FROM marts.card_limits ORDER BY id" >got &&
	printf "id,db\n1,refdb\n2,refdb\n" >expect &&
	test_cmp expect got
'

test_expect_success 'database: a name that is neither the file nor an alias is an error' '
	sed -i "s/database: refdb/database: warehouse/" p/profiles.yml &&
	test_expect_code 4 txnflow -C p models build >out 2>err;
	test_grep "profiles.yml:[0-9]*:[0-9]*: key .shop.outputs.dev.database.: .warehouse. is neither the database of path (.dev.) nor an attach: alias" err &&
	sed -i "/database: warehouse/d" p/profiles.yml
'

test_expect_success 'an extension that is not installed is an error naming it' '
	sed -i "s/^        - json$/        - nosuchext/" p/profiles.yml &&
	test_must_fail txnflow -C p models build >out 2>err &&
	test_grep "LOAD nosuchext" err &&
	sed -i "s/^        - nosuchext$/        - json/" p/profiles.yml
'

for key in plugins external_root; do
test_expect_success "$key: refused with the reason, not ignored" '
	cp p/profiles.yml saved.yml &&
	case '$key' in
	plugins) sed -i "s/^      settings:/      plugins:\n        - module: excel\n      settings:/" p/profiles.yml ;;
	external_root) sed -i "s/^      settings:/      external_root: out\n      settings:/" p/profiles.yml ;;
	esac &&
	test_must_fail txnflow -C p models build >out 2>err &&
	test_grep "key .shop.outputs.dev.'$key'.: not supported by txnflow: " err &&
	cp saved.yml p/profiles.yml
'
done

test_expect_success 'an attach entry with an unknown key names it' '
	sed -i "s/^          alias: refdb/          alias: refdb\n          readonly: true/" p/profiles.yml &&
	test_must_fail txnflow -C p models build >out 2>err &&
	test_grep "unknown key .readonly." err &&
	test_grep "did you mean .read_only." err
'

test_done
