/* The silver schema (DESIGN.md contract), defined once: clean writes it,
 * lineage describes it, bench/pqbench.c writes tables of its shape; and the
 * change log's, the same columns and what a change adds. */
#include "clean/clean.h"

const txf_pq_column txf_silver_columns_all[TXF_SILVER_MAX_COLS] = {
    {"transaction_id", TXF_PQ_STRING, 0, 0, 0},
    {"customer_id", TXF_PQ_STRING, 0, 0, 0},
    {"card_id", TXF_PQ_STRING, 0, 0, 0},
    {"merchant_id", TXF_PQ_STRING, 0, 0, 0},
    {"txn_ts", TXF_PQ_TIMESTAMP_US, 0, 0, 0},
    {"amount", TXF_PQ_DECIMAL, 0, 18, 2},
    {"currency", TXF_PQ_STRING, 0, 0, 0},
    {"mcc", TXF_PQ_STRING, 0, 0, 0},
    {"status", TXF_PQ_STRING, 0, 0, 0},
    {"is_refund", TXF_PQ_BOOLEAN, 0, 0, 0},
    {"channel", TXF_PQ_STRING, 0, 0, 0},
    {"ingested_at", TXF_PQ_TIMESTAMP_US, 0, 0, 0},
    {"original_transaction_id", TXF_PQ_STRING, 1, 0, 0},
    {"source_file", TXF_PQ_STRING, 0, 0, 0},
    {"ingest_date", TXF_PQ_DATE, 0, 0, 0},
    /* a card feed's lake only */
    {"card_token", TXF_PQ_STRING, 0, 0, 0},
    {"card_bin", TXF_PQ_STRING, 0, 0, 0},
    {"card_last4", TXF_PQ_STRING, 0, 0, 0},
    {"card_key_id", TXF_PQ_STRING, 0, 0, 0},
};

const char *const txf_silver_repeating[] = {"customer_id", "card_id",
                                             "merchant_id", "card_token", NULL};

txf_pq_schema txf_silver_schema(int cards) {
  return (txf_pq_schema){txf_silver_columns_all,
                         cards ? TXF_SILVER_MAX_COLS : TXF_SILVER_N_COLS};
}

const txf_pq_column txf_silver_change_extra[TXF_SILVER_CHANGE_N_COLS -
                                            TXF_SILVER_N_COLS] = {
    {"event_date", TXF_PQ_DATE, 0, 0, 0},
    {"year", TXF_PQ_INT32, 0, 0, 0},
    {"month", TXF_PQ_INT32, 0, 0, 0},
    {"day", TXF_PQ_INT32, 0, 0, 0},
    {"_change_type", TXF_PQ_STRING, 0, 0, 0},
    {"_commit_version", TXF_PQ_INT64, 0, 0, 0},
    {"_commit_timestamp", TXF_PQ_TIMESTAMP_US, 0, 0, 0},
};
