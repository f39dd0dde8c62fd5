/* The lake's bucket as txnflow.yml configures it (publish.s3). It lives
 * with the client rather than in publish because a Redshift load copies
 * from the same bucket: two stages, one reading of their settings. */
#include <string.h>

#include "s3/s3.h"

static const char *const s3_keys[] = {"endpoint",
                                      "bucket",
                                      "prefix",
                                      "region",
                                      "path_style",
                                      "part_size_mb",
                                      "multipart_threshold_mb",
                                      "max_attempts",
                                      "retry_base_ms",
                                      "retry_max_ms",
                                      "timeout_ms",
                                      "connect_timeout_ms",
                                      "list_page_keys",
                                      "parallel_parts",
                                      "stall_timeout_s",
                                      "sse",
                                      "kms_key_id",
                                      "checksum",
                                      "credential_refresh_s",
                                      NULL};

/* KEY's value, one of CHOICES (NULL-terminated); *OUT NULL when it is
 * absent or the first choice ("none"). */
static int get_choice(const txf_yaml_doc *doc, const txf_yaml_node *n,
                      const char *key, const char *const *choices,
                      const char **out, txf_err *err) {
  const char *v = NULL;
  int rc = txf_yaml_get_str(doc, n, key, NULL, &v, err);
  *out = NULL;
  if (rc || !v)
    return rc;
  for (size_t i = 0; choices[i]; i++)
    if (!strcmp(v, choices[i])) {
      *out = i ? choices[i] : NULL;
      return 0;
    }
  return txf_yaml_error(doc, txf_yaml_get(n, key), err,
                        "key 'publish.s3.%s': '%s' is not one of %s, %s%s%s",
                        key, v, choices[0], choices[1], choices[2] ? ", " : "",
                        choices[2] ? choices[2] : "");
}

static int get_pos(const txf_yaml_doc *doc, const txf_yaml_node *n,
                   const char *key, int64_t def, int64_t min, int64_t max,
                   int64_t *out, txf_err *err) {
  int rc = txf_yaml_get_i64(doc, n, key, def, out, err);
  if (rc)
    return rc;
  if (*out < min || *out > max)
    return txf_yaml_error(doc, txf_yaml_get(n, key), err,
                          "key 'publish.s3.%s': must be between %lld and "
                          "%lld",
                          key, (long long)min, (long long)max);
  return 0;
}

int txf_s3_settings_load(txf_s3_settings *out, const txf_project *p,
                         txf_err *err) {
  memset(out, 0, sizeof *out);
  const txf_yaml_doc *doc = p->doc;
  const txf_yaml_node *pub = txf_yaml_get(txf_yaml_root(doc), "publish");
  if (!pub || txf_yaml_is_null(pub))
    return 0;
  if (txf_yaml_kind(pub) != TXF_YAML_MAP)
    return txf_yaml_error(doc, pub, err, "key 'publish': expected a map");
  const txf_yaml_node *s3 = txf_yaml_get(pub, "s3");
  if (!s3 || txf_yaml_is_null(s3))
    return 0;
  if (txf_yaml_kind(s3) != TXF_YAML_MAP)
    return txf_yaml_error(doc, s3, err, "key 'publish.s3': expected a map");
  int rc = txf_yaml_check_keys(doc, s3, s3_keys, "publish.s3", err);
  if (rc)
    return rc;
  txf_s3_config *c = &out->cfg;
  const char *prefix = "";
  static const char *const sse_choices[] = {"none", "aws:kms", "AES256", NULL};
  static const char *const sum_choices[] = {"none", "sha256", NULL};
  const char *sum = NULL;
  rc = txf_yaml_get_str(doc, s3, "endpoint", NULL, &c->endpoint, err);
  if (!rc)
    rc = txf_yaml_get_str(doc, s3, "bucket", NULL, &c->bucket, err);
  if (!rc)
    rc = txf_yaml_get_str(doc, s3, "prefix", "", &prefix, err);
  if (!rc)
    rc = txf_yaml_get_str(doc, s3, "region", "us-east-1", &c->region, err);
  if (!rc)
    rc = txf_yaml_get_bool(doc, s3, "path_style", c->endpoint ? 1 : 0,
                           &c->path_style, err);
  /* the numbers: key, default, range; in the order of `v` */
  static const struct {
    const char *key;
    int64_t def, min, max;
  } nums[] = {
      {"part_size_mb", 16, 5, 5120},
      {"multipart_threshold_mb", 64, 5, 5120},
      {"max_attempts", 6, 1, 100},
      {"retry_base_ms", 200, 1, 600000},
      {"retry_max_ms", 20000, 1, 3600000},
      {"timeout_ms", 0, 0, 86400000},
      {"connect_timeout_ms", 10000, 1, 600000},
      {"list_page_keys", 1000, 1, 1000},
      {"parallel_parts", 4, 1, 64},
      {"stall_timeout_s", 120, 1, 86400},
      {"credential_refresh_s", 300, 1, 3600},
  };
  int64_t v[sizeof nums / sizeof nums[0]];
  for (size_t i = 0; !rc && i < sizeof nums / sizeof nums[0]; i++)
    rc = get_pos(doc, s3, nums[i].key, nums[i].def, nums[i].min, nums[i].max,
                 &v[i], err);
  if (!rc)
    rc = get_choice(doc, s3, "sse", sse_choices, &c->sse, err);
  if (!rc)
    rc = txf_yaml_get_str(doc, s3, "kms_key_id", NULL, &c->kms_key_id, err);
  if (!rc)
    rc = get_choice(doc, s3, "checksum", sum_choices, &sum, err);
  if (rc)
    return rc;
  if (c->kms_key_id && (!c->sse || strcmp(c->sse, "aws:kms") != 0))
    return txf_yaml_error(doc, txf_yaml_get(s3, "kms_key_id"), err,
                          "key 'publish.s3.kms_key_id': needs sse: aws:kms");
  if (!c->bucket || !*c->bucket)
    return txf_yaml_error(doc, s3, err, "key 'publish.s3.bucket' is required");
  /* The prefix: no leading '/', always ending in '/' unless empty. */
  while (*prefix == '/')
    prefix++;
  size_t pl = strlen(prefix);
  if (pl + 2 > sizeof out->prefix)
    return txf_yaml_error(doc, txf_yaml_get(s3, "prefix"), err,
                          "key 'publish.s3.prefix': too long");
  memcpy(out->prefix, prefix, pl + 1);
  if (pl && out->prefix[pl - 1] != '/')
    memcpy(out->prefix + pl, "/", 2);
  c->part_size_bytes = (uint64_t)v[0] << 20;
  c->multipart_threshold_bytes = (uint64_t)v[1] << 20;
  c->max_attempts = (int)v[2];
  c->retry_base_ms = v[3];
  c->retry_max_ms = v[4];
  c->timeout_ms = v[5];
  c->connect_timeout_ms = v[6];
  c->list_page_keys = (int)v[7];
  c->parallel_parts = (int)v[8];
  c->stall_timeout_s = v[9];
  c->checksum_sha256 = sum != NULL;
  c->credential_refresh_s = v[10];
  out->configured = 1;
  return 0;
}
