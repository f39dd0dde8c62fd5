#!/bin/sh
# b50: publish and load throughput on this machine, against loopback servers.
#  - S3: one 1 GiB file to the loopback S3 test server (s3rver behind the
#    SigV4-checking proxy, tests/lib/s3/server.js), as a single PUT and as a
#    multipart upload (64 MiB parts), each timed end to end.
#  - PostgreSQL: silver partitions loaded with COPY FROM STDIN streamed from
#    the Parquet reader into a throwaway PostgreSQL 15 cluster, in rows/s.
# The loopback server is Node: it buffers, hashes (SHA-256 of the body, to
# check x-amz-content-sha256) and writes each request to disk, so the S3
# figures measure client + server on the same 2 cores, not a network.
#   B50_MB=1024 B50_ROWS=2000000 sh bench/b50-publish.sh
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TXNFLOW=${TXNFLOW:-$ROOT/build/txnflow}
MB=${B50_MB:-1024}
ROWS=${B50_ROWS:-2000000}
DAYS=10
W=$(mktemp -d /tmp/txnflow-b50.XXXXXX)
chmod 755 "$W" # the postgres user must reach the cluster dir
S3_PID=
PGBIN=/usr/lib/postgresql/15/bin
PGDATA_DIR=$W/pg
cleanup() {
	[ -n "$S3_PID" ] && kill "$S3_PID" 2>/dev/null || true
	if [ -d "$PGDATA_DIR/data" ]; then
		as_pg "$PGBIN/pg_ctl -D $PGDATA_DIR/data -m immediate stop" >/dev/null 2>&1 || true
	fi
	rm -rf "$W"
}
trap cleanup EXIT INT TERM
as_pg() {
	if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}
now() { date +%s.%N; }
rate() { # rate BYTES_OR_ROWS START END -> per second
	awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", n / (b - a) }'
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "b50-publish: $(nproc) cores, load $(cut -d" " -f1-3 /proc/loadavg) (figures taken while others share the machine are marked by the load)"

# ---------------------------------------------------------------- S3
export NODE_PATH=$ROOT/node_modules
export AWS_ACCESS_KEY_ID=txnflow-test AWS_SECRET_ACCESS_KEY=txnflow-secret
node "$ROOT/tests/lib/s3/server.js" --dir "$W/s3" --port-file "$W/port" --bucket lake >"$W/s3.log" 2>&1 &
S3_PID=$!
i=0
while [ ! -s "$W/port" ]; do i=$((i + 1)); [ $i -lt 300 ] || { cat "$W/s3.log"; exit 1; }; sleep 0.1; done
PORT=$(cat "$W/port")
head -c $((MB * 1024 * 1024)) /dev/urandom >"$W/blob"
mkproj() { # mkproj DIR THRESHOLD_MB PART_MB
	"$TXNFLOW" init "$1" >/dev/null
	cat >>"$1/txnflow.yml" <<EOC
publish:
  s3: { endpoint: "http://127.0.0.1:$PORT", bucket: lake, path_style: true, multipart_threshold_mb: $2, part_size_mb: $3, stall_timeout_s: 900, timeout_ms: 0 }
EOC
}
mkproj "$W/single" 5120 64
mkproj "$W/multi" 64 64
t0=$(now)
"$TXNFLOW" -C "$W/single" publish put "$W/blob" bench/single.bin >/dev/null
t1=$(now)
"$TXNFLOW" -C "$W/multi" publish put "$W/blob" bench/multi.bin >/dev/null
t2=$(now)
# both landed intact (size from the listing)
"$TXNFLOW" -C "$W/single" publish ls bench/ >"$W/ls"
grep -q "single.bin	$((MB * 1024 * 1024))	" "$W/ls"
grep -q "multi.bin	$((MB * 1024 * 1024))	" "$W/ls"
single=$(rate "$MB" "$t0" "$t1")
multi=$(rate "$MB" "$t1" "$t2")
echo "s3 upload of $MB MiB to the loopback server:"
echo "  single PUT           $(secs "$t0" "$t1") s   $single MiB/s"
echo "  multipart (64 MiB)   $(secs "$t1" "$t2") s   $multi MiB/s   ($(awk -v a="$multi" -v b="$single" 'BEGIN { printf "%.2f", a / b }')x single)"
kill "$S3_PID" 2>/dev/null || true
S3_PID=
rm -rf "$W/s3" "$W/blob"

# ---------------------------------------------------------------- PostgreSQL
mkdir -p "$PGDATA_DIR"
[ "$(id -u)" = 0 ] && chown postgres "$PGDATA_DIR"
printf "bench\n" >"$PGDATA_DIR/pw"
[ "$(id -u)" = 0 ] && chown postgres "$PGDATA_DIR/pw"
as_pg "$PGBIN/initdb -D $PGDATA_DIR/data -U txnflow --pwfile=$PGDATA_DIR/pw -A scram-sha-256 --no-sync" >/dev/null
PGPORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
as_pg "$PGBIN/pg_ctl -D $PGDATA_DIR/data -l $PGDATA_DIR/log -w -o '-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDATA_DIR' start" >/dev/null
export TXNFLOW_PG_PASSWORD=bench
P=$W/pgproj
"$TXNFLOW" init "$P" >/dev/null
printf "load: { target: pg }\n" >>"$P/txnflow.yml"
cat >>"$P/profiles.yml" <<EOC
    pg: { type: postgres, host: 127.0.0.1, port: $PGPORT, user: txnflow, password: "{{ env_var('TXNFLOW_PG_PASSWORD') }}", dbname: postgres, sslmode: disable }
EOC
per=$((ROWS / DAYS))
d=1
while [ $d -le $DAYS ]; do
	dd=$(printf "%02d" $d)
	mkdir -p "$P/data/silver/transactions/year=2025/month=09/day=$dd"
	"$TXNFLOW" sql --write --memory "COPY (SELECT 'T' || lpad((i + $d * 10000000)::VARCHAR, 9, '0') AS transaction_id,
		'C' || (i % 50000) AS customer_id, 'K' || (i % 80000) AS card_id, 'M' || (i % 3000) AS merchant_id,
		TIMESTAMPTZ '2025-09-$dd 00:00:00+09' + to_microseconds(i * 40000) AS txn_ts,
		((i * 37) % 1000000 / 100)::DECIMAL(18,2) AS amount, 'KRW' AS currency, '5411' AS mcc,
		'approved' AS status, false AS is_refund, 'pos' AS channel,
		TIMESTAMPTZ '2025-09-$dd 01:00:00+09' AS ingested_at, NULL::VARCHAR AS original_transaction_id,
		'bronze/transactions/ingest_date=2025-09-$dd/part-00000.csv' AS source_file, DATE '2025-09-$dd' AS ingest_date
		FROM range($per) t(i) ORDER BY txn_ts, transaction_id)
		TO '$P/data/silver/transactions/year=2025/month=09/day=$dd/part-00000.parquet' (FORMAT parquet, COMPRESSION zstd)" >/dev/null
	d=$((d + 1))
done
t0=$(now)
"$TXNFLOW" -C "$P" load --date 2025-09-10 --json >"$W/pg.json"
t1=$(now)
rows=$(sed -n 's/.*"rows_loaded": \([0-9]*\).*/\1/p' "$W/pg.json")
# a late batch rewriting one old partition: only it is reloaded
"$TXNFLOW" sql --write --memory "COPY (SELECT * FROM read_parquet('$P/data/silver/transactions/year=2025/month=09/day=02/part-00000.parquet', hive_partitioning = false) LIMIT $((per - 1)))
	TO '$W/day02.parquet' (FORMAT parquet, COMPRESSION zstd)" >/dev/null
mv "$W/day02.parquet" "$P/data/silver/transactions/year=2025/month=09/day=02/part-00000.parquet"
t2=$(now)
"$TXNFLOW" -C "$P" load --date 2025-09-10 --json >"$W/pg2.json"
t3=$(now)
rows2=$(sed -n 's/.*"rows_loaded": \([0-9]*\).*/\1/p' "$W/pg2.json")
echo "postgresql load (COPY FROM STDIN from the Parquet reader, one transaction):"
echo "  $DAYS partitions, $rows rows   $(secs "$t0" "$t1") s   $(rate "$rows" "$t0" "$t1") rows/s"
echo "  late batch: 1 old partition, $rows2 rows   $(secs "$t2" "$t3") s   $(rate "$rows2" "$t2" "$t3") rows/s"
