/* s3's credential chain, part of the module's interface (s3/s3.h includes
 * it): the AWS SDKs' sources in their order, the keys they give, and their
 * renewal before expiry. The S3 client uses one per client; `publish
 * --whoami` describes one. See docs/publish.md ("Credentials"). */
#ifndef TXF_S3_CREDS_H
#define TXF_S3_CREDS_H

#include <stdint.h>

#include "util/util.h"

/* One set of AWS keys. SECRET_ACCESS_KEY and SESSION_TOKEN are secrets:
 * never formatted into a message, wiped on release. */
typedef struct txf_s3_keys {
  char *access_key_id;
  char *secret_access_key;
  char *session_token; /* NULL for long-term keys */
  int64_t expires_us;  /* UTC; 0 = do not expire */
  uint64_t generation; /* which renewal of the chain gave them (1, 2, ..) */
} txf_s3_keys;

/* Wipe and free K's strings; K is left zeroed. */
void txf_s3_keys_release(txf_s3_keys *k);

/* Where a chain's keys come from, for `publish --whoami`: no secret. */
typedef struct txf_s3_creds_info {
  /* "environment", "shared-credentials-file", "shared-config-file",
   * "assume-role", "web-identity", "container", "instance-metadata" */
  char source[32];
  char detail[400]; /* "profile 'prod' in /home/u/.aws/credentials" */
  int renewable;    /* temporary keys fetched again before they expire */
  /* the current keys: "AKIA…WXYZ" (first and last four characters of the
   * access key id) and their expiry (0: none) */
  char access_key_hint[24];
  int64_t expires_us;
} txf_s3_creds_info;

/* A credential chain: where the keys come from, and their renewal. Safe
 * to share between threads. */
typedef struct txf_s3_creds txf_s3_creds;

typedef struct txf_s3_creds_opts {
  /* The region for STS when none is set in the environment (AWS_REGION,
   * AWS_DEFAULT_REGION) or the profile; NULL = "us-east-1". */
  const char *region;
  int64_t refresh_margin_s; /* renew this long before expiry; 0 = 300 */
  const txf_logger *log;    /* may be NULL; borrowed for the chain's life */
} txf_s3_creds_opts;

/* Resolve the standard chain in the AWS SDKs' order and fetch the first
 * keys: the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN); the shared files (AWS_SHARED_CREDENTIALS_FILE or
 * ~/.aws/credentials, AWS_CONFIG_FILE or ~/.aws/config, profile AWS_PROFILE
 * or "default": static keys, role_arn with source_profile or
 * credential_source through STS AssumeRole, role_arn with
 * web_identity_token_file); web identity (AWS_WEB_IDENTITY_TOKEN_FILE and
 * AWS_ROLE_ARN through STS AssumeRoleWithWebIdentity); the container
 * endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI, with
 * AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]); the EC2 instance metadata
 * service with an IMDSv2 token (AWS_EC2_METADATA_SERVICE_ENDPOINT,
 * unless AWS_EC2_METADATA_DISABLED=true). STS is reached at
 * AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the profile's services section
 * or endpoint_url, else https://sts.REGION.amazonaws.com.
 * TXF_ECONFIG when no source has keys (the message names each source
 * tried) or a named profile does not exist; a source that is configured
 * but fails stops the chain with its error. Caller frees with
 * txf_s3_creds_free(). */
TXF_MUST_CHECK int txf_s3_creds_new(txf_s3_creds **out,
                                    const txf_s3_creds_opts *opts,
                                    txf_err *err);
/* The current keys into *OUT (copies; the caller releases them with
 * txf_s3_keys_release). Keys within the refresh margin of their expiry
 * are renewed first, by one caller while the others wait; a renewal that
 * fails while they are still valid is a warning and they are used.
 * REJECTED_GENERATION: 0, or the generation of keys a server refused as
 * expired, which renews them unless another caller already did. */
TXF_MUST_CHECK int txf_s3_creds_get(txf_s3_creds *c,
                                    uint64_t rejected_generation,
                                    txf_s3_keys *out, txf_err *err);
/* Where C's keys come from and which they are now. */
void txf_s3_creds_describe(txf_s3_creds *c, txf_s3_creds_info *out);
/* Free C (NULL does nothing); keys are wiped. */
void txf_s3_creds_free(txf_s3_creds *c);

#endif /* TXF_S3_CREDS_H */
