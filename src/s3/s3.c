/* An S3 client on libcurl, with Signature Version 4 of our own (sigv4.c:
 * curl 7.88's CURLOPT_AWS_SIGV4 cannot sign SSE-KMS requests).
 *
 * Every request carries x-amz-content-sha256, the hex SHA-256 of its body,
 * which S3 requires and checks, and which the signature covers. Bodies go
 * through CURLOPT_POSTFIELDS (memory or an mmap'd file), so what is sent is
 * what was hashed. Queries are built already in canonical order, each
 * parameter with '=', and object keys URI-encoded here (S3 signs the path
 * as sent), so URL and signature agree by construction.
 *
 * Credentials come from the chain (txf_s3_creds, chain.c) each time a
 * request is sent, so a renewal reaches the parts of a multipart upload
 * already under way; they are never formatted into a message. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "s3/internal.h"
#include "s3/s3.h"

#define MAX_ERROR_BODY (64u << 10)
#define MAX_LIST_BODY (16u << 20)
#define DELETE_BATCH 1000

/* A connection: one curl handle (keeps its TCP/TLS connection alive) with
 * its own jitter state and counters. Multipart uploads run several. */
typedef struct conn {
  CURL *curl;
  uint64_t rng;
  txf_s3_stats stats;
} conn;

struct txf_s3 {
  conn main;
  int parallel; /* parts in flight */
  char *scheme_host; /* "http://127.0.0.1:4568" */
  char *host;        /* "127.0.0.1:4568" */
  char *bucket;
  char *region;
  char *target;      /* "s3://bucket", with "#sse=..." (txf_s3_target) */
  txf_s3_creds *creds;
  char *sse;         /* "aws:kms", "AES256" or NULL */
  char *kms_key_id;  /* NULL: the account's default key */
  int checksum;      /* send x-amz-checksum-sha256 */
  int path_style;
  uint64_t threshold, part_size;
  int max_attempts;
  int64_t base_ms, max_ms, timeout_ms, connect_ms, stall_s;
  int list_keys;
  const txf_logger *log;
};

/* ---------------------------------------------------------------- backoff */

static uint64_t rng_next(uint64_t *s) { /* xorshift64* */
  uint64_t x = *s ? *s : 0x9E3779B97F4A7C15u;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1Du;
}

int64_t txf_s3_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms,
                          uint64_t *rng) {
  int64_t d = base_ms;
  for (int i = 1; i < attempt && d < max_ms; i++)
    d *= 2;
  if (d > max_ms)
    d = max_ms;
  if (d <= 1)
    return d;
  int64_t half = d / 2;
  return half + (int64_t)(rng_next(rng) % (uint64_t)(d - half + 1));
}

/* ---------------------------------------------------------------- client */

int txf_s3_new(txf_s3 **out, const txf_s3_config *cfg, const txf_logger *log,
               txf_err *err) {
  *out = NULL;
  if (!cfg->bucket || !*cfg->bucket)
    return txf_err_set(err, TXF_ECONFIG, "s3: no bucket configured");
  const char *sse = cfg->sse && *cfg->sse ? cfg->sse : NULL;
  if (sse && strcmp(sse, "aws:kms") != 0 && strcmp(sse, "AES256") != 0)
    return txf_err_set(err, TXF_ECONFIG,
                       "s3: server-side encryption '%s' is not aws:kms or "
                       "AES256",
                       sse);
  const char *kms =
      cfg->kms_key_id && *cfg->kms_key_id ? cfg->kms_key_id : NULL;
  if (kms && (!sse || strcmp(sse, "aws:kms") != 0))
    return txf_err_set(err, TXF_ECONFIG,
                       "s3: a KMS key id needs server-side encryption "
                       "aws:kms");
  if (kms && strpbrk(kms, "\r\n"))
    return txf_err_set(err, TXF_ECONFIG, "s3: the KMS key id has a line "
                                         "break");
  const char *region = cfg->region && *cfg->region ? cfg->region : "us-east-1";
  for (const char *r = region; *r; r++)
    if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-'))
      return txf_err_set(err, TXF_ECONFIG, "s3: region '%s' is not valid",
                         region);
  uint64_t part = cfg->part_size_bytes ? cfg->part_size_bytes : 16u << 20;
  if (part < TXF_S3_MIN_PART_BYTES || part > TXF_S3_MAX_PART_BYTES)
    return txf_err_set(err, TXF_ECONFIG,
                       "s3: part size %llu is outside S3's 5 MiB .. 5 GiB",
                       (unsigned long long)part);
  uint64_t threshold =
      cfg->multipart_threshold_bytes ? cfg->multipart_threshold_bytes
                                     : 64u << 20;
  if (threshold > TXF_S3_MAX_PART_BYTES)
    return txf_err_set(err, TXF_ECONFIG,
                       "s3: multipart threshold above 5 GiB (one PUT's "
                       "limit)");

  char *scheme_host;
  const char *host_start;
  if (cfg->endpoint && *cfg->endpoint) {
    const char *e = cfg->endpoint;
    if (!txf_str_has_prefix(e, "http://") && !txf_str_has_prefix(e, "https://"))
      return txf_err_set(err, TXF_ECONFIG,
                         "s3: endpoint '%s' must start with http:// or "
                         "https://",
                         e);
    size_t n = strlen(e);
    while (n > 0 && e[n - 1] == '/')
      n--;
    scheme_host = txf_xstrndup(e, n);
    host_start = strstr(scheme_host, "://") + 3;
    if (!*host_start || strchr(host_start, '/')) {
      free(scheme_host);
      return txf_err_set(err, TXF_ECONFIG,
                         "s3: endpoint '%s' must be scheme://host[:port] "
                         "without a path",
                         e);
    }
  } else {
    scheme_host = txf_xasprintf("https://s3.%s.amazonaws.com", region);
    host_start = scheme_host + 8;
  }
  for (const char *b = cfg->bucket; *b; b++)
    if (!((*b >= 'a' && *b <= 'z') || (*b >= '0' && *b <= '9') || *b == '-' ||
          *b == '.')) {
      free(scheme_host);
      return txf_err_set(err, TXF_ECONFIG, "s3: bucket '%s' is not a valid "
                         "bucket name", cfg->bucket);
    }

  txf_s3 *s = txf_xcalloc(1, sizeof *s);
  s->scheme_host = scheme_host;
  s->host = txf_xstrdup(host_start);
  s->bucket = txf_xstrdup(cfg->bucket);
  s->region = txf_xstrdup(region);
  s->target = txf_xasprintf("s3://%s%s%s%s%s", cfg->bucket, sse ? "#sse=" : "",
                            sse ? sse : "", kms ? ":" : "", kms ? kms : "");
  s->sse = sse ? txf_xstrdup(sse) : NULL;
  s->kms_key_id = kms ? txf_xstrdup(kms) : NULL;
  s->checksum = cfg->checksum_sha256;
  s->path_style = cfg->path_style;
  s->threshold = threshold < part ? part : threshold;
  s->part_size = part;
  s->max_attempts = cfg->max_attempts > 0 ? cfg->max_attempts : 6;
  s->base_ms = cfg->retry_base_ms > 0 ? cfg->retry_base_ms : 200;
  s->max_ms = cfg->retry_max_ms > 0 ? cfg->retry_max_ms : 20000;
  s->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 0;
  s->connect_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 10000;
  s->stall_s = cfg->stall_timeout_s > 0 ? cfg->stall_timeout_s : 120;
  s->list_keys = cfg->list_page_keys > 0 ? cfg->list_page_keys : 1000;
  s->main.rng =
      (uint64_t)txf_mono_us() ^ ((uint64_t)getpid() << 32) ^ 0x5851F42Du;
  s->parallel = cfg->parallel_parts > 0 ? cfg->parallel_parts : 4;
  s->log = log;
  s->main.curl = curl_easy_init();
  if (!s->main.curl) {
    txf_s3_free(s);
    return txf_err_set(err, TXF_EINTERNAL, "s3: curl_easy_init failed");
  }
  txf_s3_creds_opts co = {.region = region,
                          .refresh_margin_s = cfg->credential_refresh_s,
                          .log = log};
  int rc = txf_s3_creds_new(&s->creds, &co, err);
  if (rc) {
    txf_s3_free(s);
    return txf_err_wrap(err, "s3");
  }
  *out = s;
  return 0;
}


void txf_s3_free(txf_s3 *s) {
  if (!s)
    return;
  if (s->main.curl)
    curl_easy_cleanup(s->main.curl);
  TXF_FREE_ALL(s->scheme_host, s->host, s->bucket, s->region, s->target);
  txf_s3_creds_free(s->creds);
  free(s->sse);
  free(s->kms_key_id);
  free(s);
}

const txf_s3_stats *txf_s3_get_stats(const txf_s3 *s) { return &s->main.stats; }
const char *txf_s3_target(const txf_s3 *s) { return s->target; }

void txf_s3_object_release(txf_s3_object *o) {
  if (o) {
    free(o->key);
    o->key = NULL;
  }
}

void txf_s3_list_release(txf_s3_list *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->items[i].key);
  free(l->items);
  memset(l, 0, sizeof *l);
}

/* ---------------------------------------------------------------- requests */

/* One S3 request: what to send and what came back. */
typedef struct req {
  const char *method; /* GET PUT POST DELETE HEAD */
  const char *key;    /* NULL: the bucket itself */
  const char *query;  /* canonical query (txf_s3_query_build) or NULL */
  const void *body;   /* NULL with body_len 0: no body */
  size_t body_len;
  const char *body_sha256; /* hex of body; NULL = computed */
  const char *content_type;
  const char *content_md5; /* base64, or NULL */
  const char *meta_sha256; /* stored as x-amz-meta-sha256, or NULL */
  int sse;                 /* ask for the configured encryption */
  int checksum;            /* send x-amz-checksum-sha256 of the body */
  const char *checksum_algorithm; /* x-amz-checksum-algorithm, or NULL */
  int checksum_mode;       /* ask for the stored checksum (HEAD) */
  const char *what;        /* for messages: "put txnflow/x.parquet" */
  /* results */
  long status;
  txf_buf *out; /* response body of a 2xx (may be NULL: discarded) */
  txf_buf errbody;
  char etag[72];
  char meta[65];
  char sse_got[16];       /* x-amz-server-side-encryption */
  char kms_got[256];      /* x-amz-server-side-encryption-aws-kms-key-id */
  char checksum_got[56];  /* x-amz-checksum-sha256 */
  char checksum_sent[48]; /* what was sent as x-amz-checksum-sha256 */
  uint64_t content_length;
  int has_length;
} req;

typedef struct sink {
  req *r;
  int ok_status; /* writing to r->out, else to errbody */
  int overflow;
} sink;

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  sink *k = ud;
  size_t len = size * n;
  txf_buf *dst = k->ok_status && k->r->out ? k->r->out : &k->r->errbody;
  if (k->ok_status && !k->r->out)
    return len;
  if (txf_buf_append(dst, p, len)) {
    k->overflow = 1;
    return 0; /* abort the transfer: the body is over its cap */
  }
  return len;
}

static void copy_header_value(char *dst, size_t cap, const char *v,
                              size_t n) {
  while (n > 0 && (*v == ' ' || *v == '\t' || *v == '"')) {
    v++;
    n--;
  }
  while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' ||
                   v[n - 1] == '"'))
    n--;
  if (n >= cap)
    n = cap - 1;
  memcpy(dst, v, n);
  dst[n] = '\0';
}

static int header_is(const char *line, size_t n, const char *name,
                     const char **val, size_t *vlen) {
  size_t nl = strlen(name);
  if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
    return 0;
  *val = line + nl + 1;
  *vlen = n - nl - 1;
  return 1;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  sink *k = ud;
  size_t len = size * n;
  const char *v;
  size_t vl;
  if (len > 5 && !strncmp(p, "HTTP/", 5)) {
    /* a new response (after 100 Continue, or a retry): forget headers */
    k->r->etag[0] = k->r->meta[0] = '\0';
    k->r->sse_got[0] = k->r->kms_got[0] = k->r->checksum_got[0] = '\0';
    k->r->has_length = 0;
    const char *sp = memchr(p, ' ', len);
    long code = sp ? strtol(sp + 1, NULL, 10) : 0;
    k->ok_status = code >= 200 && code < 300;
  } else if (header_is(p, len, "etag", &v, &vl)) {
    copy_header_value(k->r->etag, sizeof k->r->etag, v, vl);
  } else if (header_is(p, len, "x-amz-meta-sha256", &v, &vl)) {
    copy_header_value(k->r->meta, sizeof k->r->meta, v, vl);
  } else if (header_is(p, len, "x-amz-server-side-encryption", &v, &vl)) {
    copy_header_value(k->r->sse_got, sizeof k->r->sse_got, v, vl);
  } else if (header_is(p, len, "x-amz-server-side-encryption-aws-kms-key-id",
                       &v, &vl)) {
    copy_header_value(k->r->kms_got, sizeof k->r->kms_got, v, vl);
  } else if (header_is(p, len, "x-amz-checksum-sha256", &v, &vl)) {
    copy_header_value(k->r->checksum_got, sizeof k->r->checksum_got, v, vl);
  } else if (header_is(p, len, "content-length", &v, &vl)) {
    char tmp[32];
    copy_header_value(tmp, sizeof tmp, v, vl);
    uint64_t x;
    if (txf_parse_u64(tmp, &x) == 0) {
      k->r->content_length = x;
      k->r->has_length = 1;
    }
  }
  return len;
}

static int retryable_curl(CURLcode c) {
  switch (c) {
  case CURLE_COULDNT_CONNECT:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_WEIRD_SERVER_REPLY:
    return 1;
  default:
    return 0;
  }
}

/* The S3 error code of an error body ("SlowDown"), or "" into CODE. */
static void error_code(const txf_buf *b, char *code, size_t cap,
                       char *msg, size_t mcap) {
  code[0] = msg[0] = '\0';
  if (!b->data)
    return;
  txf_buf t;
  txf_buf_init(&t, 4096);
  const char *p = b->data;
  if (txf_s3_xml_next(&p, b->data + b->len, "Code", &t))
    snprintf(code, cap, "%s", t.data ? t.data : "");
  txf_buf_reset(&t);
  p = b->data;
  if (txf_s3_xml_next(&p, b->data + b->len, "Message", &t))
    snprintf(msg, mcap, "%s", t.data ? t.data : "");
  txf_buf_release(&t);
}

/* A body that does not match its checksums was damaged on the way (the
 * client hashed what it sends): sending it again is the cure. */
static int retryable_status(long st, const char *code) {
  return st == 500 || st == 502 || st == 503 || st == 504 || st == 429 ||
         (st == 400 && (!strcmp(code, "RequestTimeout") ||
                        !strcmp(code, "RequestTimeTooSkewed") ||
                        !strcmp(code, "BadDigest") ||
                        !strcmp(code, "XAmzContentSHA256Mismatch"))) ||
         !strcmp(code, "SlowDown") || !strcmp(code, "InternalError");
}

/* Keys a server refused as expired: renewed and sent again. */
static int expired_keys(long st, const char *code) {
  return (st == 400 || st == 403) &&
         (!strcmp(code, "ExpiredToken") ||
          !strcmp(code, "TokenRefreshRequired"));
}

/* The base64 of the 32 bytes whose hex is HEX (64 digits) into OUT. */
static void hex_to_base64(const char *hex, char out[48]) {
  unsigned char raw[32];
  for (int i = 0; i < 32; i++) {
    unsigned v = 0;
    for (int j = 0; j < 2; j++) {
      char c = hex[2 * i + j];
      v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 32) - 'a' + 10);
    }
    raw[i] = (unsigned char)v;
  }
  EVP_EncodeBlock((unsigned char *)out, raw, 32);
}

/* The request's headers, signed by curl with the others. KEYS' session
 * token goes in x-amz-security-token. The list holds a secret: free it
 * with txf_s3_wipe_headers(). */
static struct curl_slist *request_headers(const txf_s3 *s, const req *r,
                                          const char *sha,
                                          const txf_s3_keys *keys) {
  struct curl_slist *h = NULL;
  char line[320];
  snprintf(line, sizeof line, "x-amz-content-sha256: %s", sha);
  h = curl_slist_append(h, line);
  if (r->body_len || !strcmp(r->method, "PUT") || !strcmp(r->method, "POST")) {
    snprintf(line, sizeof line, "Content-Type: %s",
             r->content_type ? r->content_type : "application/octet-stream");
    h = curl_slist_append(h, line);
  }
  if (r->content_md5) {
    snprintf(line, sizeof line, "Content-MD5: %s", r->content_md5);
    h = curl_slist_append(h, line);
  }
  if (r->meta_sha256) {
    snprintf(line, sizeof line, "x-amz-meta-sha256: %s", r->meta_sha256);
    h = curl_slist_append(h, line);
  }
  if (r->checksum) {
    snprintf(line, sizeof line, "x-amz-checksum-sha256: %s", r->checksum_sent);
    h = curl_slist_append(h, line);
  }
  if (r->checksum_algorithm) {
    snprintf(line, sizeof line, "x-amz-checksum-algorithm: %s",
             r->checksum_algorithm);
    h = curl_slist_append(h, line);
  }
  if (r->checksum_mode)
    h = curl_slist_append(h, "x-amz-checksum-mode: ENABLED");
  if (r->sse && s->sse) {
    snprintf(line, sizeof line, "x-amz-server-side-encryption: %s", s->sse);
    h = curl_slist_append(h, line);
  }
  if (r->sse && s->kms_key_id) {
    char *l = txf_xasprintf("x-amz-server-side-encryption-aws-kms-key-id: %s",
                            s->kms_key_id);
    h = curl_slist_append(h, l);
    free(l);
  }
  if (keys->session_token) {
    char *l = txf_xasprintf("x-amz-security-token: %s", keys->session_token);
    h = curl_slist_append(h, l);
    txf_s3_wipe_free(l);
  }
  return h;
}



/* Where a request goes: its URL, and the Host header and path it is
 * signed with. */
typedef struct target {
  txf_buf url, host, path;
} target;

static void target_build(const txf_s3 *s, target *t, const char *key,
                         const char *query) {
  txf_buf_init(&t->url, 0);
  txf_buf_init(&t->host, 0);
  txf_buf_init(&t->path, 0);
  if (s->path_style) {
    (void)txf_buf_puts(&t->host, s->host);
    (void)txf_buf_printf(&t->path, "/%s/", s->bucket);
  } else {
    (void)txf_buf_printf(&t->host, "%s.%s", s->bucket, s->host);
    (void)txf_buf_puts(&t->path, "/");
  }
  if (key)
    txf_s3_uri_encode(&t->path, key, 1);
  const char *sep = strstr(s->scheme_host, "://");
  (void)txf_buf_append(&t->url, s->scheme_host,
                       (size_t)(sep + 3 - s->scheme_host));
  (void)txf_buf_printf(&t->url, "%s%s", t->host.data, t->path.data);
  if (query && *query)
    (void)txf_buf_printf(&t->url, "?%s", query);
}

static void target_release(target *t) {
  txf_buf_release(&t->url);
  txf_buf_release(&t->host);
  txf_buf_release(&t->path);
}


static void sleep_ms(int64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Send R, retrying as configured. On a 2xx: 0. 404: TXF_ENOTFOUND. Other
 * statuses and transport failures: TXF_ENET (or TXF_ECONFIG for 403 and
 * a missing bucket) with the S3 error code and message. */
static int do_request_on(txf_s3 *s, conn *cn, req *r, txf_err *err) {
  char sha[65];
  if (r->body_sha256)
    snprintf(sha, sizeof sha, "%s", r->body_sha256);
  else
    txf_sha256_hex(r->body ? r->body : "", r->body_len, sha);
  if (r->checksum)
    hex_to_base64(sha, r->checksum_sent);
  target t;
  target_build(s, &t, r->key, r->query);
  /* curl sends "Expect: 100-continue" before a large body: the round trip
   * costs little and lets S3 refuse a body (a bad signature, a bucket
   * policy) before it is sent. */

  CURL *c = cn->curl;
  int rc = 0;
  txf_buf_init(&r->errbody, MAX_ERROR_BODY);
  for (int attempt = 1;; attempt++) {
    /* The keys now, renewed when near their expiry: a part retried after
     * a renewal goes with the new ones. */
    txf_s3_keys keys;
    rc = txf_s3_creds_get(s->creds, 0, &keys, err);
    if (rc) {
      txf_err_wrap(err, "%s", r->what);
      break;
    }
    txf_s3_sigv4_req sr = {.method = r->method, .host = t.host.data,
                           .path = t.path.data, .query = r->query,
                           .payload_sha256 = sha, .region = s->region,
                           .service = "s3"};
    struct curl_slist *h = txf_s3_sigv4_add_headers(
        &sr, &keys, request_headers(s, r, sha, &keys));
    curl_easy_reset(c);
    sink k = {r, 0, 0};
    txf_buf_reset(&r->errbody);
    if (r->out)
      txf_buf_reset(r->out);
    r->status = 0;
    curl_easy_setopt(c, CURLOPT_URL, t.url.data);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &k);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)s->connect_ms);
    if (s->timeout_ms)
      curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->timeout_ms);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)s->stall_s);
    if (!strcmp(r->method, "HEAD")) {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(r->method, "GET")) {
      curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
      if (r->body_len || !strcmp(r->method, "PUT") ||
          !strcmp(r->method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? r->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)r->body_len);
      }
    }
    cn->stats.requests++;
    txf_log_debug(s->log, "s3: %s (attempt %d)", r->what, attempt);
    CURLcode cc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    txf_s3_wipe_headers(h);
    uint64_t gen = keys.generation;
    txf_s3_keys_release(&keys);
    char code[64] = "", msg[256] = "";
    int retry = 0;
    if (cc == CURLE_OK) {
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
      if (r->status >= 200 && r->status < 300) {
        cn->stats.bytes_sent += r->body_len;
        rc = 0;
        break;
      }
      error_code(&r->errbody, code, sizeof code, msg, sizeof msg);
      retry = retryable_status(r->status, code);
      if (expired_keys(r->status, code) && attempt < s->max_attempts) {
        /* Renewed now and sent again without waiting: the keys, not the
         * server, were the trouble. Keys that cannot be renewed end it. */
        txf_s3_keys nk;
        rc = txf_s3_creds_get(s->creds, gen, &nk, err);
        if (rc) {
          txf_err_wrap(err, "%s", r->what);
          break;
        }
        txf_s3_keys_release(&nk);
        cn->stats.retries++;
        txf_log_warn(s->log, "s3: %s: HTTP %ld %s; credentials renewed, "
                     "retry %d",
                     r->what, r->status, code, attempt);
        continue;
      }
      if (!retry) {
        if (r->status == 404 &&
            (strcmp(code, "NoSuchBucket") != 0 || !r->key)) {
          rc = txf_err_set(err, TXF_ENOTFOUND, "%s: not found (%s)", r->what,
                           code[0] ? code : "404");
        } else {
          rc = txf_err_set(
              err,
              r->status == 403 || !strcmp(code, "NoSuchBucket") ? TXF_ECONFIG
                                                                : TXF_ENET,
              "%s: HTTP %ld%s%s%s%s", r->what, r->status, code[0] ? " " : "",
              code, msg[0] ? ": " : "", msg);
        }
        break;
      }
    } else if (k.overflow) {
      rc = txf_err_set(err, TXF_ETOOBIG, "%s: response larger than %zu bytes",
                       r->what, r->out ? r->out->max : (size_t)MAX_ERROR_BODY);
      break;
    } else {
      retry = retryable_curl(cc);
      snprintf(msg, sizeof msg, "%s", curl_easy_strerror(cc));
      if (!retry) {
        rc = txf_err_set(err, TXF_ENET, "%s: %s", r->what, msg);
        break;
      }
    }
    if (attempt >= s->max_attempts) {
      if (cc == CURLE_OK)
        rc = txf_err_set(err, TXF_ENET, "%s: HTTP %ld %s%s%s (after %d "
                         "attempts)", r->what, r->status, code,
                         msg[0] ? ": " : "", msg, attempt);
      else
        rc = txf_err_set(err, TXF_ENET, "%s: %s (after %d attempts)",
                         r->what, msg, attempt);
      break;
    }
    int64_t wait =
        txf_s3_backoff_ms(attempt, s->base_ms, s->max_ms, &cn->rng);
    cn->stats.retries++;
    if (cc == CURLE_OK)
      txf_log_warn(s->log, "s3: %s: HTTP %ld %s; retry %d in %lld ms",
                   r->what, r->status, code, attempt, (long long)wait);
    else
      txf_log_warn(s->log, "s3: %s: %s; retry %d in %lld ms", r->what, msg,
                   attempt, (long long)wait);
    sleep_ms(wait);
  }
  target_release(&t);
  txf_buf_release(&r->errbody);
  return rc;
}

static int do_request(txf_s3 *s, req *r, txf_err *err) {
  return do_request_on(s, &s->main, r, err);
}

/* ---------------------------------------------------------------- objects */

/* Encryption asked for and not confirmed in the answer means a server
 * that ignored it (an S3-compatible one without KMS): the object is
 * there, unencrypted, which the settings forbid. */
static int sse_confirmed(const txf_s3 *s, const req *r, txf_err *err) {
  if (!s->sse || !strcmp(r->sse_got, s->sse))
    return 0;
  return txf_err_set(err, TXF_ECONFIG,
                     "%s: the server did not confirm %s encryption "
                     "(x-amz-server-side-encryption: %s)",
                     r->what, s->sse, r->sse_got[0] ? r->sse_got : "absent");
}

int txf_s3_object_encrypted_ok(const txf_s3 *s, const txf_s3_object *o) {
  if (!s->sse)
    return 1;
  if (strcmp(o->sse, s->sse) != 0)
    return 0;
  if (!s->kms_key_id || txf_str_has_prefix(s->kms_key_id, "alias/") ||
      strstr(s->kms_key_id, ":alias/"))
    return 1; /* the default key, or an alias: S3 answers the key's ARN */
  if (txf_str_has_prefix(s->kms_key_id, "arn:"))
    return !strcmp(o->kms_key_id, s->kms_key_id);
  size_t n = strlen(o->kms_key_id), k = strlen(s->kms_key_id);
  return !strcmp(o->kms_key_id, s->kms_key_id) ||
         (n > k && o->kms_key_id[n - k - 1] == '/' &&
          !strcmp(o->kms_key_id + n - k, s->kms_key_id));
}

int txf_s3_put(txf_s3 *s, const char *key, const void *data, size_t len,
               const char *content_type, const char *sha256_hex,
               txf_err *err) {
  char sha[65];
  if (!sha256_hex) {
    txf_sha256_hex(data, len, sha);
    sha256_hex = sha;
  }
  char *what = txf_xasprintf("put %s", key);
  req r = {.method = "PUT", .key = key, .body = data, .body_len = len,
           .body_sha256 = sha256_hex, .content_type = content_type,
           .meta_sha256 = sha256_hex, .sse = 1, .checksum = s->checksum,
           .what = what};
  int rc = do_request(s, &r, err);
  if (!rc)
    rc = sse_confirmed(s, &r, err);
  free(what);
  return rc;
}

static void md5_base64(const void *p, size_t n, char out[32]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned ml = 0;
  EVP_Digest(p, n, md, &ml, EVP_md5(), NULL);
  EVP_EncodeBlock((unsigned char *)out, md, (int)ml);
}

static int multipart_abort(txf_s3 *s, const char *key, const char *upload_id) {
  const char *q[] = {"uploadId", upload_id};
  txf_buf qs;
  txf_buf_init(&qs, 0);
  txf_s3_query_build(&qs, q, 1);
  char *what = txf_xasprintf("abort multipart upload of %s", key);
  req r = {.method = "DELETE", .key = key, .query = qs.data, .what = what};
  txf_err e2;
  int rc = do_request(s, &r, &e2);
  if (rc && rc != TXF_ENOTFOUND)
    txf_log_warn(s->log, "s3: %s", e2.msg);
  free(what);
  txf_buf_release(&qs);
  return rc == TXF_ENOTFOUND ? 0 : rc;
}

typedef struct parts_job {
  txf_s3 *s;
  const char *key, *upload_id;
  const unsigned char *data;
  uint64_t size, part, n_parts;
  char (*etags)[72];
  char (*sums)[48];   /* each part's x-amz-checksum-sha256 (if sent) */
  pthread_mutex_t mu; /* guards next, failed, err */
  uint64_t next;
  int failed; /* the first failure's code */
  txf_err err;
} parts_job;

typedef struct worker {
  parts_job *job;
  conn cn;
  int use_main; /* run on the client's own connection */
} worker;

static void *part_worker(void *arg) {
  worker *w = arg;
  parts_job *j = w->job;
  conn *cn = w->use_main ? &j->s->main : &w->cn;
  for (;;) {
    pthread_mutex_lock(&j->mu);
    uint64_t i = j->next++;
    int stop = j->failed || i >= j->n_parts;
    pthread_mutex_unlock(&j->mu);
    if (stop)
      break;
    uint64_t off = i * j->part;
    size_t len = (size_t)(j->size - off < j->part ? j->size - off : j->part);
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)(i + 1));
    const char *q[] = {"partNumber", num, "uploadId", j->upload_id};
    txf_buf qs;
    txf_buf_init(&qs, 0);
    txf_s3_query_build(&qs, q, 2);
    char *what = txf_xasprintf("put part %s/%llu of %s", num,
                               (unsigned long long)j->n_parts, j->key);
    req pr = {.method = "PUT", .key = j->key, .query = qs.data,
              .body = j->data + off, .body_len = len,
              .checksum = j->s->checksum, .what = what};
    txf_err e;
    txf_err_clear(&e);
    int rc = do_request_on(j->s, cn, &pr, &e);
    if (!rc && !pr.etag[0])
      rc = txf_err_set(&e, TXF_ENET, "%s: no ETag in the answer", what);
    if (!rc) {
      memcpy(j->etags[i], pr.etag, sizeof j->etags[i]);
      memcpy(j->sums[i], pr.checksum_sent, sizeof j->sums[i]);
    }
    free(what);
    txf_buf_release(&qs);
    if (rc) {
      pthread_mutex_lock(&j->mu);
      if (!j->failed) {
        j->failed = rc;
        j->err = e;
      }
      pthread_mutex_unlock(&j->mu);
      break;
    }
  }
  return NULL;
}

static int put_multipart(txf_s3 *s, const char *key, const unsigned char *data,
                         uint64_t size, const char *content_type,
                         const char *sha256_hex, txf_err *err) {
  uint64_t part = s->part_size;
  while ((size + part - 1) / part > TXF_S3_MAX_PARTS)
    part *= 2;
  uint64_t n_parts = size ? (size + part - 1) / part : 1;

  txf_buf out, qs;
  txf_buf_init(&out, MAX_ERROR_BODY);
  txf_buf_init(&qs, 0);
  const char *q0[] = {"uploads", NULL};
  txf_s3_query_build(&qs, q0, 1);
  char *what = txf_xasprintf("create multipart upload of %s", key);
  req r = {.method = "POST", .key = key, .query = qs.data,
           .content_type = content_type, .meta_sha256 = sha256_hex,
           .sse = 1, .checksum_algorithm = s->checksum ? "SHA256" : NULL,
           .out = &out, .what = what};
  int rc = do_request(s, &r, err);
  txf_buf_release(&qs);
  char *upload_id = NULL;
  if (!rc) {
    txf_buf id;
    txf_buf_init(&id, 4096);
    const char *p = out.data ? out.data : "";
    if (txf_s3_xml_next(&p, p + out.len, "UploadId", &id) && id.len)
      upload_id = txf_buf_take(&id, NULL);
    txf_buf_release(&id);
    if (!upload_id)
      rc = txf_err_set(err, TXF_ENET,
                       "create multipart upload of %s: no UploadId in the "
                       "answer",
                       key);
  }
  txf_buf_release(&out);
  if (!rc && (rc = sse_confirmed(s, &r, err)) != 0)
    (void)multipart_abort(s, key, upload_id);
  free(what);
  if (rc) {
    free(upload_id);
    return rc;
  }

  /* Parts, several in flight (each on its own connection); each request is
   * retried on its own; the first failure stops the others. */
  char(*etags)[72] = txf_xcalloc(n_parts, sizeof *etags);
  char(*sums)[48] = txf_xcalloc(n_parts, sizeof *sums);
  parts_job job = {.s = s, .key = key, .upload_id = upload_id, .data = data,
                   .size = size, .part = part, .n_parts = n_parts,
                   .etags = etags, .sums = sums};
  pthread_mutex_init(&job.mu, NULL);
  int n_workers = s->parallel;
  if ((uint64_t)n_workers > n_parts)
    n_workers = (int)n_parts;
  pthread_t *tids = txf_xcalloc((size_t)n_workers, sizeof *tids);
  worker *ws = txf_xcalloc((size_t)n_workers, sizeof *ws);
  int started = 0;
  for (int i = 0; i < n_workers; i++) {
    ws[i].job = &job;
    ws[i].cn.rng = s->main.rng + 0x9E3779B97F4A7C15u * (uint64_t)(i + 1);
    if (i == 0) {
      ws[i].cn.curl = NULL; /* worker 0 runs on this thread, main conn */
      continue;
    }
    ws[i].cn.curl = curl_easy_init();
    if (!ws[i].cn.curl ||
        pthread_create(&tids[i], NULL, part_worker, &ws[i]) != 0) {
      if (ws[i].cn.curl)
        curl_easy_cleanup(ws[i].cn.curl);
      ws[i].cn.curl = NULL;
      break; /* fewer workers; the ones running finish the job */
    }
    started++;
  }
  ws[0].use_main = 1;
  (void)part_worker(&ws[0]);
  for (int i = 1; i <= started; i++) {
    pthread_join(tids[i], NULL);
    curl_easy_cleanup(ws[i].cn.curl);
    s->main.stats.requests += ws[i].cn.stats.requests;
    s->main.stats.retries += ws[i].cn.stats.retries;
    s->main.stats.bytes_sent += ws[i].cn.stats.bytes_sent;
  }
  pthread_mutex_destroy(&job.mu);
  rc = job.failed;
  if (rc)
    *err = job.err;
  free(tids);
  free(ws);

  if (!rc) {
    txf_buf body;
    txf_buf_init(&body, 0);
    (void)txf_buf_puts(&body, "<CompleteMultipartUpload>");
    for (uint64_t i = 0; i < n_parts; i++) {
      (void)txf_buf_printf(&body, "<Part><PartNumber>%llu</PartNumber><ETag>",
                           (unsigned long long)(i + 1));
      txf_buf tag;
      txf_buf_init(&tag, 0);
      (void)txf_buf_printf(&tag, "\"%s\"", etags[i]);
      txf_s3_xml_escape(&body, tag.data);
      txf_buf_release(&tag);
      (void)txf_buf_puts(&body, "</ETag>");
      if (s->checksum) /* S3 checks each part's against what it got */
        (void)txf_buf_printf(&body, "<ChecksumSHA256>%s</ChecksumSHA256>",
                             sums[i]);
      (void)txf_buf_puts(&body, "</Part>");
    }
    (void)txf_buf_puts(&body, "</CompleteMultipartUpload>");
    const char *q[] = {"uploadId", upload_id};
    txf_buf_init(&qs, 0);
    txf_s3_query_build(&qs, q, 1);
    txf_buf_init(&out, MAX_ERROR_BODY);
    what = txf_xasprintf("complete multipart upload of %s", key);
    req cr = {.method = "POST", .key = key, .query = qs.data,
              .body = body.data, .body_len = body.len,
              .content_type = "application/xml", .out = &out, .what = what};
    rc = do_request(s, &cr, err);
    /* S3 may answer 200 and put the error in the body. */
    if (!rc && out.data && strstr(out.data, "<Error>")) {
      char code[64], msg[256];
      error_code(&out, code, sizeof code, msg, sizeof msg);
      rc = txf_err_set(err, TXF_ENET, "%s: %s: %s", what, code, msg);
    }
    free(what);
    txf_buf_release(&out);
    txf_buf_release(&qs);
    txf_buf_release(&body);
  }
  if (rc) {
    /* Leave no partial upload behind (its parts cost money and it is not
     * an object yet, so no reader could see it). */
    (void)multipart_abort(s, key, upload_id);
  }
  free(etags);
  free(sums);
  free(upload_id);
  return rc;
}

int txf_s3_put_file(txf_s3 *s, const char *key, const char *path,
                    const char *content_type, const char *sha256_hex,
                    txf_err *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return txf_err_errno(err, TXF_EIO, "%s", path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int rc = txf_err_errno(err, TXF_EIO, "%s", path);
    close(fd);
    return rc;
  }
  uint64_t size = (uint64_t)st.st_size;
  void *map = NULL;
  if (size > 0) {
    map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      int rc = txf_err_errno(err, TXF_EIO, "%s: mmap", path);
      close(fd);
      return rc;
    }
    (void)madvise(map, (size_t)size, MADV_SEQUENTIAL);
  }
  close(fd);
  char sha[65];
  if (!sha256_hex) {
    txf_sha256_hex(map ? map : "", (size_t)size, sha);
    sha256_hex = sha;
  }
  int rc;
  if (size >= s->threshold)
    rc = put_multipart(s, key, map, size, content_type, sha256_hex, err);
  else
    rc = txf_s3_put(s, key, map ? map : "", (size_t)size, content_type,
                    sha256_hex, err);
  if (map)
    munmap(map, (size_t)size);
  return rc;
}

int txf_s3_get(txf_s3 *s, const char *key, txf_buf *out, txf_err *err) {
  txf_buf tmp;
  txf_buf_init(&tmp, out->max ? out->max - out->len : 0);
  char *what = txf_xasprintf("get %s", key);
  req r = {.method = "GET", .key = key, .out = &tmp, .what = what};
  int rc = do_request(s, &r, err);
  if (!rc && r.has_length && r.content_length != tmp.len)
    rc = txf_err_set(err, TXF_ENET, "%s: got %zu bytes of %llu", what,
                     tmp.len, (unsigned long long)r.content_length);
  if (!rc && tmp.len)
    rc = txf_buf_append(out, tmp.data, tmp.len)
             ? txf_err_set(err, TXF_ETOOBIG, "%s: too large", what)
             : 0;
  free(what);
  txf_buf_release(&tmp);
  return rc;
}

int txf_s3_head(txf_s3 *s, const char *key, txf_s3_object *o, txf_err *err) {
  memset(o, 0, sizeof *o);
  char *what = txf_xasprintf("head %s", key);
  req r = {.method = "HEAD", .key = key, .checksum_mode = 1, .what = what};
  int rc = do_request(s, &r, err);
  free(what);
  if (rc)
    return rc;
  o->key = txf_xstrdup(key);
  o->size_bytes = r.content_length;
  snprintf(o->etag, sizeof o->etag, "%s", r.etag);
  snprintf(o->sha256, sizeof o->sha256, "%s", r.meta);
  snprintf(o->sse, sizeof o->sse, "%s", r.sse_got);
  snprintf(o->kms_key_id, sizeof o->kms_key_id, "%s", r.kms_got);
  snprintf(o->checksum_sha256, sizeof o->checksum_sha256, "%s",
           r.checksum_got);
  return 0;
}

int txf_s3_list_prefix(txf_s3 *s, const char *prefix, txf_s3_list *l,
                       txf_err *err) {
  char *token = NULL;
  char maxkeys[16];
  snprintf(maxkeys, sizeof maxkeys, "%d", s->list_keys);
  int rc = 0;
  txf_buf out, val;
  txf_buf_init(&out, MAX_LIST_BODY);
  txf_buf_init(&val, 0);
  for (int page = 1;; page++) {
    const char *q[8] = {"list-type", "2", "max-keys", maxkeys, "prefix",
                        prefix ? prefix : ""};
    size_t nq = 3;
    if (token) {
      q[6] = "continuation-token";
      q[7] = token;
      nq = 4;
    }
    txf_buf qs;
    txf_buf_init(&qs, 0);
    txf_s3_query_build(&qs, q, nq);
    char *what = txf_xasprintf("list %s (page %d)", prefix ? prefix : "",
                               page);
    req r = {.method = "GET", .query = qs.data, .out = &out, .what = what};
    rc = do_request(s, &r, err);
    txf_buf_release(&qs);
    if (rc) {
      free(what);
      break;
    }
    if (!out.data)
      (void)txf_buf_puts(&out, "");
    const char *end = out.data + out.len, *p = out.data;
    /* Each <Contents> block's fields, read from the raw block. */
    const char *blk;
    while ((blk = strstr(p, "<Contents>")) != NULL) {
      const char *bend = strstr(blk, "</Contents>");
      if (!bend) {
        rc = txf_err_set(err, TXF_ENET, "%s: malformed XML answer", what);
        break;
      }
      const char *f = blk;
      txf_buf_reset(&val);
      if (!txf_s3_xml_next(&f, bend, "Key", &val)) {
        rc = txf_err_set(err, TXF_ENET, "%s: <Contents> without <Key>", what);
        break;
      }
      if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->items = txf_xrealloc(l->items, l->cap * sizeof *l->items);
      }
      txf_s3_object *o = &l->items[l->n++];
      memset(o, 0, sizeof *o);
      o->key = txf_xstrndup(val.data ? val.data : "", val.len);
      f = blk;
      txf_buf_reset(&val);
      if (txf_s3_xml_next(&f, bend, "Size", &val) && val.data &&
          txf_parse_u64(val.data, &o->size_bytes) != 0) {
        rc = txf_err_set(err, TXF_ENET, "%s: bad <Size> '%s'", what, val.data);
        break;
      }
      f = blk;
      txf_buf_reset(&val);
      if (txf_s3_xml_next(&f, bend, "ETag", &val) && val.data)
        copy_header_value(o->etag, sizeof o->etag, val.data, val.len);
      p = bend + 11;
    }
    if (rc) {
      free(what);
      break;
    }
    const char *pp = out.data;
    txf_buf_reset(&val);
    int truncated = txf_s3_xml_next(&pp, end, "IsTruncated", &val) &&
                    val.data && !strcmp(val.data, "true");
    free(token);
    token = NULL;
    if (truncated) {
      pp = out.data;
      txf_buf_reset(&val);
      if (!txf_s3_xml_next(&pp, end, "NextContinuationToken", &val) ||
          !val.len) {
        rc = txf_err_set(err, TXF_ENET,
                         "%s: truncated without NextContinuationToken", what);
        free(what);
        break;
      }
      token = txf_xstrndup(val.data, val.len);
    }
    free(what);
    if (!truncated)
      break;
  }
  free(token);
  txf_buf_release(&out);
  txf_buf_release(&val);
  return rc;
}

int txf_s3_delete(txf_s3 *s, const char *const *keys, size_t n,
                  txf_err *err) {
  int rc = 0;
  for (size_t at = 0; at < n && !rc; at += DELETE_BATCH) {
    size_t m = n - at < DELETE_BATCH ? n - at : DELETE_BATCH;
    txf_buf body;
    txf_buf_init(&body, 0);
    (void)txf_buf_puts(&body,
                       "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                       "<Delete><Quiet>true</Quiet>");
    for (size_t i = 0; i < m; i++) {
      (void)txf_buf_puts(&body, "<Object><Key>");
      txf_s3_xml_escape(&body, keys[at + i]);
      (void)txf_buf_puts(&body, "</Key></Object>");
    }
    (void)txf_buf_puts(&body, "</Delete>");
    char md5[32];
    md5_base64(body.data, body.len, md5);
    const char *q[] = {"delete", NULL};
    txf_buf qs, out;
    txf_buf_init(&qs, 0);
    txf_buf_init(&out, MAX_LIST_BODY);
    txf_s3_query_build(&qs, q, 1);
    char *what = txf_xasprintf("delete %zu objects", m);
    req r = {.method = "POST", .query = qs.data, .body = body.data,
             .body_len = body.len, .content_type = "application/xml",
             .content_md5 = md5, .out = &out, .what = what};
    rc = do_request(s, &r, err);
    if (!rc && out.data) {
      /* Quiet mode lists only the failures. */
      const char *p = out.data, *end = out.data + out.len;
      txf_buf e;
      txf_buf_init(&e, 0);
      if (txf_s3_xml_next(&p, end, "Error", &e)) {
        const char *ep = out.data;
        const char *blk = strstr(ep, "<Error>");
        const char *bend = blk ? strstr(blk, "</Error>") : NULL;
        txf_buf k2, c2;
        txf_buf_init(&k2, 0);
        txf_buf_init(&c2, 0);
        if (blk && bend) {
          const char *f = blk;
          (void)txf_s3_xml_next(&f, bend, "Key", &k2);
          f = blk;
          (void)txf_s3_xml_next(&f, bend, "Code", &c2);
        }
        rc = txf_err_set(err, TXF_ENET, "delete %s: %s",
                         k2.data ? k2.data : "?", c2.data ? c2.data : "error");
        txf_buf_release(&k2);
        txf_buf_release(&c2);
      }
      txf_buf_release(&e);
    }
    free(what);
    txf_buf_release(&qs);
    txf_buf_release(&out);
    txf_buf_release(&body);
  }
  return rc;
}
