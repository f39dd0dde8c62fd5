#!/bin/bash
# txnflow models on a txnflow.yml project: an empty scaffold builds, the
# silver source works before the lake has any partition, vars reach the
# templates, and results carry the logical date.
. "$(dirname "$0")/../lib/test-lib.sh"

test_expect_success 'a fresh project builds while silver is empty' '
	txnflow init fresh >/dev/null &&
	txnflow -C fresh models build --vars "{run_date: \"2025-09-11\", dates: [\"2025-09-11\"]}" >out &&
	test_grep "^Done: [0-9]* ok, 0 error, 0 skipped; tests: [0-9]* pass, [0-9]* warn, 0 fail, 0 error" out
'

test_expect_success 'a project of our own' '
	txnflow init p >/dev/null &&
	rm -rf p/models/* p/tests/* p/seeds/* p/macros/*
'

test_expect_success 'a model on the silver source builds while silver is empty' '
	mkdir -p p/models/staging &&
	cat >p/models/staging/stg_day.sql <<-\EOT &&
	{{ config(materialized="table") }}
	select count(*) as n_rows, '"'"'{{ var("run_date") }}'"'"' as run_date
	from {{ source("silver", "transactions") }}
	where cast(txn_ts as date) in (
	{%- for d in var("dates") %}date '"'"'{{ d }}'"'"'{{ "," if not loop.last }}{% endfor %})
	EOT
	txnflow -C p models build --vars "{run_date: \"2025-09-11\", dates: [\"2025-09-10\", \"2025-09-11\"]}" >out &&
	test_grep "OK     table       stg_day (1 rows" out &&
	txnflow -C p sql "SELECT n_rows, run_date FROM stg_day" >out &&
	printf "n_rows,run_date\n0,2025-09-11\n" >expect &&
	test_cmp expect out &&
	sqlite3 p/data/txnflow.db "SELECT logical_date FROM model_builds WHERE model = '"'"'stg_day'"'"'" >out &&
	test_grep "^2025-09-11$" out
'

test_expect_success 'with a partition, the source reads the Parquet lake' '
	d=p/data/silver/transactions/year=2025/month=09/day=11 &&
	mkdir -p $d &&
	txnflow sql --write --memory "COPY (SELECT '"'"'t'"'"' || i AS transaction_id, TIMESTAMP '"'"'2025-09-11 02:00:00'"'"' AS txn_ts FROM range(3) r(i)) TO '"'"'$d/part-00000.parquet'"'"' (FORMAT parquet)" &&
	txnflow -C p models build --vars "{run_date: 2025-09-11, dates: [2025-09-11]}" >out &&
	txnflow -C p sql "SELECT n_rows FROM stg_day" >out &&
	test_grep "^3$" out
'

test_expect_success 'a missing var is an error naming it and the file' '
	test_expect_code 4 txnflow -C p models run 2>err &&
	test_grep "models/staging/stg_day.sql:2:[0-9]*: required var .run_date. is not set" err
'

test_done
