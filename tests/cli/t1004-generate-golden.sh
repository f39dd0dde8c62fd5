#!/bin/bash
# The feed is the same bytes on every machine: a small batch must hash to
# the recorded checksums. The model is pure integer and IEEE basic
# arithmetic (no libm in the output path), so a difference here means the
# model changed: bump "model" in the manifest (txnflow-feed/N), say so in
# docs/feed.md, and record the new checksums with
#   txnflow generate --data gd --date 2025-09-01 --rows 500 --seed 7 \
#     --version-rate 0.1 --malformed-rate 0.02 --timezone Asia/Seoul
#   (cd gd && sha256sum bronze/.../part-00000.csv bronze/.../_manifest.json
#    truth/.../lines.csv) > tests/data/generate-golden.sha256
. "$(dirname "$0")/../lib/test-lib.sh"

test_expect_success 'a small batch has the recorded checksums' '
	txnflow generate --data gd --date 2025-09-01 --rows 500 --seed 7 \
		--version-rate 0.1 --malformed-rate 0.02 --timezone Asia/Seoul >/dev/null &&
	(cd gd && sha256sum -c "$TEST_DATA/generate-golden.sha256")
'

test_done
