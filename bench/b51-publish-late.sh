#!/bin/bash
# b51: what load and publish move in the life of a project. A fresh
# project is backfilled for 11 days (2025-09-01..11, all fault rates on),
# then loaded into a throwaway PostgreSQL (tests/lib/pg.sh) and published
# to a loopback S3 server (tests/lib/s3), in the DAG's order; both again
# (nothing may move); then a late batch (ingestion day 2025-09-12, whose
# late rows land in earlier event dates) is cleaned, loaded and published:
# only the partitions it rewrote may be re-loaded and uploaded. Prints
# objects and bytes of each publish and the partitions of each load.
#   ROWS=N  events per day (default 20000)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TXNFLOW=${TXNFLOW:-$ROOT/build/txnflow}
case "$TXNFLOW" in /*) ;; *) TXNFLOW=$ROOT/$TXNFLOW ;; esac
ROWS=${ROWS:-20000}
TRASH=$(mktemp -d "${TMPDIR:-/tmp}/txnflow-b51.XXXXXX")
cd "$TRASH"
. "$ROOT/tests/lib/pg.sh"
. "$ROOT/tests/lib/s3/s3-lib.sh"
s3_start lake
pg_start
# after s3_start, whose own EXIT trap would replace this one
trap 's3_stop; pg_stop; rm -rf "$TRASH"' EXIT

"$TXNFLOW" init p >/dev/null
sed -i "s/^\(  *rows:\).*/\1 $ROWS/" p/txnflow.yml
"$TXNFLOW" -C p backfill --from 2025-09-01 --to 2025-09-11 --parallel 2 >/dev/null
cat >>p/txnflow.yml <<EOC
publish:
  s3: { endpoint: "$S3_ENDPOINT", bucket: lake, prefix: txnflow/, region: us-east-1, path_style: true }
load: { target: pg }
EOC
pg_profile p

# show LABEL JSON...: the publish and load reports' counts on one line
show() {
	printf '%-34s' "$1"
	shift
	cat "$@" | tr -d '\n' | grep -o '"\(objects\|uploaded\|uploaded_bytes\|skipped\|deleted\|partitions_loaded\|partitions_unchanged\|rows_loaded\)": [0-9]*' |
		tr -d '"' | tr '\n' ' '
	echo
}
echo "b51: 11 days x $ROWS events, backfilled with --parallel 2"
# load and publish D as the DAG runs them (load before models, publish last)
load_publish() {
	"$TXNFLOW" -C p load --date "$1" --json >"$2.load.json" 2>>publish.log
	"$TXNFLOW" -C p publish --date "$1" --json >"$2.json" 2>>publish.log
}
load_publish 2025-09-11 first
show "first publish (2025-09-11)" first.json first.load.json
load_publish 2025-09-11 second
show "second publish, nothing changed" second.json second.load.json
"$TXNFLOW" -C p generate --date 2025-09-12 --rows "$ROWS" >/dev/null
"$TXNFLOW" -C p clean --date 2025-09-12 --json >clean.json
echo "late batch 2025-09-12 rewrote: $(tr -d '\n ' <clean.json | sed 's/.*"partitions_rewritten":\[\([^]]*\)\].*/\1/')"
load_publish 2025-09-12 late
show "publish after the late batch" late.json late.load.json
echo "silver rows: lake $("$TXNFLOW" sql --memory --format csv \
	"SELECT count(*) FROM read_parquet('p/data/silver/transactions/**/*.parquet')" | tail -1)," \
	"postgres $(psql_q "SELECT count(*) FROM silver_transactions")"
echo "bucket: $(s3_check lake list txnflow/ | wc -l) objects"
