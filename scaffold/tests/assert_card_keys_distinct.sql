-- No two cards share a window key (window_key(): on DuckDB a 64-bit hash
-- of the card id, which int_fraud_card_day's windows partition by instead
-- of the text). Rows returned are keys held by more than one card: the
-- card rules would count their attempts together.
SELECT {{ window_key('card_id') }} AS card_key, COUNT(DISTINCT card_id) AS n_cards
FROM {{ ref('int_customer_cards') }}
GROUP BY {{ window_key('card_id') }}
HAVING COUNT(DISTINCT card_id) > 1
