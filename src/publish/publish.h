/* publish: the lake and the marts to S3, the pipeline's last stage. (The
 * warehouse load, once part of publish, is its own stage: load/load.h.)
 *
 * `txnflow publish`'s plan: which objects to upload, skip and delete, and
 * the manifest written last, through the S3 client of s3/s3.h. See
 * docs/publish.md. */
#ifndef TXF_PUBLISH_H
#define TXF_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "metadata/metadata.h"
#include "project/project.h"
#include "s3/s3.h"
#include "util/util.h"

/* ---------------------------------------------------------------- publish */

/* The `publish:` section of txnflow.yml. Strings are borrowed from the
 * project (valid while it is loaded). */
typedef struct txf_publish_settings {
  txf_s3_settings s3;  /* publish.s3: the bucket (s3/s3.h) */
  int marts;           /* publish.marts (default 1): export mart_* tables */
} txf_publish_settings;

/* Read and check the `publish:` section of P's txnflow.yml (publish.s3
 * with txf_s3_settings_load; publish.warehouse, the load's older spelling,
 * is the load's to read: txf_project_load_section_read): unknown keys,
 * types and ranges are TXF_ECONFIG with file:line:col. No `publish.s3`
 * leaves s3.configured = 0 (not an error). */
TXF_MUST_CHECK int txf_publish_settings_load(txf_publish_settings *out,
                                             const txf_project *p,
                                             txf_err *err);

typedef struct txf_publish_opts {
  const char *data_dir; /* absolute */
  txf_date date;        /* the logical date D */
  int dry_run;          /* plan only: nothing is uploaded or deleted */
  const txf_logger *log;
  int64_t now_us;       /* recorded in published_objects */
} txf_publish_opts;

typedef struct txf_publish_report {
  char date[11];
  char target[600];      /* "s3://bucket/prefix" */
  uint64_t n_local;      /* objects that make up the publish */
  uint64_t uploaded, uploaded_bytes;
  uint64_t skipped, skipped_bytes; /* checksum already matched */
  uint64_t deleted;      /* superseded objects removed */
  int manifest_uploaded; /* 0: the manifest was already current */
  char manifest_key[600];
  /* Event dates whose silver partitions D's clean rewrote (from the
   * metadata), "YYYY-MM-DD" each; n_changed = -1 when D has no successful
   * clean run recorded. */
  char (*changed)[11];
  int64_t n_changed;
  uint64_t requests, retries; /* from the S3 client */
  /* Keys uploaded and deleted, in order (for --verbose/--json). */
  char **uploaded_keys;
  size_t n_uploaded_keys;
  char **deleted_keys;
  size_t n_deleted_keys;
} txf_publish_report;

void txf_publish_report_release(txf_publish_report *r);

/* Publish the lake for date D to S3: every silver partition file and (when
 * SETTINGS->marts and the warehouse has them) each mart_* table exported
 * as Parquet. An object whose checksum already matches the bucket's is
 * skipped; objects under the managed prefixes that no longer exist locally
 * (superseded by a rewrite) are deleted; the manifest
 * (PREFIX_manifest.json: every key with its size and SHA-256) is written
 * last, so a reader can tell a complete publish from a partial one.
 * STORE records what was uploaded (published_objects). */
TXF_MUST_CHECK int txf_publish_run(txf_s3 *s3, txf_store *store,
                                   const txf_publish_settings *settings,
                                   const txf_publish_opts *opts,
                                   txf_publish_report *report, txf_err *err);

#endif /* TXF_PUBLISH_H */
