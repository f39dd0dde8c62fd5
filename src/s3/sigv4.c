/* AWS Signature Version 4 for S3 and STS requests.
 *
 * Ours rather than libcurl's CURLOPT_AWS_SIGV4 because curl 7.88 (Debian
 * 12) sorts the canonical headers by their whole "name:value" line, so a
 * header whose name is a prefix of another's comes out in the wrong order:
 * x-amz-server-side-encryption and x-amz-server-side-encryption-aws-kms-
 * key-id, which every SSE-KMS upload with a key id carries, get a
 * signature S3 refuses (curl fixed it in 8.10, PR #14370). The AWS SigV4
 * test suite's vectors and the SDK's signer (the test server) check it. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "s3/internal.h"

typedef struct hdr {
  char *name; /* lowercase */
  const char *value;
  size_t value_len;
} hdr;

static int hdr_cmp(const void *a, const void *b) {
  return strcmp(((const hdr *)a)->name, ((const hdr *)b)->name);
}

static void hmac(const void *key, size_t key_len, const char *data,
                 unsigned char out[32]) {
  unsigned len = 32;
  HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)data,
       strlen(data), out, &len);
}

void txf_s3_sigv4_date(int64_t now_s, char out[17]) {
  time_t t = (time_t)now_s;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

void txf_s3_sigv4_sign(const txf_s3_sigv4_req *r, const txf_s3_keys *k,
                       txf_buf *out) {
  /* The headers to sign: host, x-amz-date and every header given, by
   * lowercase name (values trimmed; ours have no inner runs of spaces). */
  size_t n = 2;
  for (const struct curl_slist *i = r->headers; i; i = i->next)
    n++;
  hdr *h = txf_xcalloc(n, sizeof *h);
  size_t m = 0;
  h[m++] = (hdr){txf_xstrdup("host"), r->host, strlen(r->host)};
  h[m++] = (hdr){txf_xstrdup("x-amz-date"), r->amz_date, strlen(r->amz_date)};
  for (const struct curl_slist *i = r->headers; i; i = i->next) {
    const char *colon = strchr(i->data, ':');
    if (!colon)
      continue;
    const char *v = colon + 1, *e = v + strlen(v);
    while (*v == ' ' || *v == '\t')
      v++;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
      e--;
    if (v == e)
      continue; /* "Name:" removes a header curl would add: not sent */
    char *name = txf_xstrndup(i->data, (size_t)(colon - i->data));
    for (char *c = name; *c; c++)
      if (*c >= 'A' && *c <= 'Z')
        *c = (char)(*c - 'A' + 'a');
    if (!strcmp(name, "host") || !strcmp(name, "x-amz-date") ||
        !strcmp(name, "authorization")) {
      free(name);
      continue;
    }
    h[m++] = (hdr){name, v, (size_t)(e - v)};
  }
  qsort(h, m, sizeof *h, hdr_cmp);

  txf_buf creq, signed_names;
  txf_buf_init(&creq, 0);
  txf_buf_init(&signed_names, 0);
  (void)txf_buf_printf(&creq, "%s\n%s\n%s\n", r->method, r->path,
                       r->query ? r->query : "");
  for (size_t i = 0; i < m; i++) {
    (void)txf_buf_printf(&creq, "%s:%.*s\n", h[i].name, (int)h[i].value_len,
                         h[i].value);
    (void)txf_buf_printf(&signed_names, "%s%s", i ? ";" : "", h[i].name);
  }
  (void)txf_buf_printf(&creq, "\n%s\n%s", signed_names.data, r->payload_sha256);

  char scope[128];
  snprintf(scope, sizeof scope, "%.8s/%s/%s/aws4_request", r->amz_date,
           r->region, r->service);
  char creq_hex[65];
  txf_sha256_hex(creq.data, creq.len, creq_hex);
  char *to_sign = txf_xasprintf("AWS4-HMAC-SHA256\n%s\n%s\n%s", r->amz_date,
                                scope, creq_hex);

  /* The signing key: date, region, service, "aws4_request". */
  char *secret = txf_xasprintf("AWS4%s", k->secret_access_key);
  char date[9];
  snprintf(date, sizeof date, "%.8s", r->amz_date);
  unsigned char a[32], b[32];
  hmac(secret, strlen(secret), date, a);
  hmac(a, 32, r->region, b);
  hmac(b, 32, r->service, a);
  hmac(a, 32, "aws4_request", b);
  hmac(b, 32, to_sign, a);
  OPENSSL_cleanse(secret, strlen(secret));
  OPENSSL_cleanse(b, sizeof b);
  free(secret);

  (void)txf_buf_printf(out,
                       "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
                       "Signature=",
                       k->access_key_id, scope, signed_names.data);
  for (int i = 0; i < 32; i++)
    (void)txf_buf_printf(out, "%02x", a[i]);
  free(to_sign);
  for (size_t i = 0; i < m; i++)
    free(h[i].name);
  free(h);
  txf_buf_release(&creq);
  txf_buf_release(&signed_names);
}

struct curl_slist *txf_s3_sigv4_add_headers(txf_s3_sigv4_req *r,
                                            const txf_s3_keys *k,
                                            struct curl_slist *h) {
  char date[17];
  txf_s3_sigv4_date(txf_wall_us() / TXF_US_PER_S, date);
  r->amz_date = date;
  r->headers = h;
  txf_buf line;
  txf_buf_init(&line, 0);
  (void)txf_buf_puts(&line, "Authorization: ");
  txf_s3_sigv4_sign(r, k, &line);
  char *d = txf_xasprintf("x-amz-date: %s", date);
  char *host = txf_xasprintf("Host: %s", r->host);
  h = curl_slist_append(h, d);
  h = curl_slist_append(h, host);
  h = curl_slist_append(h, line.data);
  free(d);
  free(host);
  txf_buf_release(&line);
  r->amz_date = NULL;
  return h;
}
