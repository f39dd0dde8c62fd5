#!/bin/bash
# The S3 client against a real S3-compatible server on loopback (s3rver
# behind a proxy that checks every SigV4 signature with the AWS SDK's
# signer and injects faults); what lands is checked with the AWS SDK for
# JavaScript.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$ROOT/tests/lib/s3/s3-lib.sh"

s3_start lake || exit 1

# write_config PROJECT EXTRA: point PROJECT's publish.s3 at the server
write_config() {
	cat >>"$1/txnflow.yml" <<-EOC
	publish:
	  s3:
	    endpoint: $S3_ENDPOINT
	    bucket: lake
	    prefix: t/
	    region: us-east-1
	    path_style: true
	    part_size_mb: 5
	    multipart_threshold_mb: 5
	    retry_base_ms: 5
	    retry_max_ms: 50
	    $2
	EOC
}

test_expect_success 'setup' '
	txnflow init p >/dev/null &&
	write_config p "list_page_keys: 2" &&
	head -c 12000000 /dev/urandom >big.bin &&
	printf "hello\n" >small.txt
'

test_expect_success 'put and get a small object; the SDK reads the same bytes' '
	txnflow -C p publish put ../small.txt "t/dir/a b+c=ü&.txt" &&
	txnflow -C p publish get "t/dir/a b+c=ü&.txt" >got &&
	test_cmp small.txt got &&
	s3_check lake get "t/dir/a b+c=ü&.txt" >sdk &&
	test_cmp small.txt sdk
'

test_expect_success 'head shows the size and the stored sha256' '
	txnflow -C p publish head "t/dir/a b+c=ü&.txt" >out &&
	test_grep "^size 6$" out &&
	test_grep "^sha256 $(sha256sum small.txt | cut -d" " -f1)$" out
'

test_expect_success 'multipart upload of a 12 MB file: 3 parts, bytes intact' '
	s3_stats_reset &&
	txnflow -C p publish put ../big.bin t/big.bin &&
	s3_stats >stats &&
	test_grep "\"PUT-part\":3" stats &&
	test_grep "\"COMPLETE-multipart\":1" stats &&
	s3_check lake get t/big.bin | cmp - big.bin
'

test_expect_success 'parts are retried on 503 SlowDown and connection resets' '
	s3_fault "[{\"method\":\"PUT\",\"query\":\"partNumber=2\",\"action\":\"status\",\"status\":503,\"count\":2},
	           {\"method\":\"PUT\",\"query\":\"partNumber=3\",\"action\":\"reset\",\"count\":1}]" &&
	txnflow -C p publish put ../big.bin t/big2.bin >out 2>err &&
	test_grep "3 retries" out &&
	test_grep "SlowDown" err &&
	s3_check lake get t/big2.bin | cmp - big.bin
'

test_expect_success 'a part that keeps failing aborts the upload: no object, no parts left' '
	s3_fault "[{\"method\":\"PUT\",\"query\":\"partNumber=2\",\"action\":\"status\",\"status\":500,\"count\":100}]" &&
	test_expect_code 1 txnflow -C p publish put ../big.bin t/big3.bin 2>err &&
	s3_faults_clear &&
	test_grep "after 6 attempts" err &&
	s3_stats >stats && test_grep "ABORT-multipart\":1" stats &&
	s3_check lake list t/ >list &&
	! grep big3 list &&
	test -z "$(ls -A "$TRASH/.s3/data/lake/._S3rver_uploads")"
'

test_expect_success 'a slow answer times out and is retried' '
	txnflow init slow >/dev/null &&
	write_config slow "timeout_ms: 1000" &&
	s3_fault "[{\"method\":\"PUT\",\"action\":\"slow\",\"delay_ms\":2500,\"count\":1}]" &&
	txnflow -C slow publish put ../small.txt t/slow.txt >out 2>err &&
	test_grep "Timeout" err &&
	test_grep "1 retries" out &&
	s3_check lake get t/slow.txt | cmp - small.txt
'

test_expect_success 'listing follows continuation tokens (2 keys per page)' '
	s3_stats_reset &&
	txnflow -C p publish ls t/ >ls &&
	s3_stats >stats && test_grep "\"LIST\":2" stats &&
	cut -f1 ls >keys &&
	s3_check lake list t/ | cut -f1 >sdk-keys &&
	test_cmp sdk-keys keys &&
	test_line_count = 4 keys
'

test_expect_success 'delete several objects (DeleteObjects with Content-MD5)' '
	txnflow -C p publish rm t/big.bin t/big2.bin t/no-such-key &&
	s3_check lake list t/ | cut -f1 >keys &&
	! grep big keys &&
	test_line_count = 2 keys
'

test_expect_success 'a missing object is reported as not found' '
	test_expect_code 4 txnflow -C p publish get t/nope 2>err &&
	test_grep "not found" err
'

test_expect_success 'a wrong secret gets 403 and the secret is never printed' '
	AWS_SECRET_ACCESS_KEY=sup3r-s3cret-value test_expect_code 4 \
		txnflow -C p publish put ../small.txt t/x.txt >out 2>err &&
	test_grep "403 SignatureDoesNotMatch" err &&
	! grep -r "sup3r-s3cret-value" out err &&
	! grep "$S3_SECRET_KEY" err
'

test_expect_success 'a session token is sent and signed' '
	AWS_SESSION_TOKEN=tok123 txnflow -C p publish put ../small.txt t/tok.txt &&
	s3_check lake get t/tok.txt | cmp - small.txt
'

test_expect_success 'no credentials: a configuration error naming the variables' '
	(unset AWS_ACCESS_KEY_ID; test_expect_code 4 txnflow -C p publish ls 2>err) &&
	test_grep "AWS_ACCESS_KEY_ID" err
'

test_expect_success 'unsigned requests are refused by the test server' '
	curl -s -o body -w "%{http_code}" "$S3_ENDPOINT/lake/t/tok.txt" >code &&
	test "$(cat code)" = 403
'

test_expect_success 'virtual-host style addressing (BUCKET.s3.localhost)' '
	txnflow init vh >/dev/null &&
	cat >>vh/txnflow.yml <<-EOC &&
	publish:
	  s3: { endpoint: "http://s3.localhost:$S3_PORT", bucket: lake, path_style: false }
	EOC
	txnflow -C vh publish put ../small.txt vh/one.txt &&
	txnflow -C vh publish ls vh/ >ls &&
	test_grep "^vh/one.txt" ls &&
	s3_check lake get vh/one.txt | cmp - small.txt
'

test_expect_success 'bad publish settings are reported with file:line:col' '
	txnflow init bad >/dev/null &&
	printf "publish:\n  s3: { bucket: lake, part_size: 5 }\n" >>bad/txnflow.yml &&
	test_expect_code 4 txnflow -C bad publish ls 2>err &&
	test_grep "txnflow.yml:[0-9]*:[0-9]*:.*part_size" err &&
	printf "publish:\n  s3: { bucket: lake, part_size_mb: 1 }\n" >bad/extra &&
	sed -i "/^publish:/,\$d" bad/txnflow.yml && cat bad/extra >>bad/txnflow.yml &&
	test_expect_code 4 txnflow -C bad publish ls 2>err &&
	test_grep "part_size_mb.*between 5" err
'

test_done
