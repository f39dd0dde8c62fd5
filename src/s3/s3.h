/* s3: an S3 client on libcurl's built-in AWS Signature Version 4
 * (CURLOPT_AWS_SIGV4): PutObject, multipart upload, GetObject, HeadObject,
 * ListObjectsV2, DeleteObjects, with payload checksums and retries; and the
 * lake's bucket as txnflow.yml configures it (publish.s3). Publish uploads
 * the lake and the marts with it, a Redshift load stages the partitions it
 * copies. See docs/publish.md ("The S3 client").
 *
 * Credentials come from the AWS SDKs' chain (txf_s3_creds: the
 * environment, the shared files, web identity, the container endpoint, the
 * instance metadata service), temporary ones renewed before they expire;
 * they never appear in a message, a log line or verbose output. */
#ifndef TXF_S3_H
#define TXF_S3_H

#include <stddef.h>
#include <stdint.h>

#include "project/project.h"
#include "s3/creds.h"
#include "util/util.h"

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
  /* Server-side encryption asked of S3 on every PutObject and
   * CreateMultipartUpload: NULL (the bucket's default), "AES256" or
   * "aws:kms", with KMS_KEY_ID (NULL: the account's aws/s3 key). */
  const char *sse;
  const char *kms_key_id;
  /* 1: send x-amz-checksum-sha256 with every object and part, so S3
   * verifies and keeps the SHA-256 (multipart: SHA256 declared on
   * CreateMultipartUpload, each part's in CompleteMultipartUpload). */
  int checksum_sha256;
  /* Renew temporary credentials when less than this is left; 0 = 300. */
  int64_t credential_refresh_s;
} txf_s3_config;

typedef struct txf_s3 txf_s3;

/* What a client did so far (for summaries and tests). */
typedef struct txf_s3_stats {
  uint64_t requests;   /* HTTP requests sent, retries included */
  uint64_t retries;    /* requests that were retried */
  uint64_t bytes_sent; /* request body bytes of successful requests */
} txf_s3_stats;

/* A client for CFG (strings copied) with credentials from the chain
 * (txf_s3_creds_new: resolved and first fetched here). TXF_ECONFIG when a
 * setting is invalid or no source gives credentials (the message says
 * what was tried); a source that is configured but fails is its error
 * (TXF_ENET for an endpoint that does not answer). LOG (may be NULL;
 * borrowed for the client's life) gets one debug line per request and a
 * warning per retry. Caller frees with txf_s3_free(). */
TXF_MUST_CHECK int txf_s3_new(txf_s3 **out, const txf_s3_config *cfg,
                              const txf_logger *log, txf_err *err);
/* Free S3 (NULL does nothing); the secrets are wiped from memory. */
void txf_s3_free(txf_s3 *s3);
const txf_s3_stats *txf_s3_get_stats(const txf_s3 *s3);
/* The target's name in published_objects: "s3://BUCKET", and with
 * server-side encryption configured "s3://BUCKET#sse=aws:kms[:KEY]", so
 * records of objects put without it do not count as encrypted ones.
 * Borrowed. */
const char *txf_s3_target(const txf_s3 *s3);

/* An object as listed or headed. */
typedef struct txf_s3_object {
  char *key;           /* owned by the list / the caller (see below) */
  uint64_t size_bytes;
  char etag[72];       /* as the server sent it, quotes removed */
  char sha256[65];     /* x-amz-meta-sha256 (HEAD only), "" if absent */
  /* HEAD only, "" if absent: x-amz-server-side-encryption ("aws:kms"),
   * its KMS key (an ARN), and the x-amz-checksum-sha256 S3 keeps (base64;
   * "BASE64-N" for an object uploaded in N parts). */
  char sse[16];
  char kms_key_id[256];
  char checksum_sha256[56];
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
/* 1 when O (from txf_s3_head) is encrypted as S3's settings ask (always
 * when they ask nothing): same sse, and with a kms_key_id given as an ARN
 * or a key id, that key. */
int txf_s3_object_encrypted_ok(const txf_s3 *s3, const txf_s3_object *o);

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

/* A building block, exposed for the unit tests (the others are in
 * s3/internal.h). */

/* The backoff before retry number ATTEMPT (1 = first retry): a random
 * value in [d/2, d] where d = min(MAX_MS, BASE_MS * 2^(ATTEMPT-1)).
 * *RNG is the caller's PRNG state (any non-zero seed). */
int64_t txf_s3_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms,
                          uint64_t *rng);

/* ---------------------------------------------------------------- settings */

/* The lake's bucket: the `publish.s3` section of txnflow.yml. Publish and
 * a Redshift load (which copies from the bucket) both read it here. */
typedef struct txf_s3_settings {
  int configured;   /* publish.s3 is given */
  txf_s3_config cfg; /* strings borrowed from the project (valid while it
                        is loaded) */
  char prefix[512]; /* key prefix, "" or ending in '/' ("txnflow/") */
} txf_s3_settings;

/* Read and check publish.s3 from P's txnflow.yml: unknown keys, types and
 * ranges are TXF_ECONFIG with file:line:col. No `publish.s3` leaves
 * configured = 0 (not an error); the rest of `publish:` is publish's. */
TXF_MUST_CHECK int txf_s3_settings_load(txf_s3_settings *out,
                                        const txf_project *p, txf_err *err);

#endif /* TXF_S3_H */
