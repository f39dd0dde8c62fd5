#!/bin/bash
# dbt snapshots over three builds of a customer dimension whose segment and
# credit limit change and whose rows disappear (a closed account): the
# timestamp and check strategies, hard_deletes ignore / invalidate /
# new_record, dbt's columns (dbt_scd_id = md5 of key|updated_at,
# dbt_updated_at, dbt_valid_from, dbt_valid_to, dbt_is_deleted), a model
# reading the snapshot built after it in `build`, and `models snapshot`.
# Expected rows written from dbt's docs ("Snapshots", "Snapshot
# configurations", "hard_deletes") for the three states of the seed.
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p p/models p/seeds p/snapshots
dbt_project p dim
# the seed as one build sees it: its rows after the header
customers() {
	{ echo "id,segment,credit_limit,updated_at"; printf "%s\n" "$@"; } >p/seeds/customers.csv
}
state1() {
	customers "1,retail,1000,2026-01-01 00:00:00" \
		"2,retail,2000,2026-01-01 00:00:00" \
		"3,premium,5000,2026-01-01 00:00:00"
}
# id 1 moves to premium; id 3 closes (its row is gone)
state2() {
	customers "1,premium,1000,2026-02-01 00:00:00" \
		"2,retail,2000,2026-01-01 00:00:00"
}
# id 2's limit is raised; id 4 opens
state3() {
	customers "1,premium,1000,2026-02-01 00:00:00" \
		"2,retail,2500,2026-03-01 00:00:00" \
		"4,retail,500,2026-03-01 00:00:00"
}
cat >p/snapshots/customers_ts.sql <<'EOF'
{% snapshot customers_ts %}
{{ config(target_schema='snapshots', unique_key='id', strategy='timestamp',
          updated_at='updated_at', hard_deletes='invalidate') }}
select * from {{ ref('customers') }}
{% endsnapshot %}

{% snapshot customers_ignore %}
{{ config(target_schema='snapshots', unique_key='id', strategy='timestamp',
          updated_at='updated_at') }}
select * from {{ ref('customers') }}
{% endsnapshot %}
EOF
cat >p/snapshots/customers_check.sql <<'EOF'
{% snapshot customers_check %}
{{ config(target_schema='snapshots', unique_key='id', strategy='check',
          check_cols=['segment', 'credit_limit'], hard_deletes='new_record') }}
select id, segment, credit_limit from {{ ref('customers') }}
{% endsnapshot %}
EOF
cat >p/models/current_customers.sql <<'EOF'
{{ config(materialized='table') }}
select id, segment from {{ ref('customers_ts') }} where dbt_valid_to is null
EOF
q() { txnflow sql --db p/target/dim.duckdb "$1"; }

test_expect_success 'three builds' '
	state1 && txnflow -C p models build >out1 &&
	state2 && txnflow -C p models build >out2 &&
	state3 && txnflow -C p models build >out3 &&
	test_grep "OK .*snapshot .*customers_ts (3 rows" out1 &&
	test_grep "OK .*snapshot .*customers_check (7 rows" out3
'

test_expect_success 'snapshots are built after their parent and before their child' '
	grep -n "customers\b\|customers_ts\|current_customers" out3 | cut -d: -f1 | tr "\n" " " >order &&
	test "$(grep -n "seed .*customers " out3 | cut -d: -f1)" -lt "$(grep -n "customers_ts " out3 | cut -d: -f1)" &&
	test "$(grep -n "customers_ts " out3 | cut -d: -f1)" -lt "$(grep -n "current_customers " out3 | cut -d: -f1)"
'

test_expect_success 'timestamp + invalidate: versions end where the next begins; the closed account is invalidated' '
	q "SELECT id, segment, credit_limit, dbt_valid_from, dbt_valid_to IS NULL AS cur, dbt_updated_at = updated_at AS u FROM snapshots.customers_ts WHERE id <> 3 ORDER BY id, dbt_valid_from" >got &&
	cat >expect <<-EOF &&
	id,segment,credit_limit,dbt_valid_from,cur,u
	1,retail,1000,2026-01-01 00:00:00,false,true
	1,premium,1000,2026-02-01 00:00:00,true,true
	2,retail,2000,2026-01-01 00:00:00,false,true
	2,retail,2500,2026-03-01 00:00:00,true,true
	4,retail,500,2026-03-01 00:00:00,true,true
	EOF
	test_cmp expect got &&
	q "SELECT id, dbt_valid_to FROM snapshots.customers_ts WHERE id IN (1, 2) AND dbt_valid_to IS NOT NULL ORDER BY id" >got &&
	printf "id,dbt_valid_to\n1,2026-02-01 00:00:00\n2,2026-03-01 00:00:00\n" >expect &&
	test_cmp expect got &&
	q "SELECT count(*) AS n, bool_and(dbt_valid_to IS NOT NULL) AS closed FROM snapshots.customers_ts WHERE id = 3" >got &&
	printf "n,closed\n1,true\n" >expect &&
	test_cmp expect got
'

test_expect_success 'dbt_scd_id is md5(key|updated_at)' '
	want=$(printf "1|2026-01-01 00:00:00" | md5sum | cut -d" " -f1) &&
	q "SELECT dbt_scd_id FROM snapshots.customers_ts WHERE id = 1 AND segment = '"'"'retail'"'"'" >got &&
	printf "dbt_scd_id\n%s\n" "$want" >expect &&
	test_cmp expect got
'

test_expect_success 'ignore: the closed account stays current' '
	q "SELECT id, count(*) AS versions, count(*) FILTER (WHERE dbt_valid_to IS NULL) AS current FROM snapshots.customers_ignore GROUP BY id ORDER BY id" >got &&
	printf "id,versions,current\n1,2,1\n2,2,1\n3,1,1\n4,1,1\n" >expect &&
	test_cmp expect got
'

test_expect_success 'check + new_record: versions at each run time, a deletion record for the closed account' '
	q "SELECT id, segment, credit_limit, dbt_is_deleted, dense_rank() OVER (ORDER BY dbt_valid_from) AS run, dbt_valid_to IS NULL AS cur FROM snapshots.customers_check ORDER BY id, dbt_valid_from" >got &&
	cat >expect <<-EOF &&
	id,segment,credit_limit,dbt_is_deleted,run,cur
	1,retail,1000,False,1,false
	1,premium,1000,False,2,true
	2,retail,2000,False,1,false
	2,retail,2500,False,3,true
	3,premium,5000,False,1,false
	3,premium,5000,True,2,true
	4,retail,500,False,3,true
	EOF
	test_cmp expect got &&
	q "SELECT count(*) AS gaps FROM snapshots.customers_check a JOIN snapshots.customers_check b ON a.id = b.id AND b.dbt_valid_from > a.dbt_valid_from WHERE a.dbt_valid_to <> b.dbt_valid_from" >got &&
	printf "gaps\n0\n" >expect && test_cmp expect got &&
	q "SELECT count(DISTINCT dbt_valid_from) AS runs, bool_and(dbt_updated_at = dbt_valid_from) AS same FROM snapshots.customers_check" >got &&
	printf "runs,same\n3,true\n" >expect && test_cmp expect got
'

test_expect_success 'the model reading the snapshot sees the current rows' '
	q "SELECT id, segment FROM current_customers ORDER BY id" >got &&
	printf "id,segment\n1,premium\n2,retail\n4,retail\n" >expect &&
	test_cmp expect got
'

test_expect_success 'models snapshot builds the snapshots only; an unchanged source adds nothing' '
	txnflow -C p models snapshot >out &&
	test_grep "OK .*snapshot .*customers_check (7 rows" out &&
	test_grep "OK .*snapshot .*customers_ts (6 rows" out &&
	! grep -q "current_customers\|seed" out &&
	txnflow -C p models ls --select resource_type:snapshot >out &&
	grep -c "^snapshot customers_" out >n && test "$(cat n)" = 3
'

test_expect_success 'a snapshot without its required config is an error naming it' '
	sed -i "s/updated_at=.updated_at., hard_deletes=.invalidate.//" p/snapshots/customers_ts.sql &&
	test_expect_code 4 txnflow -C p models snapshot --select customers_ts >out 2>err &&
	test_grep "snapshot customers_ts (snapshots/customers_ts.sql): the timestamp strategy needs updated_at" out
'

test_done
