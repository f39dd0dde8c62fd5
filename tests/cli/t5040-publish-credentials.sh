#!/bin/bash
# The AWS credential chain end to end: publish to the loopback S3 server
# with keys from each source — the environment, the shared files (static
# keys, a role through STS AssumeRole), web identity, the container
# endpoint, IMDSv2 — fetched from the loopback STS / container / IMDS
# endpoints server.js starts (aws-creds.js), whose temporary keys the S3
# proxy accepts only with their session token and only until they expire.
# Then: renewal of short-lived keys during a publish and of keys that
# expire while a part is in flight, the errors a user meets, and no secret
# in any output, log, metadata row, process argument or environment.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$ROOT/tests/lib/s3/s3-lib.sh"

s3_start lake || exit 1

# From here on only what a test sets gives keys; s3_check has its own.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
AWSDIR=$TRASH/aws
ROLE=arn:aws:iam::123456789012:role/txnflow-publish
WEB_TOKEN=eyJhbGciOiJSUzI1NiJ9.web-identity-token-secret.c2ln
ECS_TOKEN=container-auth-token-secret-4711

json_field() { # json_field FILE NAME: the number after "NAME":
	sed -n "s/^  \"$2\": \([0-9]*\).*/\1/p" "$1"
}

# set_prefix NAME: publish under NAME/ from now on
set_prefix() {
	sed -i "s|prefix: [a-z0-9-]*/|prefix: $1/|" p/txnflow.yml
}

# publish_twice NAME OUT: publish under NAME/; every object (and the
# manifest) goes up; a
# second publish uploads nothing; the bucket holds what silver holds
publish_twice() {
	set_prefix "$1" &&
	txnflow -C p publish --date 2025-09-03 --json >"$2" 2>"$2.err" &&
	test "$(json_field "$2" objects)" -ge 7 &&
	test "$(json_field "$2" uploaded)" = $(($(json_field "$2" objects) + 1)) &&
	txnflow -C p publish --date 2025-09-03 --json >"$2.again" 2>>"$2.err" &&
	test "$(json_field "$2.again" uploaded)" = 0 &&
	s3_check lake list "$1/silver/" >"$2.remote" &&
	s3_local_list p/data "$1/" >"$2.local" &&
	test_cmp "$2.local" "$2.remote"
}

test_expect_success 'setup: a cleaned day, publish.s3 on the loopback server' '
	txnflow init p >/dev/null &&
	txnflow -C p generate --date 2025-09-03 --rows 2000 --seed 7 >/dev/null &&
	txnflow -C p clean --date 2025-09-03 >/dev/null &&
	cat >>p/txnflow.yml <<-EOC &&
	publish:
	  marts: false
	  s3:
	    endpoint: $S3_ENDPOINT
	    bucket: lake
	    prefix: start/
	    region: us-east-1
	    retry_base_ms: 5
	    retry_max_ms: 50
	EOC
	mkdir -p "$AWSDIR" &&
	printf "%s\n" "$WEB_TOKEN" >"$AWSDIR/web-token" &&
	printf "%s\n" "$ECS_TOKEN" >"$AWSDIR/ecs-token" &&
	creds_config "{\"web_identity_token\": \"$WEB_TOKEN\", \"container_token\": \"$ECS_TOKEN\"}"
'

test_expect_success 'no source configured: an error that names every source tried' '
	test_expect_code 4 txnflow -C p publish --date 2025-09-03 2>err &&
	test_grep "no AWS credentials: tried the environment (AWS_ACCESS_KEY_ID" err &&
	test_grep "the shared files (profile .default. in $TRASH/.aws-none/credentials" err &&
	test_grep "web identity" err &&
	test_grep "the container endpoint" err &&
	test_grep "AWS_EC2_METADATA_DISABLED" err
'

test_expect_success 'environment: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY' '
	export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY &&
	txnflow -C p publish --whoami >who &&
	test_grep "^credentials from environment$" who &&
	test_grep "access key  txnf…test$" who &&
	test_grep "never (long-term keys)" who &&
	publish_twice env env.out
'

test_expect_success 'environment: one of the two variables alone is an error' '
	AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY test_expect_code 4 txnflow -C p publish --whoami 2>err &&
	test_grep "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not" err
'

test_expect_success 'shared credentials file: the default profile' '
	cat >"$AWSDIR/credentials" <<-EOF &&
	# a comment
	[default]
	aws_access_key_id = $S3_ACCESS_KEY   ; trailing comment
	aws_secret_access_key=$S3_SECRET_KEY
	[other]
	aws_access_key_id = AKIAOTHER0000000000
	aws_secret_access_key = not-this-one
	EOF
	export AWS_SHARED_CREDENTIALS_FILE=$AWSDIR/credentials &&
	txnflow -C p publish --whoami --json >who &&
	test_grep "\"source\": \"shared-credentials-file\"" who &&
	test_grep "profile .default. in $AWSDIR/credentials" who &&
	publish_twice file-default file.out
'

test_expect_success 'the AWS SDK for JavaScript reads the same key from the same files' '
	cat >"$AWSDIR/config" <<-EOF &&
	[default]
	region = us-east-1
	[profile cfg]
	aws_access_key_id = AKIACONFIG000000WXYZ
	aws_secret_access_key = config-secret
	s3 =
	  max_concurrent_requests = 4
	[profile both]
	aws_access_key_id = AKIACONFIGLOSES00000
	aws_secret_access_key = x
	[other]
	aws_access_key_id = AKIANOTAPROFILE00000
	aws_secret_access_key = not-a-profile-in-the-config-file
	[profile  other]
	aws_access_key_id = AKIANOTAPROFILE00001
	aws_secret_access_key = two-spaces-is-not-a-profile-either
	EOF
	cat >>"$AWSDIR/credentials" <<-EOF &&
	[both]
	aws_access_key_id = AKIACREDSWINS0000001
	aws_secret_access_key = y
	EOF
	export AWS_SHARED_CREDENTIALS_FILE=$AWSDIR/credentials AWS_CONFIG_FILE=$AWSDIR/config &&
	for prof in default other cfg both; do
		AWS_PROFILE=$prof txnflow -C p publish --whoami --json >who-$prof &&
		AWS_PROFILE=$prof node "$S3_DIR/check.js" - - whoami >sdk-$prof &&
		k=$(cat sdk-$prof) &&
		test_grep "\"access_key_id\": \"${k%${k#????}}…${k#${k%????}}\"" who-$prof || return 1
	done &&
	test_grep "shared-config-file" who-cfg &&
	test_grep "shared-credentials-file" who-both
'

test_expect_success 'shared config file: a profile named by AWS_PROFILE' '
	cat >>"$AWSDIR/config" <<-EOF &&
	[profile publisher]
	aws_access_key_id = $S3_ACCESS_KEY
	aws_secret_access_key = $S3_SECRET_KEY
	EOF
	export AWS_SHARED_CREDENTIALS_FILE=$AWSDIR/credentials AWS_CONFIG_FILE=$AWSDIR/config AWS_PROFILE=publisher &&
	txnflow -C p publish --whoami >who &&
	test_grep "^credentials from shared-config-file$" who &&
	publish_twice file-config config.out
'

test_expect_success 'a wrong profile name is a clear error' '
	export AWS_SHARED_CREDENTIALS_FILE=$AWSDIR/credentials AWS_CONFIG_FILE=$AWSDIR/config &&
	AWS_PROFILE=publsher test_expect_code 4 txnflow -C p publish --date 2025-09-03 2>err &&
	test_grep "AWS_PROFILE .publsher.: no such profile in $AWSDIR/credentials or $AWSDIR/config" err &&
	test_grep "did you mean .publisher.?" err &&
	AWS_PROFILE=publsher test_expect_code 4 txnflow -C p publish --whoami 2>err2 &&
	test_grep "no such profile" err2
'

test_expect_success 'role_arn + source_profile: STS AssumeRole signed with the source keys' '
	cat >>"$AWSDIR/config" <<-EOF &&
	[profile etl]
	role_arn = $ROLE
	source_profile = default
	role_session_name = txnflow-etl
	services = loopback
	[services loopback]
	sts =
	  endpoint_url = $CREDS_ENDPOINT
	EOF
	export AWS_SHARED_CREDENTIALS_FILE=$AWSDIR/credentials AWS_CONFIG_FILE=$AWSDIR/config AWS_PROFILE=etl &&
	creds_stats_reset &&
	txnflow -C p publish --whoami >who &&
	test_grep "^credentials from assume-role$" who &&
	test_grep "role $ROLE from its source, STS at $CREDS_ENDPOINT" who &&
	test_grep "access key  ASIA…" who &&
	test_grep "(renewed before then)" who &&
	publish_twice role role.out &&
	creds_stats >stats &&
	test_grep "\"AssumeRole\":3" stats &&
	test_grep "\"rejected\":0" stats
'

test_expect_success 'a role chained through another role profile, STS from AWS_ENDPOINT_URL_STS' '
	cat >>"$AWSDIR/config" <<-EOF &&
	[profile chained]
	role_arn = arn:aws:iam::123456789012:role/txnflow-second
	source_profile = etl2
	[profile etl2]
	role_arn = $ROLE
	source_profile = default
	EOF
	export AWS_SHARED_CREDENTIALS_FILE=$AWSDIR/credentials AWS_CONFIG_FILE=$AWSDIR/config &&
	creds_stats_reset &&
	AWS_PROFILE=chained AWS_ENDPOINT_URL_STS=$CREDS_ENDPOINT txnflow -C p publish ls chained/ &&
	creds_stats >stats &&
	test_grep "\"AssumeRole\":2" stats
'

test_expect_success 'a role profile whose STS refuses: the error says which role and why' '
	cat >>"$AWSDIR/config" <<-EOF &&
	[profile badrole]
	role_arn = not-an-arn
	source_profile = default
	EOF
	export AWS_SHARED_CREDENTIALS_FILE=$AWSDIR/credentials AWS_CONFIG_FILE=$AWSDIR/config &&
	AWS_PROFILE=badrole AWS_ENDPOINT_URL_STS=$CREDS_ENDPOINT test_expect_code 4 \
		txnflow -C p publish ls 2>err &&
	test_grep "STS AssumeRole at $CREDS_ENDPOINT: HTTP 400 ValidationError: RoleArn .not-an-arn." err
'

test_expect_success 'web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN' '
	export AWS_WEB_IDENTITY_TOKEN_FILE=$AWSDIR/web-token AWS_ROLE_ARN=$ROLE \
		AWS_ROLE_SESSION_NAME=pod-1 AWS_ENDPOINT_URL_STS=$CREDS_ENDPOINT &&
	creds_stats_reset &&
	txnflow -C p publish --whoami >who &&
	test_grep "^credentials from web-identity$" who &&
	test_grep "role $ROLE with token file $AWSDIR/web-token" who &&
	publish_twice web web.out &&
	creds_stats >stats &&
	test_grep "\"AssumeRoleWithWebIdentity\":3" stats
'

test_expect_success 'web identity: a token STS does not accept' '
	printf "not-the-token\n" >bad-token &&
	AWS_WEB_IDENTITY_TOKEN_FILE=$TRASH/bad-token AWS_ROLE_ARN=$ROLE AWS_ENDPOINT_URL_STS=$CREDS_ENDPOINT \
		test_expect_code 4 txnflow -C p publish ls 2>err &&
	test_grep "AssumeRoleWithWebIdentity at $CREDS_ENDPOINT: HTTP 400 InvalidIdentityToken" err &&
	AWS_WEB_IDENTITY_TOKEN_FILE=$TRASH/no-such-file AWS_ROLE_ARN=$ROLE AWS_ENDPOINT_URL_STS=$CREDS_ENDPOINT \
		test_expect_code 1 txnflow -C p publish ls 2>err &&
	test_grep "web identity token: .*no-such-file" err &&
	AWS_ROLE_ARN=$ROLE test_expect_code 4 txnflow -C p publish ls 2>err &&
	test_grep "AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not" err
'

test_expect_success 'container endpoint: AWS_CONTAINER_CREDENTIALS_FULL_URI with a token file' '
	export AWS_CONTAINER_CREDENTIALS_FULL_URI=$CREDS_ENDPOINT/ecs/v2/credentials \
		AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=$AWSDIR/ecs-token &&
	creds_stats_reset &&
	txnflow -C p publish --whoami >who &&
	test_grep "^credentials from container$" who &&
	test_grep "$CREDS_ENDPOINT/ecs/v2/credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI)" who &&
	publish_twice ecs ecs.out &&
	creds_stats >stats &&
	test_grep "\"container\":3" stats &&
	test_grep "\"rejected\":0" stats
'

test_expect_success 'container endpoint: the token in AWS_CONTAINER_AUTHORIZATION_TOKEN; a wrong one; a host not allowed' '
	export AWS_CONTAINER_CREDENTIALS_FULL_URI=$CREDS_ENDPOINT/ecs/v2/credentials &&
	AWS_CONTAINER_AUTHORIZATION_TOKEN=$ECS_TOKEN txnflow -C p publish ls ecs/ >ls &&
	test_grep "^ecs/_manifest.json" ls &&
	AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong test_expect_code 4 txnflow -C p publish ls 2>err &&
	test_grep "container credentials at $CREDS_ENDPOINT/ecs/v2/credentials: HTTP 401" err &&
	AWS_CONTAINER_CREDENTIALS_FULL_URI=http://example.com/creds test_expect_code 4 \
		txnflow -C p publish ls 2>err &&
	test_grep "over http only a loopback address or the ECS/EKS agent" err
'

test_expect_success 'instance metadata: IMDSv2 at AWS_EC2_METADATA_SERVICE_ENDPOINT' '
	unset AWS_EC2_METADATA_DISABLED &&
	export AWS_EC2_METADATA_SERVICE_ENDPOINT=$CREDS_ENDPOINT/ &&
	creds_stats_reset &&
	txnflow -C p publish --whoami >who &&
	test_grep "^credentials from instance-metadata$" who &&
	test_grep "$CREDS_ENDPOINT (IMDSv2, AWS_EC2_METADATA_SERVICE_ENDPOINT)" who &&
	publish_twice imds imds.out &&
	creds_stats >stats &&
	test_grep "\"imds-token\":3" stats &&
	test_grep "\"imds-credentials\":3" stats &&
	test_grep "\"rejected\":0" stats
'

test_expect_success 'the chain order: environment, then the files, then web identity, container, IMDS' '
	unset AWS_EC2_METADATA_DISABLED &&
	export AWS_EC2_METADATA_SERVICE_ENDPOINT=$CREDS_ENDPOINT \
		AWS_CONTAINER_CREDENTIALS_FULL_URI=$CREDS_ENDPOINT/ecs/x AWS_CONTAINER_AUTHORIZATION_TOKEN=$ECS_TOKEN \
		AWS_WEB_IDENTITY_TOKEN_FILE=$AWSDIR/web-token AWS_ROLE_ARN=$ROLE AWS_ENDPOINT_URL_STS=$CREDS_ENDPOINT \
		AWS_SHARED_CREDENTIALS_FILE=$AWSDIR/credentials AWS_CONFIG_FILE=$AWSDIR/config &&
	txnflow -C p publish --whoami >1 &&
	AWS_SHARED_CREDENTIALS_FILE=$AWSDIR/none AWS_CONFIG_FILE=$AWSDIR/none txnflow -C p publish --whoami >2 &&
	unset AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN &&
	AWS_SHARED_CREDENTIALS_FILE=$AWSDIR/none AWS_CONFIG_FILE=$AWSDIR/none txnflow -C p publish --whoami >3 &&
	unset AWS_CONTAINER_CREDENTIALS_FULL_URI &&
	AWS_SHARED_CREDENTIALS_FILE=$AWSDIR/none AWS_CONFIG_FILE=$AWSDIR/none txnflow -C p publish --whoami >4 &&
	AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY txnflow -C p publish --whoami >0 &&
	head -qn1 0 1 2 3 4 >order &&
	printf "credentials from %s\n" environment shared-credentials-file web-identity container instance-metadata >expect &&
	test_cmp expect order
'

test_expect_success 'short-lived keys are renewed during a publish, before they expire' '
	export AWS_WEB_IDENTITY_TOKEN_FILE=$AWSDIR/web-token AWS_ROLE_ARN=$ROLE AWS_ENDPOINT_URL_STS=$CREDS_ENDPOINT &&
	creds_config "{\"duration_s\": 9}" &&
	sed -i "s/^    retry_base_ms: 5$/    credential_refresh_s: 6\n    retry_base_ms: 5/" p/txnflow.yml &&
	creds_stats_reset && s3_stats_reset &&
	s3_fault "[{\"method\":\"PUT\",\"key\":\"day=01\",\"action\":\"slow\",\"delay_ms\":3500,\"count\":1},
	           {\"method\":\"PUT\",\"key\":\"day=03\",\"action\":\"slow\",\"delay_ms\":3500,\"count\":1}]" &&
	set_prefix renew &&
	txnflow -C p publish --date 2025-09-03 --json >out 2>err &&
	test "$(json_field out uploaded)" -gt 7 &&
	creds_stats >stats &&
	n=$(sed -n "s/.*\"AssumeRoleWithWebIdentity\":\([0-9]*\).*/\1/p" stats) &&
	test "$n" -ge 3 &&
	s3_stats >s3stats &&
	! grep ExpiredToken s3stats &&
	s3_check lake list renew/silver/ >remote &&
	s3_local_list p/data renew/ >local &&
	test_cmp local remote
'

test_expect_success 'keys that expire while a part is in flight: ExpiredToken, renewed, the part sent again' '
	export AWS_WEB_IDENTITY_TOKEN_FILE=$AWSDIR/web-token AWS_ROLE_ARN=$ROLE AWS_ENDPOINT_URL_STS=$CREDS_ENDPOINT &&
	creds_config "{\"duration_s\": 7}" &&
	txnflow init mp >/dev/null &&
	cat >>mp/txnflow.yml <<-EOC &&
	publish:
	  s3: { endpoint: "$S3_ENDPOINT", bucket: lake, part_size_mb: 5, multipart_threshold_mb: 5,
	        parallel_parts: 3, credential_refresh_s: 1, retry_base_ms: 5 }
	EOC
	head -c 12000000 /dev/urandom >big.bin &&
	creds_stats_reset && s3_stats_reset &&
	s3_fault "[{\"method\":\"PUT\",\"query\":\"partNumber=2\",\"action\":\"slow\",\"delay_ms\":8000,\"count\":1}]" &&
	txnflow -C mp publish put ../big.bin inflight/big.bin >out 2>err &&
	test_grep "put part 2/3 of inflight/big.bin: HTTP 400 ExpiredToken; credentials renewed, retry 1" err &&
	s3_stats >s3stats &&
	test_grep "\"ExpiredToken\":1" s3stats &&
	test_grep "\"COMPLETE-multipart\":1" s3stats &&
	creds_stats >stats &&
	test_grep "\"AssumeRoleWithWebIdentity\":2" stats &&
	s3_check lake get inflight/big.bin | cmp - big.bin
'

test_expect_success 'environment keys the server calls expired: an error, not a loop' '
	creds_config "{\"duration_s\": 6}" &&
	AWS_WEB_IDENTITY_TOKEN_FILE=$AWSDIR/web-token AWS_ROLE_ARN=$ROLE AWS_ENDPOINT_URL_STS=$CREDS_ENDPOINT \
		txnflow -C p publish --whoami >/dev/null &&
	creds_issued >issued &&
	k=$(node -e "const a = JSON.parse(require(\"fs\").readFileSync(\"issued\")); const k = a[a.length - 1];
		console.log([k.accessKeyId, k.secretAccessKey, k.sessionToken].join(\" \"))") &&
	set -- $k &&
	sleep 7 &&
	s3_stats_reset &&
	{
		AWS_ACCESS_KEY_ID=$1 AWS_SECRET_ACCESS_KEY=$2 AWS_SESSION_TOKEN=$3 \
			"$TXNFLOW" -C p publish ls >out 2>err
		test $? = 4
	} &&
	test_grep "the server says the credentials from environment have expired" err &&
	test_line_count = 1 err &&
	s3_stats >s3stats &&
	test_grep "\"ExpiredToken\":1" s3stats
'

test_expect_success 'no secret in any output, log line, metadata row, process argument or environment' '
	export AWS_WEB_IDENTITY_TOKEN_FILE=$AWSDIR/web-token AWS_ROLE_ARN=$ROLE AWS_ENDPOINT_URL_STS=$CREDS_ENDPOINT \
		TXNFLOW_LOG_LEVEL=debug &&
	creds_config "{\"duration_s\": 3600}" &&
	set_prefix secrets &&
	s3_fault "[{\"method\":\"PUT\",\"key\":\"day=03\",\"action\":\"slow\",\"delay_ms\":3000,\"count\":1}]" &&
	{ "$TXNFLOW" -C p publish --date 2025-09-03 -v >bg.out 2>bg.err & pid=$!; } &&
	sleep 1.5 &&
	tr "\0" "\n" </proc/$pid/cmdline >bg.cmdline &&
	tr "\0" "\n" </proc/$pid/environ >bg.environ &&
	for c in $(cat /proc/$pid/task/*/children); do
		tr "\0" "\n" </proc/$c/cmdline >>bg.cmdline || return 1
	done &&
	wait $pid &&
	test_grep "s3: put secrets/silver" bg.err &&
	creds_secrets >secrets &&
	printf "%s\n" "$S3_SECRET_KEY" "$WEB_TOKEN" "$ECS_TOKEN" >>secrets &&
	test_line_count -gt 20 secrets &&
	! grep -F -f secrets bg.cmdline bg.environ &&
	ls -d *.out *.err *.again who* err* out* ls stats* order 0 1 2 3 4 p/data mp/data >places &&
	! grep -rlaF -f secrets $(cat places) &&
	sqlite3 p/data/txnflow.db .dump >dump.sql &&
	test_grep "secrets/_manifest.json" dump.sql &&
	! grep -F -f secrets dump.sql
'

test_done
