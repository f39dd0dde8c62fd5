/* The bronze CSV columns, in file order (DESIGN.md, bronze.h). */
#include "bronze/bronze.h"

const char *const txf_bronze_columns[TXF_BRONZE_N_COLS] = {
    "transaction_id", "customer_id", "card_id",  "merchant_id",
    "txn_ts",         "amount",      "currency", "mcc",
    "status",         "is_refund",   "channel",  "ingested_at",
    "original_transaction_id"};
