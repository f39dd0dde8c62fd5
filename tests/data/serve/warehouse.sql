CREATE TABLE mart_sales_daily AS SELECT * FROM (VALUES
 (DATE '2025-09-01', 'Grocery', 'pos', 120000.00::DECIMAL(18,2), 5000.00::DECIMAL(18,2), 115000.00::DECIMAL(18,2), 10),
 (DATE '2025-09-01', 'Travel', 'online', 300000.00, 0.00, 300000.00, 2),
 (DATE '2025-09-02', 'Grocery', 'mobile', 80000.50, 0.00, 80000.50, 7),
 (DATE '2025-09-02', '<script>alert(1)</script>', 'online', 1000.00, 0.00, 1000.00, 1),
 (DATE '2025-09-03', 'Grocery', 'pos', 99000.00, 1000.00, 98000.00, 9),
 (DATE '2025-09-03', 'Travel', 'online', 1250000.25, 250000.00, 1000000.25, 3)
) t(sales_date, category, channel, gross_sales, refunds, net_sales, txn_count);
CREATE TABLE mart_rfm_customer AS SELECT * FROM (VALUES
 ('c1', DATE '2025-09-03', 5, 5, 5, 'Champions', 500000.00::DECIMAL(18,2)),
 ('c2', DATE '2025-09-03', 4, 4, 3, 'Loyal', 120000.00),
 ('c3', DATE '2025-09-03', 1, 2, 2, 'At risk', 30000.00),
 ('c4', DATE '2025-09-03', 5, 4, 5, 'Champions', 410000.00)
) t(customer_id, as_of_date, r_score, f_score, m_score, segment, monetary);
CREATE TABLE mart_customer_ltv AS SELECT * FROM (VALUES
 ('c1', 1500000.00::DECIMAL(18,2)), ('c2', 300000.00), ('c3', 45000.00), ('c4', 900000.00)
) t(customer_id, ltv);
CREATE TABLE mart_fraud_signals AS SELECT * FROM (VALUES
 ('t9', 'card9', TIMESTAMP '2025-09-03 10:00:00', 'velocity', 'card used 6 times in 5 minutes'),
 ('t7', 'card7', TIMESTAMP '2025-09-02 09:00:00', 'foreign_online', '<b>bold</b> merchant')
) t(transaction_id, card_id, txn_ts, rule, detail);
