# A throwaway PostgreSQL server for a test script: a cluster in a temp
# dir on a free loopback port, with password (SCRAM) authentication,
# stopped and removed when the script exits. Source it after test-lib.sh:
#
#   . "$(dirname "$0")/../lib/pg.sh"
#   pg_start            # sets PGPORT, PGHOST, PGUSER, PGDATABASE, PGPASSWORD
#                       # and TXNFLOW_PG_PASSWORD (the same password)
#   psql_q "SELECT 1"   # one value, unaligned, no header
#   pg_profile p        # an output pg in project p's profiles.yml
#   pg_target p         # ... and p's warehouse load (load:) goes to it
#
# Debian's postgresql package (make deps) provides the binaries.

PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
PGTMP=$(mktemp -d /tmp/txnflow-pg.XXXXXX)
PG_PASSWORD=pg-secret-$$
as_pg() { # initdb refuses root: run the server as the postgres user
	if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}
pg_stop() {
	as_pg "$PGBIN/pg_ctl -D $PGTMP/data -m immediate stop" >/dev/null 2>&1
	rm -rf "$PGTMP"
}
trap pg_stop EXIT
pg_start() {
	[ "$(id -u)" = 0 ] && chown postgres "$PGTMP"
	printf "%s\n" "$PG_PASSWORD" >"$PGTMP/pw" && chmod 600 "$PGTMP/pw"
	[ "$(id -u)" = 0 ] && chown postgres "$PGTMP/pw"
	as_pg "$PGBIN/initdb -D $PGTMP/data -U txnflow --pwfile=$PGTMP/pw -A scram-sha-256 --no-sync" >"$PGTMP/initdb.log" 2>&1 ||
		{ cat "$PGTMP/initdb.log"; exit 1; }
	for _try in 1 2 3 4 5; do
		PGPORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
		as_pg "$PGBIN/pg_ctl -D $PGTMP/data -l $PGTMP/log -w -t 60 -o '-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGTMP -c fsync=off -c synchronous_commit=off -c full_page_writes=off' start" >/dev/null 2>&1 && break
	done
	export PGPORT PGHOST=127.0.0.1 PGUSER=txnflow PGDATABASE=postgres PGPASSWORD=$PG_PASSWORD
	export TXNFLOW_PG_PASSWORD=$PG_PASSWORD
}
psql_q() { psql -X -A -t -q -c "$1"; }
# pg_profile DIR: an output `pg` in project DIR's profiles.yml that
# connects to this server (the password from TXNFLOW_PG_PASSWORD); point
# load.target or --target at it
pg_profile() {
	cat >>"$1/profiles.yml" <<-EOC
	    pg:
	      type: postgres
	      host: 127.0.0.1
	      port: $PGPORT
	      user: txnflow
	      password: "{{ env_var('TXNFLOW_PG_PASSWORD') }}"
	      dbname: postgres
	      schema: public
	      sslmode: disable
	EOC
}
# pg_target DIR: pg_profile DIR, and DIR's txnflow.yml loads its
# warehouse there (load.target: pg)
pg_target() {
	cat >>"$1/txnflow.yml" <<-EOC &&
	load: { target: pg }
	EOC
	pg_profile "$1"
}
