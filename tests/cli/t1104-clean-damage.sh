#!/bin/bash
# Damage is detected, never propagated (issue 16): a flipped bit in a
# partition, a deleted or damaged index shard, a lost manifest, a
# directory the commit cannot write; `txnflow index rebuild`.
. "$(dirname "$0")/../lib/test-lib.sh"

IDX=silver/_index/transactions
# the partition of 2025-09-02, which the third day's clean reads and rewrites
P2=silver/transactions/year=2025/month=09/day=02

# flip_bit FILE OFFSET: xor one bit of FILE's byte at OFFSET (negative: from
# the end)
flip_bit() {
	python3 -c '
import sys
p, at = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
b[at] ^= 4
open(p, "wb").write(b)
' "$1" "$2"
}

# fresh NAME: a copy of the two-day lake with the third day's batch waiting
fresh() {
	rm -rf "$1" && cp -a base "$1"
}

# lock_dir DIR / unlock_dir DIR: make DIR refuse new entries (immutable for
# root, whom modes do not stop; read-only for others)
lock_dir() {
	if [ "$(id -u)" = 0 ]; then chattr +i "$1"; else chmod a-w "$1"; fi
}
unlock_dir() {
	if [ "$(id -u)" = 0 ]; then chattr -i "$1"; else chmod u+w "$1"; fi
}

test_expect_success 'setup: two days cleaned, a third waiting; the manifest lists every file' '
	txnflow generate --data base --date 2025-09-01 --days 3 --rows 1500 \
		--seed 5 >/dev/null &&
	txnflow clean --data base --date 2025-09-01 >/dev/null &&
	txnflow clean --data base --date 2025-09-02 >/dev/null &&
	test_path_is_file base/$IDX/_manifest.json &&
	(cd base && ls $IDX/shard-*.idx silver/transactions/*/*/*/*.parquet) |
		wc -l >n_files &&
	python3 -c "
import json; m = json.load(open(\"base/$IDX/_manifest.json\"))
print(len(m[\"shards\"]) + len(m[\"partitions\"]))" >n_listed &&
	test_cmp n_files n_listed &&
	(cd base && sha256sum $P2/part-00000.parquet | cut -c1-64) >want_sha &&
	python3 -c "
import json; m = json.load(open(\"base/$IDX/_manifest.json\"))
print(m[\"partitions\"][\"2025-09-02\"][\"sha256\"])" >got_sha &&
	test_cmp want_sha got_sha
'

test_expect_success 'a flipped bit in a partition stops the clean: file named, how to recover, nothing changed' '
	fresh d &&
	flip_bit d/$P2/part-00000.parquet 3000 &&
	lake_sums d >before &&
	test_expect_code 4 txnflow clean --data d --date 2025-09-03 2>err &&
	test_grep "silver partition 2025-09-02 is damaged" err &&
	test_grep "$P2/part-00000.parquet" err &&
	test_grep "nothing was changed; restore the file from a copy" err &&
	lake_sums d >after &&
	test_cmp before after &&
	test_path_is_missing d/.clean/journal.json &&
	test_expect_code 1 txnflow audit --data d >out 2>err &&
	test_grep "silver partition 2025-09-02 is damaged" out &&
	test_grep "checksums [1-9]" err &&
	cp base/$P2/part-00000.parquet d/$P2/ &&
	txnflow clean --data d --date 2025-09-03 >/dev/null &&
	txnflow audit --data d >/dev/null
'

test_expect_success 'a deleted index shard stops the clean; index rebuild restores it byte for byte' '
	fresh d &&
	rm d/$IDX/shard-042.idx &&
	lake_sums d >before &&
	test_expect_code 4 txnflow clean --data d --date 2025-09-03 2>err &&
	test_grep "index shard $IDX/shard-042.idx is missing" err &&
	test_grep "txnflow index rebuild" err &&
	lake_sums d >after &&
	test_cmp before after &&
	test_expect_code 1 txnflow audit --data d --max-diffs 1000 >out &&
	test_grep "index shard $IDX/shard-042.idx is missing" out &&
	test_grep "^  index: id hash 2a.* is in silver but not in the index" out &&
	txnflow index rebuild --data d >out &&
	test_grep "index rebuilt from .* partitions" out &&
	lake_sums base >want &&
	lake_sums d >got &&
	test_cmp want got &&
	txnflow clean --data d --date 2025-09-03 >/dev/null &&
	txnflow audit --data d >/dev/null
'

test_expect_success 'a damaged or unlisted index shard stops the clean' '
	fresh d &&
	printf x >>d/$IDX/shard-007.idx &&
	test_expect_code 4 txnflow clean --data d --date 2025-09-03 2>err &&
	test_grep "index shard $IDX/shard-007.idx is damaged" err &&
	fresh d &&
	python3 -c "
import json; p = \"d/$IDX/_manifest.json\"; m = json.load(open(p))
del m[\"shards\"][\"shard-009.idx\"]; json.dump(m, open(p, \"w\"))" &&
	test_expect_code 4 txnflow clean --data d --date 2025-09-03 2>err &&
	test_grep "shard-009.idx is not in the manifest" err
'

test_expect_success 'a lake without its manifest is refused until index rebuild writes it' '
	fresh d &&
	rm d/$IDX/_manifest.json &&
	test_expect_code 4 txnflow clean --data d --date 2025-09-03 2>err &&
	test_grep "_manifest.json: missing, but the lake holds data" err &&
	txnflow index rebuild --data d --json >rep.json &&
	test_grep "\"shards_removed\": 0" rep.json &&
	test_cmp base/$IDX/_manifest.json d/$IDX/_manifest.json &&
	txnflow clean --data d --date 2025-09-03 >/dev/null &&
	txnflow audit --data d >/dev/null
'

test_expect_success 'index rebuild checks every partition and changes nothing when one is damaged' '
	fresh d &&
	flip_bit d/$P2/part-00000.parquet 3000 &&
	rm d/$IDX/shard-001.idx &&
	lake_sums d >before &&
	test_expect_code 4 txnflow index rebuild --data d 2>err &&
	test_grep "silver partition 2025-09-02 ($P2/part-00000.parquet) is damaged" err &&
	test_grep "fails its checksum" err &&
	lake_sums d >after &&
	test_cmp before after &&
	fresh d &&
	cp base/$P2/part-00000.parquet d/$P2/part-00001.parquet &&
	test_expect_code 4 txnflow index rebuild --data d 2>err &&
	test_grep "part-00001.parquet: not a file clean writes" err
'

test_expect_success 'a directory the commit cannot write: refused before the commit point, nothing half-applied' '
	fresh d &&
	lake_sums d >before &&
	lock_dir d/$P2 &&
	test_expect_code 1 txnflow clean --data d --date 2025-09-03 2>err;
	rc=$?
	unlock_dir d/$P2 &&
	test $rc = 0 &&
	test_grep "$P2: cannot write there, which the commit needs; nothing was committed" err &&
	test_path_is_missing d/.clean/journal.json &&
	lake_sums d >after &&
	test_cmp before after &&
	txnflow audit --data d >/dev/null &&
	txnflow clean --data d --date 2025-09-03 >/dev/null &&
	txnflow audit --data d >/dev/null
'

test_expect_success 'index --help and usage errors' '
	txnflow index --help >out &&
	test_grep "^usage: txnflow index rebuild" out &&
	test_grep "^Example" out &&
	test_expect_code 2 txnflow index 2>err &&
	test_grep "missing subcommand" err &&
	test_expect_code 2 txnflow index rebuilt 2>err
'

test_done
