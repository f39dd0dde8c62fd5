/* s3's private business: the AWS shared-file parser, the credential
 * sources and the renewal logic the client and the chain share. What the
 * files here share is named txf_s3_*; the rest is static. */
#ifndef TXF_S3_INTERNAL_H
#define TXF_S3_INTERNAL_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "s3/creds.h"
#include "util/util.h"

/* ------------------------------------------------------------ text */

/* S3's encodings and the small XML reader (text.c), which the client and
 * the STS answers use. */
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

/* ------------------------------------------------------------ secrets */

/* Free P (NULL does nothing) after overwriting it. */
void txf_s3_wipe_free(char *p);
/* Release B after overwriting its storage. */
void txf_s3_wipe_buf(txf_buf *b);
/* Free a header list (NULL does nothing) after overwriting each line. */
void txf_s3_wipe_headers(struct curl_slist *h);

/* ------------------------------------------------------------ shared files */

/* The sections and keys of one AWS shared file (ini.c has the syntax).
 * Values are secrets as far as messages go: never format one. */
typedef struct txf_s3_ini txf_s3_ini;

txf_s3_ini *txf_s3_ini_new(void);
/* Parse LEN bytes of TEXT into INI (later values win over earlier ones).
 * CONFIG_FILE: the syntax of ~/.aws/config ("[profile NAME]",
 * "[services NAME]"), else of ~/.aws/credentials ("[NAME]"). Never fails:
 * lines that are not a header or "key = value" are skipped, as the SDKs
 * skip them. */
void txf_s3_ini_add(txf_s3_ini *ini, const char *text, size_t len,
                    int config_file);
/* The value of KEY in PROFILE ("key.subkey" for a sub-section), or NULL.
 * Borrowed until INI is freed. */
const char *txf_s3_ini_get(const txf_s3_ini *ini, const char *profile,
                           const char *key);
/* The value of KEY in section "[services SERVICES]", or NULL. */
const char *txf_s3_ini_service(const txf_s3_ini *ini, const char *services,
                               const char *key);
int txf_s3_ini_has_profile(const txf_s3_ini *ini, const char *profile);
/* The profile names, in the order first seen. Borrowed. */
const txf_strlist *txf_s3_ini_profiles(const txf_s3_ini *ini);
/* Free INI (NULL does nothing); values are wiped. */
void txf_s3_ini_free(txf_s3_ini *ini);

/* ------------------------------------------------------------ signing */

/* What a request's Signature Version 4 covers (sigv4.c). */
typedef struct txf_s3_sigv4_req {
  const char *method;
  const char *host;  /* the Host header sent: "127.0.0.1:4568" */
  const char *path;  /* as sent, URI-encoded: "/lake/a%20b.parquet" */
  const char *query; /* canonical (txf_s3_query_build), or NULL */
  /* the other headers sent ("Name: value"), all signed; "Name:" lines
   * (which only stop curl from adding a header) are not */
  const struct curl_slist *headers;
  const char *payload_sha256; /* hex SHA-256 of the body */
  const char *region;
  const char *service;  /* "s3", "sts" */
  const char *amz_date; /* x-amz-date, from txf_s3_sigv4_date */
} txf_s3_sigv4_req;

/* "YYYYMMDDTHHMMSSZ" of NOW_S (UTC seconds) into OUT. */
void txf_s3_sigv4_date(int64_t now_s, char out[17]);
/* Append the Authorization header's value for R signed with K to OUT. */
void txf_s3_sigv4_sign(const txf_s3_sigv4_req *r, const txf_s3_keys *k,
                       txf_buf *out);
/* Sign R, whose other headers are H (R->headers and R->amz_date are set
 * here: now), with K: H with x-amz-date, Host and Authorization appended
 * (curl_slist_append's list: NULL only if that ran out of memory). */
struct curl_slist *txf_s3_sigv4_add_headers(txf_s3_sigv4_req *r,
                                            const txf_s3_keys *k,
                                            struct curl_slist *h);

/* ------------------------------------------------------------ renewal */

enum { TXF_S3_KEYS_FRESH, TXF_S3_KEYS_RENEW, TXF_S3_KEYS_EXPIRED };

/* What keys that expire at EXPIRES_US (0: never) need at NOW_US: nothing,
 * renewal (less than MARGIN_US left), or renewal before any use (past
 * their expiry, or within the last TXF_S3_EXPIRY_SKEW_US: a request signed
 * then could arrive after it). */
#define TXF_S3_EXPIRY_SKEW_US (INT64_C(5) * TXF_US_PER_S)
int txf_s3_keys_state(int64_t expires_us, int64_t now_us, int64_t margin_us);

/* A source of keys: fills *OUT (the caller releases it) or fails with
 * ERR. Called with the chain's lock held, one call at a time. */
typedef int (*txf_s3_fetch_fn)(void *ud, txf_s3_keys *out, txf_err *err);
/* The clock the chain judges expiry by: UTC microseconds. */
typedef int64_t (*txf_s3_clock_fn)(void *ud);

/* A chain over one source FETCH (UD passed back), for tests and for the
 * sources themselves: the first keys are fetched here (TXF_* of FETCH on
 * failure). CLOCK NULL = the wall clock; MARGIN_S as in txf_s3_creds_opts;
 * INFO (copied; may be NULL) is what txf_s3_creds_describe() reports.
 * Caller frees with txf_s3_creds_free(), which does not free UD. */
TXF_MUST_CHECK int
txf_s3_creds_new_source(txf_s3_creds **out, txf_s3_fetch_fn fetch, void *ud,
                        txf_s3_clock_fn clock, void *clock_ud, int64_t margin_s,
                        const txf_logger *log, const txf_s3_creds_info *info,
                        txf_err *err);

/* From now on C frees its source's UD with UD_FREE (the standard chain
 * hands its sources over once the first keys are in). */
void txf_s3_creds_own(txf_s3_creds *c, void (*ud_free)(void *));

/* ------------------------------------------------------------ endpoints */

/* The URL of the container credentials endpoint from the environment
 * (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, on 169.254.170.2, else
 * AWS_CONTAINER_CREDENTIALS_FULL_URI, which over http must name a loopback
 * or the ECS/EKS agent's address, as the SDKs require). *OUT NULL when
 * neither is set; caller frees. TXF_ECONFIG for a URL that is not allowed. */
TXF_MUST_CHECK int txf_s3_container_url(char **out, txf_err *err);

#endif /* TXF_S3_INTERNAL_H */
