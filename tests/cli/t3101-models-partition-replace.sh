#!/bin/sh
# Incremental delete+insert keyed by a partition column (an event date), the
# default project's fact pattern: the key repeats in the new rows by design,
# every old row of a rebuilt key goes (also rows that left it), other keys
# stay; the key repeated in the new rows inserts every new row, as dbt's
# delete+insert does. And the default project builds on an empty lake.
. "$(dirname "$0")/../lib/test-lib.sh"

test_expect_success 'the default project builds on an empty lake' '
	txnflow init p &&
	txnflow -C p models build >out &&
	grep "^Done: 20 ok, 0 error" out
'

test_expect_success 'delete+insert on a repeated date key replaces whole dates' '
	txnflow init q &&
	rm -rf q/models/* q/tests/* q/seeds/* &&
	printf "d,id,v\n2025-01-01,a,1\n2025-01-01,b,2\n2025-01-02,c,3\n2025-01-02,d,4\n" >q/seeds/events.csv &&
	cat >q/models/by_day.sql <<-\EOT &&
	{{ config(materialized="incremental", unique_key="d", incremental_strategy="delete+insert") }}
	SELECT CAST(d AS DATE) AS d, id, v FROM {{ ref("events") }}
	{% if is_incremental() %} WHERE CAST(d AS DATE) IN ({% for x in var("dates") %}DATE '\''{{ x }}'\''{% if not loop.last %}, {% endif %}{% endfor %}){% endif %}
	EOT
	txnflow -C q models build >out1 &&
	grep "^Done: 2 ok, 0 error" out1 &&
	printf "d,id,v\n2025-01-01,a,100\n2025-01-02,c,30\n2025-01-02,e,50\n" >q/seeds/events.csv &&
	txnflow -C q models build --vars "{dates: [\"2025-01-02\"]}" >out2 &&
	grep "^Done: 2 ok, 0 error" out2 &&
	txnflow -C q sql --format csv "SELECT strftime(d, '\''%Y-%m-%d'\'') AS d, id, v FROM by_day ORDER BY id" >actual &&
	cat >expect <<-\EOT &&
	d,id,v
	2025-01-01,a,1
	2025-01-01,b,2
	2025-01-02,c,30
	2025-01-02,e,50
	EOT
	test_cmp expect actual
'

test_done
