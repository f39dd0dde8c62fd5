#!/bin/bash
# Encryption at rest and integrity on the way: publish.s3.sse (aws:kms
# with a key id) and publish.s3.checksum: sha256, against the loopback S3
# server, which checks the headers as S3 does (encryption on PutObject and
# CreateMultipartUpload only, signed; a SHA256 upload needs each part's
# checksum, and CompleteMultipartUpload each part's again) and can demand
# them as a bucket policy would. What landed is read back with the AWS SDK
# for JavaScript.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$ROOT/tests/lib/s3/s3-lib.sh"

s3_start lake || exit 1

KEY=1234abcd-12ab-34cd-56ef-1234567890ab
ARN=arn:aws:kms:us-east-1:123456789012:key/$KEY

json_field() { # json_field FILE NAME: the number after "NAME":
	sed -n "s/^  \"$2\": \([0-9]*\).*/\1/p" "$1"
}

# config PROJECT EXTRA...: publish.s3 on the server, plus EXTRA lines
config() {
	_p=$1
	shift
	sed -i "/^publish:/,\$d" "$_p/txnflow.yml" &&
	cat >>"$_p/txnflow.yml" <<-EOC &&
	publish:
	  marts: false
	  s3:
	    endpoint: $S3_ENDPOINT
	    bucket: lake
	    prefix: enc/
	    part_size_mb: 5
	    multipart_threshold_mb: 5
	    retry_base_ms: 5
	    retry_max_ms: 50
	EOC
	for _l in "$@"; do printf "    %s\n" "$_l" >>"$_p/txnflow.yml" || return 1; done
}

# sha256 in base64, and S3's checksum of a file put in 5 MiB parts
b64sha() { openssl dgst -sha256 -binary "$1" | base64; }
composite() {
	node -e 'const fs = require("fs"), c = require("crypto");
		const b = fs.readFileSync(process.argv[1]), P = 5 << 20, parts = [];
		for (let o = 0; o < b.length; o += P) parts.push(c.createHash("sha256").update(b.subarray(o, o + P)).digest());
		console.log(c.createHash("sha256").update(Buffer.concat(parts)).digest("base64") + "-" + parts.length)' "$1"
}

test_expect_success 'setup: a cleaned day; the bucket demands aws:kms with our key and SHA-256 checksums' '
	txnflow init p >/dev/null &&
	txnflow -C p generate --date 2025-09-03 --rows 2000 --seed 7 >/dev/null &&
	txnflow -C p clean --date 2025-09-03 >/dev/null &&
	head -c 12000000 /dev/urandom >big.bin &&
	printf "card data\n" >small.txt &&
	s3_policy "{\"require_sse\": \"aws:kms\", \"kms_key_id\": \"$KEY\", \"require_checksum\": true}"
'

test_expect_success 'without sse the bucket refuses the upload (its policy), and says so' '
	config p &&
	test_expect_code 4 txnflow -C p publish put ../small.txt enc/plain.txt 2>err &&
	test_grep "put enc/plain.txt: HTTP 403 AccessDenied" err &&
	config p "sse: aws:kms" "kms_key_id: $KEY" &&
	test_expect_code 1 txnflow -C p publish put ../small.txt enc/plain.txt 2>err &&
	test_grep "requires x-amz-checksum-sha256" err
'

test_expect_success 'sse aws:kms + checksum sha256: a PUT carries the signed headers' '
	config p "sse: aws:kms" "kms_key_id: $KEY" "checksum: sha256" &&
	s3_stats_reset &&
	txnflow -C p publish put ../small.txt enc/small.txt &&
	s3_stats >stats &&
	test_grep "\"sse\":{\"aws:kms\":1}" stats &&
	test_grep "\"checksums\":1" stats &&
	s3_check lake head enc/small.txt >head &&
	test_grep "\"sse\":\"aws:kms\",\"kms_key_id\":\"$ARN\"" head &&
	test_grep "\"checksum_sha256\":\"$(b64sha small.txt)\"" head &&
	txnflow -C p publish head enc/small.txt >ours &&
	test_grep "^sse aws:kms $ARN$" ours &&
	test_grep "^checksum_sha256 $(b64sha small.txt)$" ours
'

test_expect_success 'multipart: encryption on CreateMultipartUpload, a checksum on every part and in Complete' '
	s3_stats_reset &&
	txnflow -C p publish put ../big.bin enc/big.bin &&
	s3_stats >stats &&
	test_grep "\"PUT-part\":3" stats &&
	test_grep "\"sse\":{\"aws:kms\":1}" stats &&
	test_grep "\"checksums\":3" stats &&
	test_grep "\"rejected\":0" stats &&
	s3_check lake head enc/big.bin >head &&
	test_grep "\"sse\":\"aws:kms\",\"kms_key_id\":\"$ARN\"" head &&
	test_grep "\"checksum_sha256\":\"$(composite big.bin)\"" head &&
	s3_check lake get enc/big.bin | cmp - big.bin
'

test_expect_success 'a body damaged on the way is refused (BadDigest) and sent again' '
	s3_stats_reset &&
	s3_fault "[{\"method\":\"PUT\",\"key\":\"enc/small2.txt\",\"action\":\"corrupt\",\"count\":1}]" &&
	txnflow -C p publish put ../small.txt enc/small2.txt >out 2>err &&
	test_grep "put enc/small2.txt: HTTP 400 BadDigest; retry 1" err &&
	test_grep "1 retries" out &&
	s3_check lake get enc/small2.txt | cmp - small.txt &&
	s3_fault "[{\"method\":\"PUT\",\"query\":\"partNumber=2\",\"action\":\"corrupt\",\"count\":1}]" &&
	txnflow -C p publish put ../big.bin enc/big2.bin >out 2>err &&
	test_grep "put part 2/3 of enc/big2.bin: HTTP 400 BadDigest; retry 1" err &&
	s3_stats >stats &&
	test_grep "\"BadDigest\":2" stats &&
	s3_check lake get enc/big2.bin | cmp - big.bin
'

test_expect_success 'without the checksum setting a damaged body is still refused (x-amz-content-sha256) and retried' '
	s3_policy "{\"require_sse\": \"aws:kms\"}" &&
	config p "sse: aws:kms" &&
	s3_fault "[{\"method\":\"PUT\",\"key\":\"enc/small3.txt\",\"action\":\"corrupt\",\"count\":1}]" &&
	txnflow -C p publish put ../small.txt enc/small3.txt 2>err &&
	test_grep "HTTP 400 XAmzContentSHA256Mismatch; retry 1" err &&
	s3_check lake head enc/small3.txt >head &&
	test_grep "\"sse\":\"aws:kms\",\"kms_key_id\":\"arn:aws:kms:us-east-1:123456789012:key/aws-s3-default\"" head
'

test_expect_success 'publish: every object and the manifest encrypted and checksummed; a second publish uploads nothing' '
	s3_policy "{\"require_sse\": \"aws:kms\", \"kms_key_id\": \"$KEY\", \"require_checksum\": true}" &&
	config p "sse: aws:kms" "kms_key_id: $KEY" "checksum: sha256" &&
	sed -i "s|prefix: enc/|prefix: lake1/|" p/txnflow.yml &&
	txnflow -C p publish --date 2025-09-03 --json >out &&
	n=$(json_field out uploaded) &&
	test "$n" -ge 8 &&
	s3_objects >objects &&
	test "$(grep -o "\"lake/lake1/[^\"]*\":{\"sse\":\"aws:kms\",\"kms_key_id\":\"$ARN\",\"checksum\":\"[^\"]*\"}" objects | wc -l)" = "$n" &&
	txnflow -C p publish --date 2025-09-03 --json >again &&
	test "$(json_field again uploaded)" = 0
'

test_expect_success 'objects put before encryption was on are put again, encrypted, once' '
	s3_policy_clear &&
	config p &&
	sed -i "s|prefix: enc/|prefix: lake2/|" p/txnflow.yml &&
	txnflow -C p publish --date 2025-09-03 --json >plain &&
	n=$(json_field plain uploaded) &&
	config p "sse: aws:kms" "kms_key_id: $ARN" &&
	sed -i "s|prefix: enc/|prefix: lake2/|" p/txnflow.yml &&
	txnflow -C p publish --date 2025-09-03 --json >enc &&
	test "$(json_field enc uploaded)" = "$n" &&
	txnflow -C p publish --date 2025-09-03 --json >again &&
	test "$(json_field again uploaded)" = 0 &&
	s3_objects >objects &&
	test "$(grep -o "\"lake/lake2/[^\"]*\":{\"sse\":\"aws:kms\"" objects | wc -l)" = "$n"
'

test_expect_success 'the same with a new metadata database: the objects themselves say they are encrypted' '
	mv p/data/txnflow.db p/data/txnflow.db.old &&
	txnflow -C p publish --date 2025-09-03 --json >fresh 2>err &&
	# every object skipped; only the manifest goes up (the new database
	# has no clean of the day, so its partitions_changed differ)
	test "$(json_field fresh skipped)" = "$(json_field fresh objects)" &&
	test_grep "\"uploaded_keys\": \[\$" fresh &&
	test_grep -A1 "\"uploaded_keys\": \[\$" fresh | test_grep "lake2/_manifest.json" &&
	mv p/data/txnflow.db.old p/data/txnflow.db
'

test_expect_success 'a server that does not confirm the encryption: an error, and no multipart upload left' '
	s3_policy "{\"ignore_sse\": true}" &&
	config p "sse: aws:kms" &&
	test_expect_code 4 txnflow -C p publish put ../small.txt enc/unconfirmed.txt 2>err &&
	test_grep "put enc/unconfirmed.txt: the server did not confirm aws:kms encryption (x-amz-server-side-encryption: absent)" err &&
	s3_stats_reset &&
	test_expect_code 4 txnflow -C p publish put ../big.bin enc/unconfirmed.bin 2>err &&
	test_grep "create multipart upload of enc/unconfirmed.bin: the server did not confirm" err &&
	s3_stats >stats &&
	test_grep "\"ABORT-multipart\":1" stats &&
	! grep PUT-part stats &&
	s3_policy_clear
'

test_expect_success 'settings: sse and checksum values, kms_key_id needs aws:kms' '
	config p "sse: aws:kmss" &&
	test_expect_code 4 txnflow -C p publish ls 2>err &&
	test_grep "txnflow.yml:[0-9]*:[0-9]*: key .publish.s3.sse.: .aws:kmss. is not one of none, aws:kms, AES256" err &&
	config p "kms_key_id: $KEY" &&
	test_expect_code 4 txnflow -C p publish ls 2>err &&
	test_grep "kms_key_id.: needs sse: aws:kms" err &&
	config p "checksum: crc32" &&
	test_expect_code 4 txnflow -C p publish ls 2>err &&
	test_grep "is not one of none, sha256" err &&
	config p "sse: AES256" "checksum: none" &&
	txnflow -C p publish put ../small.txt enc/aes.txt &&
	s3_check lake head enc/aes.txt >head &&
	test_grep "\"sse\":\"AES256\",\"kms_key_id\":null,\"checksum_sha256\":null" head
'

test_done
