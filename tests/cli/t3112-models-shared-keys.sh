#!/bin/bash
# The key sets of one change, shared (decision 1501, tenth round, helper
# C): after a model's build by change, the key sets of that change which
# the models built by group from it read are made in one read of it
# (GROUPING SETS, _txnflow.ksets__NAME), and each of those models takes its
# own from there instead of a DISTINCT over the change: stg_transactions'
# four models, and here three more whose keys are the same set in another
# order, a subset, and a key another model shares. The tables must equal a
# full refresh.
. "$(dirname "$0")/../lib/test-lib.sh"
test_duckdb_heavy

test_expect_success 'a project with three more models by group on stg_transactions' '
	txnflow init p >/dev/null &&
	cat >p/models/marts/card_customer.sql <<-\EOF &&
	{{ config(materialized="incremental", incremental_strategy="changes",
	          unique_key=["card_id", "customer_id"]) }}
	SELECT card_id, customer_id, count(*) AS n, sum(amount) AS amount
	FROM {{ ref("stg_transactions") }} GROUP BY card_id, customer_id
	EOF
	cat >p/models/marts/per_card.sql <<-\EOF &&
	{{ config(materialized="incremental", incremental_strategy="changes",
	          unique_key="card_id") }}
	SELECT card_id, count(*) AS n, max(event_date) AS last_date
	FROM {{ ref("stg_transactions") }} GROUP BY card_id
	EOF
	cat >p/models/marts/merchant_days.sql <<-\EOF &&
	{{ config(materialized="incremental", incremental_strategy="changes",
	          unique_key=["event_date", "merchant_id"], cluster_by="event_date") }}
	SELECT event_date, merchant_id, count(*) AS n
	FROM {{ ref("stg_transactions") }} GROUP BY event_date, merchant_id
	EOF
	txnflow -C p generate --date 2025-09-01 --days 3 --rows 900 --customers 200 \
		--late-rate 0.3 --version-rate 0.3 >/dev/null
'

test_expect_success 'three days built by change: each key set taken from the shared ones' '
	for d in 01 02 03; do
		txnflow -C p clean --date 2025-09-$d >/dev/null &&
		TXNFLOW_LOG_LEVEL=debug txnflow -C p models build \
			--vars "{run_date: \"2025-09-$d\"}" >build$d.out 2>&1 || return 1
		! grep -E "FAIL|ERROR|WARN" build$d.out || return 1
	done &&
	test_grep "per_card (.*by change: +[1-9]" build03.out &&
	test_grep "CREATE TABLE \"_txnflow\".\"ksets__main__stg_transactions\" AS" build03.out &&
	test_grep "CREATE TABLE \"_txnflow\".\"ksets__main__fact_transactions\" AS" build03.out &&
	for m in card_customer per_card merchant_days int_customer_cards int_merchant_daily \
		int_customer_attempts_daily int_customer_sales_daily mart_sales_daily; do
		test_grep "keys__main__$m\" AS SELECT \"" build03.out || return 1
	done &&
	! grep "keys__main__[a-z_]*\" AS SELECT DISTINCT" build03.out
'

test_expect_success 'the tables equal a full refresh' '
	full_equal p 2025-09-03 &&
	test_grep "^per_card " p.full.sums
'

test_done
