#!/bin/bash
# The binary's contract: help, version, exit codes, unknown commands and
# options, -C, init and status on a new project.
. "$(dirname "$0")/../lib/test-lib.sh"

test_expect_success '--help lists the commands and exits 0' '
	txnflow --help >out &&
	test_grep "usage: txnflow" out &&
	test_grep "^  init " out &&
	test_grep "^  status " out
'

test_expect_success 'no command is a usage error (2)' '
	test_expect_code 2 txnflow 2>err &&
	test_grep "usage: txnflow" err
'

test_expect_success '--version' '
	txnflow --version >out &&
	test_grep "^txnflow [0-9]" out
'

test_expect_success 'unknown command exits 2 and names the closest one' '
	test_expect_code 2 txnflow stauts 2>err &&
	test_grep "'"'"'stauts'"'"' is not a txnflow command (did you mean '"'"'status'"'"'?)" err &&
	test_expect_code 2 txnflow nosuch 2>err &&
	test_grep "nosuch" err
'

test_expect_success 'unknown global option exits 2' '
	test_expect_code 2 txnflow --verison 2>err &&
	test_grep "did you mean '"'"'--version'"'"'" err
'

test_expect_success 'unknown command option exits 2 and names the closest' '
	test_expect_code 2 txnflow status --jsn 2>err &&
	test_grep "unknown option '"'"'--jsn'"'"' (did you mean '"'"'--json'"'"'?)" err &&
	test_expect_code 2 txnflow status --last 2>err &&
	test_grep "requires a value" err &&
	test_expect_code 2 txnflow status -x 2>err &&
	test_grep "unknown option '"'"'-x'"'"'" err
'

test_expect_success 'an option that takes no value, given one, is named' '
	test_expect_code 2 txnflow status --json=1 2>err &&
	test_grep "option .--json. does not take a value" err &&
	! grep "did you mean" err
'

test_expect_success 'an unknown subcommand names the closest' '
	test_expect_code 2 txnflow lineage exprt 2>err &&
	test_grep "unknown subcommand .exprt. (did you mean .export.?)" err &&
	test_expect_code 2 txnflow parquet inspcet x.parquet 2>err &&
	test_grep "unknown subcommand .inspcet. (did you mean .inspect.?)" err &&
	test_expect_code 2 txnflow models biuld 2>err &&
	test_grep "unknown subcommand .biuld. (did you mean .build.?)" err
'

test_expect_success 'every command has --help with usage and an example' '
	txnflow --help | sed -n "/^Commands:/,/^$/p" | awk "NF>1 {print \$1}" >cmds &&
	test_line_count -gt 2 cmds &&
	while read c; do
		txnflow $c --help >h || { echo "no --help for $c"; exit 1; }
		grep -q "^usage: txnflow" h || { echo "no usage for $c"; exit 1; }
		grep -q "^Options:" h || { echo "no options for $c"; exit 1; }
		grep -q "^Example" h || { echo "no example for $c"; exit 1; }
	done <cmds
'

test_expect_success 'help CMD is CMD --help' '
	txnflow help init >a &&
	txnflow init --help >b &&
	test_cmp a b
'

test_expect_success 'init scaffolds a project' '
	txnflow init p >out &&
	test_path_is_file p/txnflow.yml &&
	test_path_is_file p/profiles.yml &&
	test_path_is_dir p/models &&
	test_path_is_dir p/seeds &&
	test_path_is_dir p/tests &&
	test_grep "timezone: Asia/Seoul" p/txnflow.yml &&
	test_grep "type: duckdb" p/profiles.yml &&
	# DuckDB bounded (decision 1801, twentieth round); t3020 shows that
	# the settings of a profile reach the models
	test_grep "^        memory_limit: 2GB$" p/profiles.yml
'

test_expect_success 'init writes the default project; --empty leaves the folders empty' '
	test "$(find p/models -name "*.sql" | wc -l)" = 18 &&
	test "$(find p/tests -name "*.sql" | wc -l)" = 5 &&
	test_path_is_file p/seeds/mcc_codes.csv &&
	test_path_is_file p/macros/incremental.sql &&
	txnflow init --empty e >out &&
	test_path_is_file e/txnflow.yml &&
	test_path_is_file e/profiles.yml &&
	for d in models seeds tests macros; do
		test_path_is_dir e/$d && test -z "$(ls -A e/$d)" || exit 1
	done &&
	txnflow -C e models build >out &&
	test_grep "Done: 0 ok, 0 error" out
'

test_expect_success 'init refuses a non-empty directory and changes nothing' '
	cp p/txnflow.yml before &&
	test_expect_code 4 txnflow init p 2>err &&
	test_grep "already exists" err &&
	test_cmp before p/txnflow.yml
'

test_expect_success 'status on a new project says no runs yet (-C)' '
	txnflow -C p status >out &&
	test_grep "no runs yet" out &&
	txnflow -C p status --json >out.json &&
	test_grep "\"runs\": \[\]" out.json
'

test_expect_success 'status outside a project fails with a clear error' '
	mkdir empty &&
	test_expect_code 4 txnflow -C empty status 2>err &&
	test_grep "not in a txnflow project" err
'

test_expect_success '-C to a missing directory fails' '
	test_expect_code 1 txnflow -C nowhere status 2>err &&
	test_grep "cannot change to" err
'

test_expect_success 'a bad txnflow.yml names file, line, column and key' '
	txnflow init bad &&
	sed -i "s/^timezone:/timzone:/" bad/txnflow.yml &&
	test_expect_code 4 txnflow -C bad status 2>err &&
	test_grep "txnflow.yml:[0-9]*:1: unknown key '"'"'timzone'"'"'" err &&
	test_grep "did you mean '"'"'timezone'"'"'" err
'

# Ranges are checked when txnflow.yml loads, so every command reports
# them, not only `run` (issue 16).
test_expect_success 'out-of-range settings stop every command, with file:line:col' '
	txnflow init rng &&
	cp rng/txnflow.yml good.yml &&
	for bad in "retries: 99999999999999999999999" "retries: -1" "retries: 2.5" \
		"timeout: 99999999999999999d" "retry_delay: -5s" "data_dir: /nonexistent/x"; do
		key=${bad%%:*} &&
		{ grep -v "^$key:" good.yml; echo "$bad"; } >rng/txnflow.yml &&
		line=$(wc -l <rng/txnflow.yml) &&
		test_expect_code 4 txnflow -C rng status 2>err &&
		test_grep "txnflow.yml:$line:[0-9]*: key '"'"'$key'"'"'" err &&
		test_expect_code 4 txnflow -C rng sql "SELECT 1" 2>err &&
		test_grep "txnflow.yml:$line:" err || { echo "for: $bad"; exit 1; }
	done &&
	test_path_is_missing /nonexistent &&
	: >rng/txnflow.yml &&
	test_expect_code 4 txnflow -C rng status 2>err &&
	test_grep "txnflow.yml:1:1: .*empty" err
'

test_expect_success 'a bad profiles.yml names file, line, column and key' '
	txnflow init badp &&
	sed -i "s/^  target: dev/  targt: dev/" badp/profiles.yml &&
	test_expect_code 4 txnflow -C badp models ls 2>err &&
	test_grep "profiles.yml:4:3: unknown key .targt. in profile .badp. (did you mean .target.?)" err &&
	sed -i "s/^  targt: dev/  target: dev/; s/^      path:/      pth:/" badp/profiles.yml &&
	test_expect_code 4 txnflow -C badp models ls 2>err &&
	test_grep "profiles.yml:8:7: unknown key .pth. in badp.outputs.dev (did you mean .path.?)" err &&
	sed -i "s/^      pth:/      path:/; s/threads: 2/threads: lots/" badp/profiles.yml &&
	test_expect_code 4 txnflow -C badp models ls 2>err &&
	test_grep "profiles.yml:9:16: key .badp.outputs.dev.threads.: expected an integer 1..64, got .lots." err &&
	sed -i "s/threads: lots/threads: 2/" badp/profiles.yml &&
	txnflow -C badp models ls >out &&
	test_grep stg_transactions out
'

test_expect_success 'status shows the runs recorded in the metadata database' '
	test_path_is_file p/data/txnflow.db &&
	sqlite3 p/data/txnflow.db <<-SQL &&
	INSERT INTO runs(run_id, logical_date, state, started_at_us, ended_at_us) VALUES (1, "2025-09-01", "success", 0, 5000000);
	INSERT INTO task_attempts(run_id, task, attempt, state, started_at_us, ended_at_us) VALUES (1, "clean", 1, "failed", 0, 1000000), (1, "clean", 2, "success", 1000000, 3000000);
	INSERT INTO runs(run_id, logical_date, state) VALUES (2, "2025-09-02", "failed");
	INSERT INTO sla_misses(logical_date, run_id, deadline_us, detected_at_us) VALUES ("2025-09-02", 2, 0, 0);
	SQL
	txnflow -C p status >out &&
	test_grep "^2025-09-02 *failed.*SLA missed" out &&
	test_grep "^2025-09-01 *success *success x2 2.0s" out &&
	txnflow -C p status --json --last 1 >j &&
	test_grep "\"logical_date\": \"2025-09-02\"" j &&
	! grep -q 2025-09-01 j
'

test_done
