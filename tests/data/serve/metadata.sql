-- A small metadata database for the serve tests: three logical dates, four
-- tasks, a retried task, a failed run, a late run that missed its SLA,
-- clean reconciliations (one that does not add up), tests with a failure
-- and its sample, partitions, quarantine counts, and values with HTML in
-- them that must be shown as text. Times are UTC microseconds.
-- 2025-09-01 06:00 KST = 2025-08-31T21:00:00Z = 1756674000000000
INSERT INTO runs(run_id, logical_date, kind, state, started_at_us, ended_at_us, sla_deadline_us) VALUES
 (1, '2025-09-01', 'scheduled', 'success', 1756674000000000, 1756674120000000, 1756681200000000),
 (2, '2025-09-02', 'scheduled', 'failed',  1756760400000000, 1756760460000000, 1756767600000000),
 (3, '2025-09-02', 'manual',    'success', 1756761000000000, 1756761150000000, 1756767600000000),
 (4, '2025-09-03', 'scheduled', 'success', 1756846800000000, 1756857600000000, 1756854000000000);
INSERT INTO sla_misses(logical_date, run_id, deadline_us, detected_at_us) VALUES
 ('2025-09-03', 4, 1756854000000000, 1756854000500000);
INSERT INTO task_attempts(attempt_id, run_id, task, attempt, state, started_at_us, ended_at_us, exit_status, error, log_path) VALUES
 (1, 1, 'generate', 1, 'success', 1756674000000000, 1756674010000000, 0, NULL, 'logs/2025-09-01/generate/attempt-1.log'),
 (2, 1, 'clean',    1, 'success', 1756674010000000, 1756674040000000, 0, NULL, 'logs/2025-09-01/clean/attempt-1.log'),
 (3, 1, 'models',   1, 'success', 1756674040000000, 1756674110000000, 0, NULL, 'logs/2025-09-01/models/attempt-1.log'),
 (4, 1, 'publish',  1, 'skipped', NULL, NULL, NULL, NULL, NULL),
 (5, 2, 'generate', 1, 'success', 1756760400000000, 1756760410000000, 0, NULL, NULL),
 (6, 2, 'clean',    1, 'failed',  1756760410000000, 1756760460000000, 1, 'bad <b>manifest</b>', 'logs/2025-09-02/clean/attempt-1.log'),
 (7, 3, 'generate', 1, 'success', 1756761000000000, 1756761010000000, 0, NULL, NULL),
 (8, 3, 'clean',    1, 'up_for_retry', 1756761010000000, 1756761030000000, 1, 'transient', NULL),
 (9, 3, 'clean',    2, 'success', 1756761040000000, 1756761070000000, 0, NULL, 'logs/2025-09-02/clean/attempt-2.log'),
 (10, 3, 'models',  1, 'success', 1756761070000000, 1756761150000000, 0, NULL, NULL),
 (11, 3, 'publish', 1, 'skipped', NULL, NULL, NULL, NULL, NULL),
 (12, 4, 'generate', 1, 'success', 1756846800000000, 1756846810000000, 0, NULL, NULL),
 (13, 4, 'clean',    1, 'success', 1756846810000000, 1756850400000000, 0, NULL, NULL),
 (14, 4, 'models',   1, 'success', 1756850400000000, 1756857600000000, 0, NULL, NULL),
 (15, 4, 'publish',  1, 'skipped', NULL, NULL, NULL, NULL, '../../etc/passwd');
INSERT INTO clean_runs(clean_id, ingest_date, started_at_us, ended_at_us, state, lines_read, inserted, updated, duplicates, stale, quarantined, ties, partitions_rewritten, details_json) VALUES
 (1, '2025-09-01', 1756674010000000, 1756674040000000, 'success', 1000, 950, 0, 20, 0, 30, 0, 2, '{"partitions_rewritten":["2025-08-31","2025-09-01"]}'),
 (2, '2025-09-02', 1756761040000000, 1756761070000000, 'success', 1010, 900, 50, 25, 5, 30, 1, 3, '{"partitions_rewritten":["2025-08-31","2025-09-01","2025-09-02"]}'),
 (3, '2025-09-03', 1756846810000000, 1756850400000000, 'success', 1020, 940, 40, 20, 3, 16, 0, 2, '{"partitions_rewritten":["2025-09-02","2025-09-03"]}');
INSERT INTO quarantine_counts(clean_id, reason, n) VALUES
 (1, 'bad_amount', 20), (1, 'bad_timestamp', 10),
 (2, 'bad_amount', 18), (2, 'bad_currency', 12),
 (3, 'bad_amount', 10), (3, 'column_count', 7);
INSERT INTO partition_commits(commit_id, clean_id, partition, n_rows, size_bytes, sha256, committed_at_us) VALUES
 (1, 1, '2025-08-31', 300, 20000, 'aaaaaaaaaaaaaaaaaaaa', 1756674039000000),
 (2, 1, '2025-09-01', 650, 40000, 'bbbbbbbbbbbbbbbbbbbb', 1756674039000000),
 (3, 2, '2025-08-31', 310, 20500, 'cccccccccccccccccccc', 1756761069000000),
 (4, 2, '2025-09-01', 700, 42000, 'dddddddddddddddddddd', 1756761069000000),
 (5, 2, '2025-09-02', 640, 39000, 'eeeeeeeeeeeeeeeeeeee', 1756761069000000),
 (6, 3, '2025-09-02', 660, 40100, 'ffffffffffffffffffff', 1756850399000000),
 (7, 3, '2025-09-03', 670, 40500, '11111111111111111111', 1756850399000000);
INSERT INTO model_builds(invocation_id, model, materialized, state, n_rows, started_at_us, duration_us, logical_date) VALUES
 ('inv3', 'stg_transactions', 'view', 'success', 2930, 1756850400000000, 1000000, '2025-09-03'),
 ('inv3', 'fact_transactions', 'incremental', 'success', 2800, 1756850401000000, 3000000, '2025-09-03'),
 ('inv3', 'mart_sales_daily', 'table', 'success', 6, 1756850404000000, 2000000, '2025-09-03');
INSERT INTO test_results(invocation_id, model, test_name, severity, status, failures, sample_json, message, started_at_us, duration_us, logical_date) VALUES
 ('inv1', 'fact_transactions', 'unique_fact_transactions_transaction_id', 'error', 'pass', 0, NULL, NULL, 1756674100000000, 1000, '2025-09-01'),
 ('inv1', 'mart_sales_daily', 'not_null_mart_sales_daily_net_sales', 'error', 'pass', 0, NULL, NULL, 1756674100000000, 1000, '2025-09-01'),
 ('inv2', 'fact_transactions', 'unique_fact_transactions_transaction_id', 'error', 'pass', 0, NULL, NULL, 1756761100000000, 1000, '2025-09-02'),
 ('inv2', 'mart_sales_daily', 'not_null_mart_sales_daily_net_sales', 'error', 'pass', 0, NULL, NULL, 1756761100000000, 1000, '2025-09-02'),
 ('inv3', 'fact_transactions', 'unique_fact_transactions_transaction_id', 'error', 'pass', 0, NULL, NULL, 1756857000000000, 1000, '2025-09-03'),
 ('inv3', 'mart_sales_daily', 'not_null_mart_sales_daily_net_sales', 'error', 'pass', 0, NULL, NULL, 1756857000000000, 1000, '2025-09-03'),
 ('inv3', 'mart_sales_daily', 'accepted_values_mart_sales_daily_channel', 'warn', 'fail', 2, '[{"channel":"<img src=x onerror=alert(1)>","n":1},{"channel":"fax","n":1}]', 'got values outside online, pos, mobile', 1756857000000000, 1000, '2025-09-03');
