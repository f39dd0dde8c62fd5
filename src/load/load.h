/* load: the silver lake into a PostgreSQL or Redshift table — the stage
 * between clean and models, so models on that warehouse see the day's
 * silver (docs/load.md).
 *
 * `txnflow load --date D` (and `txnflow publish --only warehouse`, its
 * older name) brings the table of txnflow.yml's load section
 * (txf_project_load_section) up to date: every event-date partition whose
 * file changed since the last load, however old, is replaced in one
 * transaction; what was loaded is remembered in the metadata
 * (published_objects). PostgreSQL gets COPY FROM STDIN streamed from the
 * Parquet reader; Redshift a COPY ... FORMAT AS PARQUET from the lake's
 * bucket, where the load first puts the partitions it copies. */
#ifndef TXF_LOAD_H
#define TXF_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "metadata/metadata.h"
#include "project/project.h"
#include "s3/s3.h"
#include "util/util.h"

/* Resolve output TARGET (NULL: the profile's default target) of P's
 * profile in P's profiles.yml for the load (txf_target_resolve): a
 * postgres or redshift output, or TXF_ECONFIG. The password must come
 * from env_var; TLS keys (sslmode, sslrootcert, sslcert, sslkey, sslcrl)
 * pass through to libpq. On success the caller releases *OUT with
 * txf_target_release(). */
TXF_MUST_CHECK int txf_load_target_resolve(txf_target *out,
                                           const txf_project *p,
                                           const char *target, txf_err *err);

/* One silver partition to load: event date D and its Parquet file (NULL:
 * the partition is gone from silver and is deleted). */
typedef struct txf_load_partition {
  char date[11];
  char *path;
  char sha256[65];
  uint64_t size_bytes;
} txf_load_partition;

/* The manifest of a Redshift COPY of PARTS (those with a file): one
 * mandatory entry per file, its URL under S3_BASE ("s3://bucket/prefix/";
 * the key publish gives it, …/silver/transactions/year=…/month=…/day=…/
 * FILE) and its content_length (a COPY of Parquet needs it). JSON; caller
 * frees. */
char *txf_load_redshift_manifest(const char *s3_base,
                                 const txf_load_partition *parts, size_t n);
/* Where MANIFEST goes in the bucket: PREFIX_load/SCHEMA.TABLE/H.manifest,
 * H the first 16 hex digits of its SHA-256 (the same load puts the same
 * object). Caller frees. */
char *txf_load_redshift_manifest_key(const char *prefix, const char *schema,
                                     const char *table, const char *manifest);
/* The Redshift SQL that replaces the event-date partitions PARTS in
 * SCHEMA.TABLE, in one transaction: per partition a DELETE of its
 * [D 00:00, D+1 00:00) range of txn_ts in zone TZ, then one COPY ... FROM
 * MANIFEST_URL IAM_ROLE '…' FORMAT AS PARQUET MANIFEST of exactly the
 * partitions' files (txf_load_redshift_manifest of S3_BASE and PARTS, shown
 * in a comment above it); no COPY when no partition has a file. Caller
 * frees. */
char *txf_load_redshift_sql(const char *schema, const char *table,
                            const txf_tz *tz, const char *s3_base,
                            const char *iam_role, const char *manifest_url,
                            const txf_load_partition *parts, size_t n);

typedef struct txf_load_opts {
  const txf_project_load_section *section; /* table, add_columns, iam_role */
  /* The lake's bucket (publish.s3), which a Redshift load copies from,
   * and a client for it (s3/s3.h) to put the partitions there first;
   * both unused on PostgreSQL, the client also with SQL_OUT. */
  const txf_s3_settings *lake;
  txf_s3 *s3;
  const char *data_dir; /* absolute */
  const txf_tz *tz;     /* the pipeline's zone: a partition's day */
  /* Non-NULL: execute nothing; append the SQL (redshift) or the plan
   * (postgres: "replace D from PATH" / "delete D", one a line). */
  txf_buf *sql_out;
  const txf_logger *log; /* may be NULL */
  int64_t now_us;        /* recorded in published_objects */
} txf_load_opts;

typedef struct txf_load_report {
  uint64_t partitions_loaded, partitions_deleted, partitions_skipped;
  uint64_t rows_loaded;
  uint64_t versions_loaded;    /* versions of the change log loaded */
  uint64_t change_rows_loaded; /* ... and their rows */
  int64_t elapsed_us;
  char **added_columns; /* ALTER TABLE ADD COLUMN done */
  size_t n_added_columns;
} txf_load_report;
/* Free R's strings; R is zeroed. */
void txf_load_report_release(txf_load_report *r);

/* Bring OPTS->section's table on target T up to date with the local silver
 * lake: the event-date partitions whose file changed since the last load
 * (or were never loaded, however old) are replaced — DELETE of the date's
 * txn_ts range + COPY FROM STDIN streamed from the Parquet reader — all in
 * one transaction; partitions gone locally are deleted. Columns in silver
 * that the table lacks are an error listing them, or, with add_columns,
 * added. A Redshift target first puts each partition it copies in the
 * lake's bucket (its day's folder holding that file only) and the
 * manifest of those files, then runs txf_load_redshift_sql; it needs
 * publish.s3 and iam_role (TXF_ECONFIG).
 * STORE remembers what was loaded (published_objects). *REPORT is filled
 * (release it with txf_load_report_release(), also after a failure); on
 * failure the table is as before. */
TXF_MUST_CHECK int txf_load_run(const txf_target *t, txf_store *store,
                                const txf_load_opts *opts,
                                txf_load_report *report, txf_err *err);

#endif /* TXF_LOAD_H */
