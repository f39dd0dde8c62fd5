/* The S3 client's building blocks: encoding, canonical queries, the small
 * XML reader, backoff; and its settings (publish.s3). The client itself is
 * tested end to end against a loopback server (tests/cli/t5000-*). */
#include <stdlib.h>

#include "../../lib/unit.h"
#include "../project/projtest.h"
#include "s3/internal.h"
#include "s3/s3.h"

static char *enc(const char *s, int keep_slash) {
  txf_buf b;
  txf_buf_init(&b, 0);
  txf_s3_uri_encode(&b, s, keep_slash);
  return txf_buf_take(&b, NULL);
}

TEST(s3_uri_encode_keeps_unreserved_and_slash) {
  char *a = enc("silver/year=2025/a b+c~_.-ü", 1);
  ASSERT_EQ_STR(a, "silver/year%3D2025/a%20b%2Bc~_.-%C3%BC");
  free(a);
  a = enc("a/b", 0);
  ASSERT_EQ_STR(a, "a%2Fb");
  free(a);
}

TEST(s3_query_is_sorted_with_equals_on_each_param) {
  const char *q[] = {"uploadId", "x/y=", "partNumber", "2", "uploads", NULL};
  txf_buf b;
  txf_buf_init(&b, 0);
  txf_s3_query_build(&b, q, 3);
  ASSERT_EQ_STR(b.data, "partNumber=2&uploadId=x%2Fy%3D&uploads=");
  txf_buf_release(&b);
  /* list-type sorts before max-keys and prefix; an empty prefix keeps
   * its '=' */
  const char *l[] = {"prefix", "", "max-keys", "1000", "list-type", "2",
                     "continuation-token", "a+b"};
  txf_buf_init(&b, 0);
  txf_s3_query_build(&b, l, 4);
  ASSERT_EQ_STR(b.data,
                "continuation-token=a%2Bb&list-type=2&max-keys=1000&prefix=");
  txf_buf_release(&b);
}

TEST(s3_xml_next_reads_elements_and_entities) {
  const char *x = "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"u\">"
                  "<KeyCount>2</KeyCount>"
                  "<Contents><Key>a &amp; b &lt;c&gt; &#233;&#x4e2d;</Key>"
                  "<Size>12</Size></Contents>"
                  "<Contents><Key>k2</Key><Size>0</Size></Contents>"
                  "<IsTruncated>false</IsTruncated><Empty/></ListBucketResult>";
  const char *p = x, *end = x + strlen(x);
  txf_buf b;
  txf_buf_init(&b, 0);
  ASSERT(txf_s3_xml_next(&p, end, "Key", &b)); /* not <KeyCount> */
  ASSERT_EQ_STR(b.data, "a & b <c> \xc3\xa9\xe4\xb8\xad");
  txf_buf_reset(&b);
  ASSERT(txf_s3_xml_next(&p, end, "Key", &b));
  ASSERT_EQ_STR(b.data, "k2");
  txf_buf_reset(&b);
  ASSERT(!txf_s3_xml_next(&p, end, "Key", &b));
  p = x;
  ASSERT(txf_s3_xml_next(&p, end, "IsTruncated", &b));
  ASSERT_EQ_STR(b.data, "false");
  txf_buf_reset(&b);
  p = x;
  ASSERT(txf_s3_xml_next(&p, end, "Empty", &b));
  ASSERT_EQ_I64(b.len, 0);
  /* an unknown entity is kept as text; an unclosed element is absent */
  const char *y = "<Key>a &bogus; b</Key><Open>never closed";
  p = y;
  ASSERT(txf_s3_xml_next(&p, y + strlen(y), "Key", &b));
  ASSERT_EQ_STR(b.data, "a &bogus; b");
  ASSERT(!txf_s3_xml_next(&p, y + strlen(y), "Open", NULL));
  txf_buf_release(&b);
}

TEST(s3_xml_next_handles_nested_same_name) {
  const char *x = "<Error><Error>inner</Error><Code>X</Code></Error>";
  const char *p = x;
  txf_buf b;
  txf_buf_init(&b, 0);
  ASSERT(txf_s3_xml_next(&p, x + strlen(x), "Error", &b));
  ASSERT_EQ_STR(b.data, "<Error>inner</Error><Code>X</Code>");
  ASSERT(*p == '\0');
  txf_buf_release(&b);
}

TEST(s3_xml_escape_round_trips) {
  txf_buf b, d;
  txf_buf_init(&b, 0);
  txf_buf_init(&d, 0);
  (void)txf_buf_puts(&b, "<Key>");
  txf_s3_xml_escape(&b, "a<&>\"'b");
  (void)txf_buf_puts(&b, "</Key>");
  ASSERT_EQ_STR(b.data, "<Key>a&lt;&amp;&gt;&quot;&apos;b</Key>");
  const char *p = b.data;
  ASSERT(txf_s3_xml_next(&p, b.data + b.len, "Key", &d));
  ASSERT_EQ_STR(d.data, "a<&>\"'b");
  txf_buf_release(&b);
  txf_buf_release(&d);
}

TEST(s3_backoff_doubles_with_jitter_and_caps) {
  uint64_t rng = 12345;
  for (int i = 0; i < 200; i++) {
    int64_t d1 = txf_s3_backoff_ms(1, 100, 5000, &rng);
    ASSERT(d1 >= 50 && d1 <= 100);
    int64_t d3 = txf_s3_backoff_ms(3, 100, 5000, &rng);
    ASSERT(d3 >= 200 && d3 <= 400);
    int64_t d20 = txf_s3_backoff_ms(20, 100, 5000, &rng);
    ASSERT(d20 >= 2500 && d20 <= 5000);
  }
  /* jitter: not always the same value */
  int64_t first = txf_s3_backoff_ms(4, 100, 5000, &rng);
  int differs = 0;
  for (int i = 0; i < 20; i++)
    differs |= txf_s3_backoff_ms(4, 100, 5000, &rng) != first;
  ASSERT(differs);
}

TEST(s3_new_needs_credentials_and_valid_settings) {
  txf_s3 *s3 = NULL;
  txf_err err;
  txf_s3_config c = {.bucket = "lake", .endpoint = "http://127.0.0.1:1"};
  unsetenv("AWS_ACCESS_KEY_ID");
  setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t", 1);
  ASSERT_EQ_I64(txf_s3_new(&s3, &c, NULL, &err), TXF_ECONFIG);
  ASSERT(strstr(err.msg, "AWS_ACCESS_KEY_ID"));
  ASSERT(!strstr(err.msg, "s3cr3t"));
  setenv("AWS_ACCESS_KEY_ID", "AK", 1);
  c.endpoint = "ftp://x";
  ASSERT_EQ_I64(txf_s3_new(&s3, &c, NULL, &err), TXF_ECONFIG);
  c.endpoint = "http://127.0.0.1:1/path";
  ASSERT_EQ_I64(txf_s3_new(&s3, &c, NULL, &err), TXF_ECONFIG);
  c.endpoint = "http://127.0.0.1:1/";
  c.part_size_bytes = 1 << 20; /* below S3's 5 MiB */
  ASSERT_EQ_I64(txf_s3_new(&s3, &c, NULL, &err), TXF_ECONFIG);
  c.part_size_bytes = 0;
  c.bucket = "Bad_Bucket";
  ASSERT_EQ_I64(txf_s3_new(&s3, &c, NULL, &err), TXF_ECONFIG);
  c.bucket = "lake";
  ASSERT_OK(txf_s3_new(&s3, &c, NULL, &err), &err);
  ASSERT_EQ_STR(txf_s3_target(s3), "s3://lake");
  txf_s3_free(s3);
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
}

/* Keys from the environment, the first source of the chain. */
static void env_keys(const char *secret) {
  setenv("AWS_ACCESS_KEY_ID", "AK", 1);
  setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
}

TEST(s3_connection_refused_is_retried_then_net_error) {
  txf_s3 *s3 = NULL;
  txf_err err;
  env_keys("very-secret");
  /* port 1 on loopback: nothing listens there */
  txf_s3_config c = {.bucket = "lake", .endpoint = "http://127.0.0.1:1",
                     .path_style = 1, .max_attempts = 3, .retry_base_ms = 1,
                     .retry_max_ms = 2};
  ASSERT_OK(txf_s3_new(&s3, &c, NULL, &err), &err);
  txf_buf b;
  txf_buf_init(&b, 0);
  ASSERT_EQ_I64(txf_s3_get(s3, "k", &b, &err), TXF_ENET);
  ASSERT(strstr(err.msg, "after 3 attempts"));
  ASSERT(!strstr(err.msg, "very-secret"));
  ASSERT_EQ_U64(txf_s3_get_stats(s3)->requests, 3);
  ASSERT_EQ_U64(txf_s3_get_stats(s3)->retries, 2);
  txf_buf_release(&b);
  txf_s3_free(s3);
}

TEST(s3_settings_defaults_and_prefix) {
  txf_project *p = projt_load(
      "name: t\npublish:\n  s3: { endpoint: http://127.0.0.1:9, bucket: "
      "lake, prefix: /txnflow, part_size_mb: 8 }\n",
      NULL);
  txf_s3_settings s;
  txf_err err;
  ASSERT_OK(txf_s3_settings_load(&s, p, &err), &err);
  ASSERT(s.configured);
  ASSERT_EQ_STR(s.prefix, "txnflow/");
  ASSERT_EQ_STR(s.cfg.bucket, "lake");
  ASSERT_EQ_STR(s.cfg.endpoint, "http://127.0.0.1:9");
  ASSERT_EQ_STR(s.cfg.region, "us-east-1");
  ASSERT_EQ_I64(s.cfg.path_style, 1); /* default with a custom endpoint */
  ASSERT_EQ_U64(s.cfg.part_size_bytes, 8u << 20);
  ASSERT_EQ_U64(s.cfg.multipart_threshold_bytes, 64u << 20);
  txf_project_free(p);
  /* publish's other keys are not the bucket's business */
  p = projt_load("name: t\npublish:\n  marts: false\n", NULL);
  ASSERT_OK(txf_s3_settings_load(&s, p, &err), &err);
  ASSERT(!s.configured);
  txf_project_free(p);
  p = projt_load("name: t\npublish: [s3]\n", NULL);
  ASSERT_EQ_I64(txf_s3_settings_load(&s, p, &err), TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "key 'publish': expected a map");
  txf_project_free(p);
}

TEST(s3_settings_reject_unknown_and_out_of_range) {
  txf_project *p = projt_load(
      "name: t\npublish:\n  s3: { bucket: lake, regoin: x }\n", NULL);
  txf_s3_settings s;
  txf_err err;
  ASSERT_EQ_I64(txf_s3_settings_load(&s, p, &err), TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "txnflow.yml:3:");
  ASSERT_CONTAINS(err.msg, "regoin");
  ASSERT_CONTAINS(err.msg, "region");
  txf_project_free(p);
  p = projt_load("name: t\npublish:\n  s3: { bucket: lake, parallel_parts: "
                 "65 }\n",
                 NULL);
  ASSERT_EQ_I64(txf_s3_settings_load(&s, p, &err), TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "key 'publish.s3.parallel_parts': must be between "
                           "1 and 64");
  txf_project_free(p);
}

TEST(s3_settings_encryption_checksum_and_refresh) {
  txf_project *p = projt_load(
      "name: t\npublish:\n  s3: { bucket: lake }\n", NULL);
  txf_s3_settings s;
  txf_err err;
  ASSERT_OK(txf_s3_settings_load(&s, p, &err), &err);
  ASSERT(s.cfg.sse == NULL && s.cfg.kms_key_id == NULL);
  ASSERT_EQ_I64(s.cfg.checksum_sha256, 0);
  ASSERT_EQ_I64(s.cfg.credential_refresh_s, 300);
  txf_project_free(p);
  p = projt_load("name: t\npublish:\n  s3: { bucket: lake, sse: aws:kms, "
                 "kms_key_id: alias/lake, checksum: sha256, "
                 "credential_refresh_s: 60 }\n",
                 NULL);
  ASSERT_OK(txf_s3_settings_load(&s, p, &err), &err);
  ASSERT_EQ_STR(s.cfg.sse, "aws:kms");
  ASSERT_EQ_STR(s.cfg.kms_key_id, "alias/lake");
  ASSERT_EQ_I64(s.cfg.checksum_sha256, 1);
  ASSERT_EQ_I64(s.cfg.credential_refresh_s, 60);
  txf_project_free(p);
  p = projt_load("name: t\npublish:\n  s3: { bucket: lake, sse: none, "
                 "checksum: none }\n",
                 NULL);
  ASSERT_OK(txf_s3_settings_load(&s, p, &err), &err);
  ASSERT(s.cfg.sse == NULL);
  ASSERT_EQ_I64(s.cfg.checksum_sha256, 0);
  txf_project_free(p);
  static const char *const bad[][2] = {
      {"sse: kms", "'kms' is not one of none, aws:kms, AES256"},
      {"sse: AES256, kms_key_id: k", "kms_key_id': needs sse: aws:kms"},
      {"checksum: md5", "'md5' is not one of none, sha256"},
      {"credential_refresh_s: 0", "must be between 1 and 3600"}};
  for (size_t i = 0; i < TXF_ARRAY_LEN(bad); i++) {
    char *y = txf_xasprintf("name: t\npublish:\n  s3: { bucket: lake, %s }\n",
                            bad[i][0]);
    p = projt_load(y, NULL);
    ASSERT_EQ_I64(txf_s3_settings_load(&s, p, &err), TXF_ECONFIG);
    ASSERT_CONTAINS(err.msg, "txnflow.yml:3:");
    ASSERT_CONTAINS(err.msg, bad[i][1]);
    txf_project_free(p);
    free(y);
  }
}

TEST(s3_new_checks_encryption_and_names_the_target) {
  txf_s3 *s3 = NULL;
  txf_err err;
  env_keys("s");
  txf_s3_config c = {.bucket = "lake", .endpoint = "http://127.0.0.1:1",
                     .sse = "aws:kms", .kms_key_id = "k1"};
  ASSERT_OK(txf_s3_new(&s3, &c, NULL, &err), &err);
  ASSERT_EQ_STR(txf_s3_target(s3), "s3://lake#sse=aws:kms:k1");
  /* what a HEAD says of an object, against these settings */
  txf_s3_object o = {.sse = "aws:kms",
                     .kms_key_id = "arn:aws:kms:us-east-1:1:key/k1"};
  ASSERT(txf_s3_object_encrypted_ok(s3, &o));
  snprintf(o.kms_key_id, sizeof o.kms_key_id, "arn:aws:kms:us-east-1:1:key/k2");
  ASSERT(!txf_s3_object_encrypted_ok(s3, &o));
  snprintf(o.sse, sizeof o.sse, "AES256");
  ASSERT(!txf_s3_object_encrypted_ok(s3, &o));
  txf_s3_free(s3);
  c.kms_key_id = NULL;
  ASSERT_OK(txf_s3_new(&s3, &c, NULL, &err), &err);
  ASSERT_EQ_STR(txf_s3_target(s3), "s3://lake#sse=aws:kms");
  o = (txf_s3_object){.sse = "aws:kms"};
  ASSERT(txf_s3_object_encrypted_ok(s3, &o));
  txf_s3_free(s3);
  c.sse = NULL;
  ASSERT_OK(txf_s3_new(&s3, &c, NULL, &err), &err);
  ASSERT_EQ_STR(txf_s3_target(s3), "s3://lake");
  o = (txf_s3_object){0};
  ASSERT(txf_s3_object_encrypted_ok(s3, &o));
  txf_s3_free(s3);
  c.sse = "aws:kmss";
  ASSERT_EQ_I64(txf_s3_new(&s3, &c, NULL, &err), TXF_ECONFIG);
  c.sse = "AES256";
  c.kms_key_id = "k";
  ASSERT_EQ_I64(txf_s3_new(&s3, &c, NULL, &err), TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "needs server-side encryption aws:kms");
}
