{{ config(audit='full') }}
-- Reads whole tables (it joins the whole fact to itself): a build runs it with
-- --full-audit; `txnflow models test` always.
-- A refund never returns more than its purchase (when the purchase is in
-- the fact; older purchases predate the lake).
SELECT r.transaction_id, r.amount_krw, p.amount_krw AS purchase_krw
FROM {{ ref('fact_transactions') }} r
JOIN {{ ref('fact_transactions') }} p ON p.transaction_id = r.original_transaction_id
WHERE r.is_refund AND -r.amount_krw > p.amount_krw
