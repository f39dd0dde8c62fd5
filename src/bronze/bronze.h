/* bronze: raw landed batches — the synthetic feed (generate), the batch
 * manifest, and the streaming RFC 4180 CSV reader.
 *
 * CONTRACT DRAFT (foundation). Layout (DESIGN.md):
 *   DATA/bronze/transactions/ingest_date=YYYY-MM-DD/part-NNNNN.csv[.zst]
 *   DATA/bronze/transactions/ingest_date=YYYY-MM-DD/_manifest.json
 *   DATA/truth/transactions/ingest_date=YYYY-MM-DD/lines.csv  (synthetic)
 *
 * _manifest.json (written by generate; read and verified by clean):
 *   { "format": "txnflow-bronze-manifest/1",
 *     "ingest_date": "2025-09-01",
 *     "files": [ { "name": "part-00000.csv", "rows": 5012,
 *                  "size_bytes": 812345, "sha256": "<64 hex>" } ],
 *     "generator": { "seed": 42, "rows": 5000, ... every parameter } }
 * "rows" counts data records (header excluded). A landed (non-synthetic)
 * batch carries the same manifest without "generator".
 *
 * CSV columns, in order (header row required):
 *   transaction_id, customer_id, card_id, merchant_id, txn_ts, amount,
 *   currency, mcc, status, is_refund, channel, ingested_at,
 *   original_transaction_id
 *
 * Sections below are owned by the issue that implements them. */
#ifndef TXF_BRONZE_H
#define TXF_BRONZE_H

#include <stdint.h>

#include "util/util.h"

#define TXF_BRONZE_N_COLS 13
extern const char *const txf_bronze_columns[TXF_BRONZE_N_COLS];

/* ---- manifest (generate issue) */

typedef struct txf_manifest_file {
  char *name;
  int64_t rows;
  uint64_t size_bytes;
  char sha256[65];
} txf_manifest_file;

typedef struct txf_manifest {
  char *ingest_date;
  txf_manifest_file *files;
  size_t n_files;
} txf_manifest;

/* Read DIR/_manifest.json. TXF_ENOTFOUND when absent, TXF_EPARSE when
 * malformed. Caller frees with txf_manifest_release(). */
TXF_MUST_CHECK int txf_manifest_load(txf_manifest *m, const char *dir,
                                     txf_err *err);
/* Check every listed file in DIR: present, size, SHA-256. TXF_ECORRUPT
 * naming the first file that differs. */
TXF_MUST_CHECK int txf_manifest_verify(const txf_manifest *m, const char *dir,
                                       txf_err *err);
void txf_manifest_release(txf_manifest *m);

#endif /* TXF_BRONZE_H */
