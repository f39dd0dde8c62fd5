#!/bin/bash
# The change log: every clean that changes the lake commits a version with
# the rows it inserted and, for each update, the row that left and the one
# that replaced it. Replaying the log gives silver exactly; each preimage is
# the id's image as of the version before; the counts are the report's.
. "$(dirname "$0")/../lib/test-lib.sh"

DAYS="01 02 03 04 05 06"
CH="read_parquet('d/silver/_changes/transactions/*/*.parquet', hive_partitioning = false)"
# an image: every silver column and its partition
IMG="transaction_id, customer_id, card_id, merchant_id, txn_ts, amount, currency, mcc,
     status, is_refund, channel, ingested_at, original_transaction_id, source_file,
     ingest_date, event_date"
# a silver row and its partition, in the change log and in silver alike
ROW="transaction_id, customer_id, card_id, merchant_id, txn_ts, amount, currency, mcc,
     status, is_refund, channel, ingested_at, original_transaction_id, source_file,
     ingest_date, CAST(year AS INTEGER), CAST(month AS INTEGER), CAST(day AS INTEGER)"
SILVER="read_parquet('d/silver/transactions/**/*.parquet', hive_partitioning = true)"
q() { txnflow sql --memory --format csv "$1" | tail -n +2; }

test_expect_success 'six days with every fault, each cleaned' '
	txnflow generate --data d --date 2025-09-01 --days 6 --rows 800 \
		--late-rate 0.3 --version-rate 0.3 --dup-rate 0.1 --stale-rate 0.05 \
		--malformed-rate 0.02 >/dev/null &&
	for d in $DAYS; do
		txnflow clean --data d --date 2025-09-$d --json >clean$d.json || return 1
	done &&
	test_path_is_dir d/silver/_changes/transactions/version=0000000006 &&
	test_path_is_missing d/silver/_changes/transactions/version=0000000007
'

test_expect_success 'each version holds what its clean reported' '
	for d in $DAYS; do
		v=$(sed -n "s/.*\"commit_version\": \([0-9]*\).*/\1/p" clean$d.json) &&
		ins=$(sed -n "s/.*\"inserted\": \([0-9]*\).*/\1/p" clean$d.json) &&
		upd=$(sed -n "s/.*\"updated\": \([0-9]*\).*/\1/p" clean$d.json) &&
		echo "$v,$ins,$upd,$upd" >>expect || return 1
	done &&
	q "SELECT _commit_version,
	          count(*) FILTER (WHERE _change_type = '\''insert'\''),
	          count(*) FILTER (WHERE _change_type = '\''update_postimage'\''),
	          count(*) FILTER (WHERE _change_type = '\''update_preimage'\'')
	   FROM $CH GROUP BY 1 ORDER BY 1" >actual &&
	test_cmp expect actual &&
	test $(q "SELECT count(*) FROM $CH WHERE _change_type = '\''update_postimage'\''") -gt 100
'

test_expect_success 'replaying the log gives silver, row for row' '
	q "SELECT count(*) FROM (
	     (SELECT $ROW FROM $CH WHERE _change_type IN ('\''insert'\'', '\''update_postimage'\'')
	      QUALIFY row_number() OVER (PARTITION BY transaction_id ORDER BY _commit_version DESC) = 1)
	     EXCEPT ALL
	     (SELECT $ROW FROM $SILVER))" >actual &&
	echo 0 >expect && test_cmp expect actual &&
	q "SELECT (SELECT count(DISTINCT transaction_id) FROM $CH) - (SELECT count(*) FROM $SILVER)" >actual &&
	test_cmp expect actual
'

test_expect_success 'a preimage is the image the id had before its version' '
	q "WITH c AS (SELECT *, CAST(ROW($IMG) AS VARCHAR) AS image FROM $CH),
	   prev AS (
	     SELECT p._commit_version AS v, p.transaction_id,
	            (SELECT max(i._commit_version) FROM c i
	             WHERE i.transaction_id = p.transaction_id AND i._commit_version < p._commit_version
	               AND i._change_type IN ('\''insert'\'', '\''update_postimage'\'')) AS pv
	     FROM c p WHERE p._change_type = '\''update_preimage'\'')
	   SELECT count(*) FROM prev
	   JOIN c pre ON pre.transaction_id = prev.transaction_id AND pre._commit_version = prev.v
	             AND pre._change_type = '\''update_preimage'\''
	   LEFT JOIN c img ON img.transaction_id = prev.transaction_id AND img._commit_version = prev.pv
	             AND img._change_type IN ('\''insert'\'', '\''update_postimage'\'')
	   WHERE img.transaction_id IS NULL
	      OR pre.image IS DISTINCT FROM img.image" >actual &&
	echo 0 >expect && test_cmp expect actual &&
	q "SELECT count(*) > 0 FROM $CH p JOIN $CH n USING (transaction_id, _commit_version)
	   WHERE p._change_type = '\''update_preimage'\'' AND n._change_type = '\''update_postimage'\''
	     AND p.event_date <> n.event_date" >actual &&
	echo true >expect && test_cmp expect actual
'

test_expect_success 'a clean that changes nothing commits no version' '
	txnflow clean --data d --date 2025-09-03 --json >again.json &&
	test_grep "\"commit_version\": null" again.json &&
	test_path_is_missing d/silver/_changes/transactions/version=0000000007
'

test_done
