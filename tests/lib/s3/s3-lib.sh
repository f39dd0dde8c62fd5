# Start and stop the loopback S3 test server (server.js: s3rver behind a
# SigV4-checking, fault-injecting proxy) from a test script. Source after
# test-lib.sh:
#
#   . "$ROOT/tests/lib/s3/s3-lib.sh"
#   s3_start lake            # bucket "lake"; sets S3_PORT, S3_ENDPOINT
#   s3_check list txnflow/   # the AWS SDK's view of the bucket
#   s3_fault '[{"method":"PUT","action":"status","status":503,"count":2}]'
#   s3_policy '{"require_sse":"aws:kms"}'   # what the bucket demands
#
# The same process serves the credential endpoints (aws-creds.js: STS, the
# container endpoint, IMDSv2) on CREDS_ENDPOINT; the keys they issue are
# accepted by the S3 proxy until they expire (creds_config, creds_issued,
# creds_stats).
#
# The server listens on a free loopback port (the kernel picks it) and is
# stopped on exit by a trap (which also stops tests/lib/pg.sh's server when
# that is sourced first). The credentials it accepts are exported as the
# AWS_* variables; a test that wants a wrong secret overrides them.
#
# Nothing of the machine's own AWS setup reaches a test: the shared files
# are pointed at names that do not exist, the instance metadata service is
# off, and every other variable of the credential chain is unset (a test
# of the chain sets what it needs; see t5040).

S3_DIR=$ROOT/tests/lib/s3
S3_ACCESS_KEY=txnflow-test
S3_SECRET_KEY=txnflow-secret
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_REGION AWS_REGION \
	AWS_CREDENTIAL_EXPIRATION AWS_ROLE_ARN AWS_ROLE_SESSION_NAME \
	AWS_WEB_IDENTITY_TOKEN_FILE AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
	AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_AUTHORIZATION_TOKEN \
	AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE AWS_ENDPOINT_URL \
	AWS_ENDPOINT_URL_STS AWS_EC2_METADATA_SERVICE_ENDPOINT \
	AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
export AWS_SHARED_CREDENTIALS_FILE=$TRASH/.aws-none/credentials \
	AWS_CONFIG_FILE=$TRASH/.aws-none/config AWS_EC2_METADATA_DISABLED=true
export NODE_PATH=$ROOT/node_modules

s3_stop() {
	if [ -n "${S3_PID:-}" ]; then
		kill "$S3_PID" 2>/dev/null
		wait "$S3_PID" 2>/dev/null
		S3_PID=
	fi
}

# s3_start BUCKET...
s3_start() {
	_s3_state=$TRASH/.s3
	rm -rf "$_s3_state" && mkdir -p "$_s3_state"
	_args=""
	for _b in "$@"; do _args="$_args --bucket $_b"; done
	node "$S3_DIR/server.js" --dir "$_s3_state/data" \
		--port-file "$_s3_state/port" $_args \
		--creds-port-file "$_s3_state/creds-port" \
		--access-key "$S3_ACCESS_KEY" --secret "$S3_SECRET_KEY" \
		>"$_s3_state/server.log" 2>&1 &
	S3_PID=$!
	# one EXIT trap for both servers when a script also uses pg.sh
	if type pg_stop >/dev/null 2>&1; then
		trap 's3_stop; pg_stop' EXIT
	else
		trap 's3_stop' EXIT
	fi
	_i=0
	while [ ! -s "$_s3_state/port" ]; do
		_i=$((_i + 1))
		if [ $_i -gt 300 ] || ! kill -0 "$S3_PID" 2>/dev/null; then
			echo "s3 test server did not start:" >&2
			cat "$_s3_state/server.log" >&2
			return 1
		fi
		sleep 0.05
	done
	S3_PORT=$(cat "$_s3_state/port")
	S3_ENDPOINT=http://127.0.0.1:$S3_PORT
	CREDS_PORT=$(cat "$_s3_state/creds-port")
	CREDS_ENDPOINT=http://127.0.0.1:$CREDS_PORT
	export S3_PORT S3_ENDPOINT CREDS_PORT CREDS_ENDPOINT
}

# s3_check BUCKET CMD ARGS...: the AWS SDK for JavaScript on the server
s3_check() {
	_b=$1
	shift
	AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY \
		timeout 120 node --no-warnings "$S3_DIR/check.js" "$S3_ENDPOINT" "$_b" "$@"
}

# s3_local_list DATA_DIR PREFIX: what `s3_check BUCKET list PREFIX` shows
# once the silver partitions of DATA_DIR are published under PREFIX
s3_local_list() {
	(cd "$1" && for _f in silver/transactions/*/*/*/*.parquet; do
		printf "%s%s\t%s\t%s\n" "$2" "$_f" "$(stat -c %s "$_f")" "$(sha256sum "$_f" | cut -d" " -f1)"
	done)
}

# s3_fault JSON: queue fault rules (see server.js)
s3_fault() {
	curl -sf -X POST --data-binary "$1" "$S3_ENDPOINT/__faults" >/dev/null
}

s3_faults_clear() {
	curl -sf -X DELETE "$S3_ENDPOINT/__faults" >/dev/null
}

# s3_stats: the server's counters as JSON; s3_stats_reset zeroes them
s3_stats() {
	curl -sf "$S3_ENDPOINT/__stats"
}

s3_stats_reset() {
	curl -sf -X DELETE "$S3_ENDPOINT/__stats" >/dev/null
}

# _s3_ctl METHOD URL [BODY]: a control request to the test servers
_s3_ctl() {
	curl -sf -X "$1" ${3:+--data-binary "$3"} "$2"
}

# s3_policy JSON: what the bucket demands (see server.js); s3_policy_clear
s3_policy() { _s3_ctl POST "$S3_ENDPOINT/__policy" "$1" >/dev/null; }
s3_policy_clear() { _s3_ctl DELETE "$S3_ENDPOINT/__policy" >/dev/null; }

# s3_objects: each object's encryption and checksum as the server keeps them
s3_objects() { _s3_ctl GET "$S3_ENDPOINT/__objects"; }

# creds_config JSON: settings of the credential endpoints (aws-creds.js)
creds_config() { _s3_ctl POST "$CREDS_ENDPOINT/__config" "$1" >/dev/null; }

# creds_issued: every temporary key issued, secrets included, as JSON
creds_issued() { _s3_ctl GET "$CREDS_ENDPOINT/__issued"; }

# creds_secrets: the secret keys and session tokens issued, one a line
creds_secrets() {
	creds_issued | node -e '
		let s = ""; process.stdin.on("data", (c) => (s += c));
		process.stdin.on("end", () => {
			for (const k of JSON.parse(s)) console.log(k.secretAccessKey + "\n" + k.sessionToken);
		});'
}

# creds_stats: the credential endpoints' counters; creds_stats_reset
creds_stats() { _s3_ctl GET "$CREDS_ENDPOINT/__stats"; }
creds_stats_reset() { _s3_ctl DELETE "$CREDS_ENDPOINT/__stats" >/dev/null; }
