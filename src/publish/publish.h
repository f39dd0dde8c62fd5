/* publish: the lake and the marts to S3 (and the warehouse load).
 *
 * An S3 client on libcurl's built-in AWS Signature Version 4
 * (CURLOPT_AWS_SIGV4): PutObject, multipart upload, GetObject, HeadObject,
 * ListObjectsV2, DeleteObjects, with payload checksums and retries; and
 * `txnflow publish`'s plan: which objects to upload, skip and delete, and
 * the manifest written last. See docs/publish.md.
 *
 * Credentials come only from the environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); they never appear in a
 * message, a log line or verbose output. */
#ifndef TXF_PUBLISH_H
#define TXF_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "metadata/metadata.h"
#include "project/project.h"
#include "util/util.h"

/* ---------------------------------------------------------------- S3 */

/* S3 limits: parts are 5 MiB .. 5 GiB (the last may be smaller), at most
 * 10000 of them; one PUT carries at most 5 GiB. */
#define TXF_S3_MIN_PART_BYTES (UINT64_C(5) << 20)
#define TXF_S3_MAX_PART_BYTES (UINT64_C(5) << 30)
#define TXF_S3_MAX_PARTS 10000

typedef struct txf_s3_config {
  /* "http://127.0.0.1:4568" (scheme, host, port; no path); NULL for AWS
   * itself: https://s3.REGION.amazonaws.com. */
  const char *endpoint;
  const char *bucket; /* required */
  const char *region; /* NULL = "us-east-1" */
  /* 1: http://HOST/BUCKET/KEY; 0: http://BUCKET.HOST/KEY. */
  int path_style;
  /* Files of at least this size go up as multipart uploads in parts of
   * part_size_bytes (raised when the file would need more than 10000).
   * 0 = defaults: 64 MiB threshold, 16 MiB parts. */
  uint64_t multipart_threshold_bytes;
  uint64_t part_size_bytes;
  int max_attempts;        /* per request, including the first; 0 = 6 */
  int64_t retry_base_ms;   /* first backoff; doubles per retry; 0 = 200 */
  int64_t retry_max_ms;    /* backoff cap; 0 = 20000 */
  int64_t timeout_ms;      /* whole request; 0 = none (stall check only) */
  int64_t connect_timeout_ms; /* 0 = 10000 */
  /* Abort a request that moves less than 1 KiB/s for this long — which
   * includes the wait for the answer after a body was sent; 0 = 120. */
  int64_t stall_timeout_s;
  int list_page_keys;      /* ListObjectsV2 max-keys; 0 = 1000 */
  int parallel_parts;      /* multipart parts in flight; 0 = 4 */
} txf_s3_config;

typedef struct txf_s3 txf_s3;

/* What a client did so far (for summaries and tests). */
typedef struct txf_s3_stats {
  uint64_t requests;   /* HTTP requests sent, retries included */
  uint64_t retries;    /* requests that were retried */
  uint64_t bytes_sent; /* request body bytes of successful requests */
} txf_s3_stats;

/* A client for CFG (strings copied) with credentials from the
 * environment. TXF_ECONFIG when a setting is invalid or AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY is unset. LOG (may be NULL; borrowed for the
 * client's life) gets one debug line per request and a warning per retry.
 * Caller frees with txf_s3_free(). */
TXF_MUST_CHECK int txf_s3_new(txf_s3 **out, const txf_s3_config *cfg,
                              const txf_logger *log, txf_err *err);
/* Free S3 (NULL does nothing); the secret is wiped from memory. */
void txf_s3_free(txf_s3 *s3);
const txf_s3_stats *txf_s3_get_stats(const txf_s3 *s3);
/* "s3://BUCKET" — the target's name in published_objects. Borrowed. */
const char *txf_s3_target(const txf_s3 *s3);

/* An object as listed or headed. */
typedef struct txf_s3_object {
  char *key;           /* owned by the list / the caller (see below) */
  uint64_t size_bytes;
  char etag[72];       /* as the server sent it, quotes removed */
  char sha256[65];     /* x-amz-meta-sha256 (HEAD only), "" if absent */
} txf_s3_object;

/* PUT DATA (LEN bytes, borrowed) as KEY in one request. SHA256_HEX (64
 * lowercase hex digits of DATA, or NULL to compute it) is sent as
 * x-amz-content-sha256 — S3 rejects a body that does not match — and
 * stored as the object's x-amz-meta-sha256. CONTENT_TYPE may be NULL
 * (application/octet-stream). Retried as configured. */
TXF_MUST_CHECK int txf_s3_put(txf_s3 *s3, const char *key, const void *data,
                              size_t len, const char *content_type,
                              const char *sha256_hex, txf_err *err);
/* Upload the file PATH as KEY: one PUT below the multipart threshold,
 * else a multipart upload (each part checksummed and retried; on failure
 * the upload is aborted, so no partial object is left). SHA256_HEX as for
 * txf_s3_put (NULL: computed here). */
TXF_MUST_CHECK int txf_s3_put_file(txf_s3 *s3, const char *key,
                                   const char *path, const char *content_type,
                                   const char *sha256_hex, txf_err *err);
/* GET KEY, appending its bytes to OUT (subject to OUT's cap).
 * TXF_ENOTFOUND when there is no such object. */
TXF_MUST_CHECK int txf_s3_get(txf_s3 *s3, const char *key, txf_buf *out,
                              txf_err *err);
/* HEAD KEY into *OUT (OUT->key is set to a malloc'd copy of KEY; release
 * with txf_s3_object_release()). TXF_ENOTFOUND when absent. */
TXF_MUST_CHECK int txf_s3_head(txf_s3 *s3, const char *key,
                               txf_s3_object *out, txf_err *err);
void txf_s3_object_release(txf_s3_object *o);

typedef struct txf_s3_list {
  txf_s3_object *items; /* sorted by key (S3's order) */
  size_t n, cap;
} txf_s3_list;

/* Every object whose key starts with PREFIX (all pages of
 * ListObjectsV2), appended to OUT; release with txf_s3_list_release(). */
TXF_MUST_CHECK int txf_s3_list_prefix(txf_s3 *s3, const char *prefix,
                                      txf_s3_list *out, txf_err *err);
void txf_s3_list_release(txf_s3_list *l);
/* Delete KEYS (N of them; batches of 1000 per DeleteObjects request with
 * Content-MD5). A key that does not exist is not an error; a key S3
 * refuses to delete is (TXF_ENET with its code). */
TXF_MUST_CHECK int txf_s3_delete(txf_s3 *s3, const char *const *keys,
                                 size_t n, txf_err *err);

/* Building blocks, exposed for the unit tests. */

/* Append S with S3's URI encoding (RFC 3986 unreserved kept, the rest as
 * %XX upper-case); '/' kept when KEEP_SLASH. */
void txf_s3_uri_encode(txf_buf *b, const char *s, int keep_slash);
/* Append the canonical query of N (name, value) pairs — PAIRS[2i] name,
 * PAIRS[2i+1] value (NULL = empty) — sorted by encoded name then value,
 * each written "name=value" (also when empty, as SigV4 signs it). */
void txf_s3_query_build(txf_buf *b, const char *const *pairs, size_t n);
/* Find the next <TAG>...</TAG> in [*P, END); on success its decoded text
 * (XML entities &amp; &lt; &gt; &quot; &apos; &#N; &#xN; resolved) is
 * appended to OUT (when not NULL), *P moves past the closing tag and 1 is
 * returned; 0 when there is none. A child element's markup is kept raw. */
int txf_s3_xml_next(const char **p, const char *end, const char *tag,
                    txf_buf *out);
/* Append S with &, <, >, ", ' escaped. */
void txf_s3_xml_escape(txf_buf *b, const char *s);
/* The backoff before retry number ATTEMPT (1 = first retry): a random
 * value in [d/2, d] where d = min(MAX_MS, BASE_MS * 2^(ATTEMPT-1)).
 * *RNG is the caller's PRNG state (any non-zero seed). */
int64_t txf_s3_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms,
                          uint64_t *rng);

/* ---------------------------------------------------------------- publish */

/* The `publish:` section of txnflow.yml. Strings are borrowed from the
 * project (valid while it is loaded). */
typedef struct txf_publish_settings {
  int has_s3;          /* publish.s3 is configured */
  txf_s3_config s3;
  char prefix[512];    /* key prefix, "" or ending in '/' ("txnflow/") */
  int marts;           /* publish.marts (default 1): export mart_* tables */
  /* publish.warehouse: loading silver into a postgres/redshift target */
  int has_warehouse;
  const char *wh_target;   /* an output of profiles.yml */
  const char *wh_table;    /* default "silver_transactions" */
  int wh_add_columns;      /* schema drift: ALTER TABLE ADD COLUMN */
  const char *wh_iam_role; /* redshift: the role COPY assumes */
} txf_publish_settings;

/* Read and check publish.s3 from P's txnflow.yml: unknown keys, types and
 * ranges are TXF_ECONFIG with file:line:col. No `publish.s3` leaves
 * has_s3 = 0 (not an error). */
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
