/* publish: the lake and the marts to S3 (and the warehouse load).
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
  /* publish.warehouse: loading silver into a postgres/redshift target */
  int has_warehouse;
  const char *wh_target;   /* an output of profiles.yml */
  const char *wh_table;    /* default "silver_transactions" */
  int wh_add_columns;      /* schema drift: ALTER TABLE ADD COLUMN */
  const char *wh_iam_role; /* redshift: the role COPY assumes */
} txf_publish_settings;

/* Read and check the `publish:` section of P's txnflow.yml (publish.s3
 * with txf_s3_settings_load): unknown keys, types and ranges are
 * TXF_ECONFIG with file:line:col. No `publish.s3` leaves s3.configured = 0
 * (not an error). */
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

/* ---------------------------------------------------------------- warehouse */

/* Resolve output TARGET (NULL: the profile's default target) of P's
 * profile in P's profiles.yml for the warehouse load (txf_target_resolve):
 * a postgres or redshift output, or TXF_ECONFIG. The password must come
 * from env_var; TLS keys (sslmode, sslrootcert, sslcert, sslkey, sslcrl)
 * pass through to libpq. On success the caller releases *OUT with
 * txf_target_release(). */
TXF_MUST_CHECK int txf_pg_target_load(txf_target *out, const txf_project *p,
                                      const char *target, txf_err *err);

/* One silver partition to load: event date D and its Parquet file. */
typedef struct txf_wh_partition {
  char date[11];
  char *path;
  char sha256[65];
} txf_wh_partition;

/* The Redshift SQL that replaces the event-date partitions PARTS in
 * SCHEMA.TABLE from their copies in S3 (S3_BASE: "s3://bucket/prefix/"),
 * in one transaction: per partition a DELETE of its [D 00:00, D+1 00:00)
 * range of txn_ts in zone TZ and a COPY ... FROM 's3://…/day=DD/'
 * IAM_ROLE '…' FORMAT AS PARQUET. Caller frees. */
char *txf_wh_redshift_sql(const char *schema, const char *table,
                          const txf_tz *tz, const char *s3_base,
                          const char *iam_role,
                          const txf_wh_partition *parts, size_t n);

typedef struct txf_wh_report {
  uint64_t partitions_loaded, partitions_deleted, partitions_skipped;
  uint64_t rows_loaded;
  int64_t elapsed_us;
  char **added_columns; /* ALTER TABLE ADD COLUMN done */
  size_t n_added_columns;
} txf_wh_report;
void txf_wh_report_release(txf_wh_report *r);

/* Bring SETTINGS->wh_table on target T up to date with the local silver
 * lake: the event-date partitions whose file changed since the last load
 * (or were never loaded, however old), are replaced — DELETE of the date's
 * txn_ts range + COPY FROM STDIN streamed from the Parquet reader — all in
 * one transaction; partitions gone locally are deleted. Columns in silver
 * that the table lacks are an error listing them, or, with
 * wh_add_columns, added. Redshift targets run txf_wh_redshift_sql instead
 * (the objects must be in S3: run the S3 publish first). With SQL_OUT,
 * nothing is executed: the SQL (for redshift) or a plan (for postgres) is
 * appended there. STORE remembers what was loaded (published_objects). */
TXF_MUST_CHECK int txf_publish_warehouse(const txf_target *t,
                                         txf_store *store,
                                         const txf_publish_settings *set,
                                         const char *data_dir,
                                         const txf_tz *tz, txf_buf *sql_out,
                                         txf_wh_report *report, txf_err *err);

#endif /* TXF_PUBLISH_H */
