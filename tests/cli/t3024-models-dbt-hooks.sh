#!/bin/bash
# dbt's hooks in a project written as dbt users write one: on-run-start and
# on-run-end in dbt_project.yml, +pre-hook / +post-hook folder configs and
# post_hook in config(). Expected order from dbt's docs ("pre-hook &
# post-hook", "on-run-start & on-run-end"): on-run-start before any node,
# a node's pre-hooks before its SQL, its post-hooks after it is built (so
# they see its rows through {{ this }}), hooks of several levels all run
# (folder first, then the model's own), on-run-end last with `schemas`.
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p p/models/marts p/seeds
dbt_project p hooks
cat >>p/dbt_project.yml <<'EOF'
on-run-start:
  - "create table if not exists audit_log (step integer, event varchar, rel varchar, n integer)"
  - "insert into audit_log select count(*) + 1, 'start', null, null from audit_log"
on-run-end: "insert into audit_log select count(*) + 1, 'end', '{{ schemas | join(\",\") }}', null from audit_log"
models:
  hooks:
    marts:
      +materialized: table
      +pre-hook: "insert into audit_log select count(*) + 1, 'pre', '{{ this.name }}', null from audit_log"
EOF
printf "id\n1\n2\n3\n" >p/seeds/nums.csv
cat >p/models/marts/big.sql <<'EOF'
{{ config(post_hook=["insert into audit_log select (select count(*) + 1 from audit_log), 'post', '{{ this.name }}', count(*) from {{ this }}"]) }}
select id from {{ ref('nums') }} where id > 1
EOF

test_expect_success 'hooks run in dbt order, post-hooks see the built model' '
	txnflow -C p models build >out &&
	test_grep "OK .*hook .*on-run-start.1" out &&
	test_grep "OK .*hook .*on-run-end.1" out &&
	txnflow sql --db p/target/hooks.duckdb "SELECT step, event, rel, n FROM audit_log ORDER BY step" >got &&
	printf "step,event,rel,n\n1,start,,\n2,pre,big,\n3,post,big,2\n4,end,main,\n" >expect &&
	test_cmp expect got
'

test_expect_success 'a failing pre-hook fails its model, naming the hook' '
	sed -i "s/+pre-hook: \"insert into audit_log/+pre-hook: \"insert into no_such_table/" p/dbt_project.yml &&
	test_expect_code 4 txnflow -C p models build >out 2>err &&
	test_grep "ERROR .*big.*pre-hook 1: .*no_such_table" out
'

test_expect_success 'a failing on-run-start stops the command before any node' '
	sed -i "s/create table if not exists audit_log/create tabel audit_log/" p/dbt_project.yml &&
	test_must_fail txnflow -C p models build >out 2>err &&
	test_grep "on-run-start hook 1" err &&
	! grep -q "seed .*nums" out
'

test_done
