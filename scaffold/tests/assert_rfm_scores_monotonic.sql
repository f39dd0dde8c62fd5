-- Tie-aware scores: equal values get equal scores, and a better value never
-- gets a lower score. Rows returned are pairs that break it.
WITH r AS (SELECT * FROM {{ ref('mart_rfm_customer') }})
SELECT 'recency' AS measure, recency_days AS value, MIN(r_score) AS lo, MAX(r_score) AS hi
FROM r GROUP BY recency_days HAVING MIN(r_score) <> MAX(r_score)
UNION ALL
SELECT 'frequency', frequency, MIN(f_score), MAX(f_score)
FROM r GROUP BY frequency HAVING MIN(f_score) <> MAX(f_score)
UNION ALL
SELECT 'monetary', monetary_krw, MIN(m_score), MAX(m_score)
FROM r GROUP BY monetary_krw HAVING MIN(m_score) <> MAX(m_score)
