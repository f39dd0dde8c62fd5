# Helpers for the serve tests (sourced after tests/lib/test-lib.sh).

# make_fixture_project DIR: a project whose metadata database, warehouse,
# manifest and logs come from tests/data/serve (no pipeline run needed),
# and whose Business page charts the fixture's marts (dashboard.yml).
make_fixture_project() {
	txnflow init "$1" >/dev/null &&
	sed -i "/^dashboard:/,\$d" "$1/txnflow.yml" &&
	cat "$TEST_DATA/serve/dashboard.yml" >>"$1/txnflow.yml" &&
	sqlite3 "$1/data/txnflow.db" <"$TEST_DATA/serve/metadata.sql" &&
	txnflow -C "$1" sql --write "$(cat "$TEST_DATA/serve/warehouse.sql")" >/dev/null &&
	mkdir -p "$1/target" "$1/data/logs/2025-09-02/clean" &&
	cp "$TEST_DATA/serve/manifest.json" "$1/target/manifest.json" &&
	echo "clean attempt 2: <b>retried</b> and succeeded" >"$1/data/logs/2025-09-02/clean/attempt-2.log" &&
	echo "clean failed: bad manifest" >"$1/data/logs/2025-09-02/clean/attempt-1.log"
}

# start_server NAME ARGS...: run `txnflow ARGS` (a serve command with
# --port 0) in the background; NAME.pid, NAME.out; sets nothing, prints the
# base URL on stdout once the server listens.
start_server() {
	_n=$1
	shift
	rm -f "$TRASH/$_n.rc" "$TRASH/$_n.pid"
	( "$TXNFLOW" "$@" >"$TRASH/$_n.out" 2>"$TRASH/$_n.err" &
	  echo $! >"$TRASH/$_n.pid.tmp" && mv "$TRASH/$_n.pid.tmp" "$TRASH/$_n.pid"
	  wait $!
	  echo $? >"$TRASH/$_n.rc" ) &
	for _i in $(seq 1 100); do [ -f "$TRASH/$_n.pid" ] && break; sleep 0.02; done
	for _i in $(seq 1 200); do
		_url=$(sed -n 's|^txnflow serve: \(http://[^ ]*\)/ .*|\1|p' "$TRASH/$_n.out")
		if [ -n "$_url" ]; then
			echo "$_url"
			return 0
		fi
		kill -0 "$(cat "$TRASH/$_n.pid")" 2>/dev/null || { cat "$TRASH/$_n.err" >&2; return 1; }
		sleep 0.05
	done
	echo "server did not start" >&2
	return 1
}

# stop_server NAME: SIGTERM the server started by start_server, wait for
# it, and fail unless it exited 0 (a sanitizer report exits non-zero).
stop_server() {
	_pid=$(cat "$TRASH/$1.pid" 2>/dev/null) || return 1
	kill -TERM "$_pid" 2>/dev/null
	for _i in $(seq 1 200); do
		kill -0 "$_pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$_pid" 2>/dev/null; then
		kill -KILL "$_pid"
		echo "server $1 did not stop" >&2
		return 1
	fi
	for _i in $(seq 1 100); do [ -f "$TRASH/$1.rc" ] && break; sleep 0.02; done
	rm -f "$TRASH/$1.pid"
	_rc=$(cat "$TRASH/$1.rc" 2>/dev/null)
	[ "$_rc" = 0 ] || { echo "server $1 exited '$_rc'" >&2; cat "$TRASH/$1.err" >&2; return 1; }
	! grep -q "ERROR: \(Address\|Leak\)Sanitizer\|runtime error:" "$TRASH/$1.err" || { cat "$TRASH/$1.err" >&2; return 1; }
}

# half_open N URL: open N connections to URL's server that send the start
# of a request and then nothing; they stay open in the calling shell (a
# test body's subshell closes them when it ends). $half_open_fd is the
# last one.
half_open() {
	for _i in $(seq "$1"); do
		exec {half_open_fd}<>"/dev/tcp/127.0.0.1/${2##*:}" &&
		printf "GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n" >&$half_open_fd ||
			return 1
	done
}

# Kill any server a failed test left behind (only the ones we started).
kill_servers() {
	for _f in "$TRASH"/*.pid; do
		[ -f "$_f" ] && kill -KILL "$(cat "$_f")" 2>/dev/null
	done
	return 0
}
