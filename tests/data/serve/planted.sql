-- Planted on top of metadata.sql by the browser test: a failing
-- error-severity test on the latest date, and a late run (2025-09-04
-- finished after its SLA deadline) with its SLA miss.
INSERT INTO test_results(invocation_id, model, test_name, severity, status, failures, sample_json, logical_date)
VALUES ('inv3', 'fact_transactions', 'relationships_fact_transactions_customer_id', 'error', 'fail', 3,
        '[{"customer_id":"c404"},{"customer_id":"c405"},{"customer_id":"c406"}]', '2025-09-03');
INSERT INTO runs(run_id, logical_date, state, started_at_us, ended_at_us, sla_deadline_us)
VALUES (5, '2025-09-04', 'success', 1756933200000000, 1756944000000000, 1756940400000000);
INSERT INTO task_attempts(run_id, task, attempt, state, started_at_us, ended_at_us)
VALUES (5, 'clean', 1, 'success', 1756933200000000, 1756944000000000);
INSERT INTO sla_misses(logical_date, run_id, deadline_us, detected_at_us)
VALUES ('2025-09-04', 5, 1756940400000000, 1756940401000000);
