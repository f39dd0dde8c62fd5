#!/bin/sh
# Parquet writer and reader throughput: a 10,000,000-row silver-shaped
# table (15 columns, zstd) written by txnflow and by DuckDB's COPY ...
# (FORMAT parquet) (threads=1 and default), read back by both. One run,
# figures and ratios side by side (bench/pqbench.c).
#   ROWS=N  rows (default 10000000)
set -eu
cd "$(dirname "$0")/.."
ROWS=${ROWS:-10000000}
DUCKDB_DIR=${DUCKDB_DIR:-node_modules/@duckdb/node-bindings-linux-x64}
inc=$DUCKDB_DIR
[ -f "$inc/duckdb.h" ] || inc=node_modules/duckdb/src/duckdb/src/include
dir=$(mktemp -d "${TMPDIR:-/tmp}/txnflow-b20.XXXXXX")
trap 'rm -rf "$dir"' EXIT
[ -f build/obj/src/parquet/writer.o ] && [ -f build/obj/src/clean/schema.o ] || make --no-print-directory release >/dev/null
gcc -std=c11 -D_GNU_SOURCE -O2 -Isrc -isystem "$inc" -o "$dir/pqbench" \
	bench/pqbench.c build/obj/src/parquet/*.o build/obj/src/util/*.o \
	build/obj/src/clean/schema.o \
	-lzstd -lsnappy -lcrypto -ljansson -lm \
	-L"$DUCKDB_DIR" -Wl,-rpath,"$(cd "$DUCKDB_DIR" && pwd)" -lduckdb -lpthread
"$dir/pqbench" "$dir" "$ROWS"
echo "(one run; wall-clock on a shared 2-core machine: $(uptime | sed 's/.*load/load/'))"
