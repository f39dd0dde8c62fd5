/* The AWS credential chain, in the order the SDKs use (the JavaScript and
 * Go SDKs'; docs/publish.md, "Credentials"): the environment, the shared
 * files, web identity, the container endpoint, the instance metadata
 * service. The first source that is configured gives the keys; one that
 * is configured but fails stops the chain with its error (falling through
 * to another identity would be a surprise), and a chain where nothing is
 * configured says what it tried.
 *
 * The sources that give temporary keys are fetched again on renewal
 * (creds.c): STS AssumeRole signed with the source profile's keys (which
 * may themselves be temporary), STS AssumeRoleWithWebIdentity with the
 * token file read anew each time (EKS rotates it), the container endpoint
 * with its authorization token file read anew, and IMDSv2.
 *
 * Secrets — keys, session and web identity tokens, the container's
 * authorization token, the IMDS session token — are held in memory only
 * as long as needed and wiped; no message formats one. Request bodies that
 * carry them go to libcurl from memory, never a command line. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "s3/internal.h"

#define MAX_ANSWER (256u << 10)
#define MAX_TOKEN_FILE (64u << 10)
#define MAX_SHARED_FILE (1u << 20)
#define CONTAINER_HOST "http://169.254.170.2"
#define IMDS_HOST "http://169.254.169.254"
#define IMDS_HOST_V6 "http://[fd00:ec2::254]"
#define STS_VERSION "2011-06-15"

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

static int env_true(const char *name) {
  const char *v = env(name);
  return v && !strcasecmp(v, "true");
}

/* ---------------------------------------------------------------- http */

/* One small request to a credentials endpoint. */
typedef struct call {
  const char *method; /* GET PUT POST */
  const char *url;
  struct curl_slist *headers; /* borrowed */
  const char *body;           /* POST/PUT body or NULL */
  size_t body_len;
  const char *sign_region; /* sign for STS in this region, or NULL */
  const txf_s3_keys *keys; /* with these */
  long timeout_ms;
  int attempts;
  const char *what; /* "STS AssumeRole at URL", for messages */
  int direct;       /* a link-local endpoint: never through a proxy */
  long status;
  txf_buf answer; /* capped; may hold secrets: wiped by the caller */
} call;

static size_t on_answer(char *p, size_t size, size_t n, void *ud) {
  txf_buf *b = ud;
  return txf_buf_append(b, p, size * n) ? 0 : size * n;
}

static int retryable(CURLcode cc, long status) {
  if (cc == CURLE_OK)
    return status >= 500 || status == 429;
  return cc == CURLE_COULDNT_CONNECT || cc == CURLE_OPERATION_TIMEDOUT ||
         cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR ||
         cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE;
}

/* C's headers signed for STS (a fresh x-amz-date each attempt): a copy
 * with x-amz-date, Host and Authorization added. Free with
 * txf_s3_wipe_headers(). */
static struct curl_slist *sts_sign(const call *c) {
  struct curl_slist *h = NULL;
  for (const struct curl_slist *i = c->headers; i; i = i->next)
    h = curl_slist_append(h, i->data);
  const char *hs = strstr(c->url, "://") + 3;
  size_t hl = strcspn(hs, "/?");
  char *host = txf_xstrndup(hs, hl);
  char sha[65];
  txf_sha256_hex(c->body ? c->body : "", c->body_len, sha);
  txf_s3_sigv4_req r = {.method = c->method,
                        .host = host,
                        .path = hs[hl] == '/' ? hs + hl : "/",
                        .payload_sha256 = sha,
                        .region = c->sign_region,
                        .service = "sts"};
  h = txf_s3_sigv4_add_headers(&r, c->keys, h);
  free(host);
  return h;
}

/* Send C; 0 with C->status and C->answer set for any HTTP answer (the
 * caller judges the status), TXF_ENET when none came (after the attempts:
 * connection and time-out failures and 5xx are retried). */
static int call_run(call *c, txf_err *err) {
  CURL *h = curl_easy_init();
  if (!h)
    return txf_err_set(err, TXF_EINTERNAL, "curl_easy_init failed");
  txf_buf_init(&c->answer, MAX_ANSWER);
  int rc = 0;
  for (int attempt = 1;; attempt++) {
    curl_easy_reset(h);
    txf_s3_wipe_buf(&c->answer);
    txf_buf_init(&c->answer, MAX_ANSWER);
    c->status = 0;
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (c->direct)
      curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_answer);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c->answer);
    struct curl_slist *signed_h = c->sign_region ? sts_sign(c) : NULL;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, signed_h ? signed_h : c->headers);
    if (strcmp(c->method, "GET") != 0) {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body ? c->body : "");
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body_len);
    }
    CURLcode cc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    txf_s3_wipe_headers(signed_h);
    if (cc == CURLE_OK)
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
    if (cc == CURLE_OK && !retryable(cc, c->status))
      break;
    if (attempt >= c->attempts || !retryable(cc, c->status)) {
      if (cc == CURLE_OK)
        break; /* a 5xx after the last attempt: the caller reports it */
      rc = txf_err_set(err, TXF_ENET, "%s: %s%s", c->what,
                       curl_easy_strerror(cc),
                       attempt > 1 ? " (after retries)" : "");
      break;
    }
    struct timespec ts = {0, 100000000L << (attempt < 4 ? attempt - 1 : 3)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
  curl_easy_cleanup(h);
  return rc;
}

/* ---------------------------------------------------------------- sources */

typedef enum {
  SRC_STATIC,       /* keys as given (environment, a profile) */
  SRC_ASSUME_ROLE,  /* STS AssumeRole signed with FROM's keys */
  SRC_WEB_IDENTITY, /* STS AssumeRoleWithWebIdentity */
  SRC_CONTAINER,    /* the ECS/EKS container credentials endpoint */
  SRC_IMDS          /* the EC2 instance metadata service, IMDSv2 */
} src_kind;

typedef struct source {
  src_kind kind;
  txf_s3_keys keys;    /* SRC_STATIC */
  struct source *from; /* SRC_ASSUME_ROLE */
  char *role_arn, *session_name, *external_id;
  int64_t duration_s; /* 0: STS's default */
  char *token_file;   /* SRC_WEB_IDENTITY */
  char *sts_url;      /* "https://sts.us-east-1.amazonaws.com" */
  char *sts_region;   /* the region STS signs for */
  char *url;          /* SRC_CONTAINER: the full URL; SRC_IMDS: the host */
  char *auth_file;    /* SRC_CONTAINER: token file, or */
  char *auth_token;   /* the token itself (a secret) */
  long timeout_ms;
  int attempts;
} source;

static void source_free(void *p) {
  source *s = p;
  if (!s)
    return;
  txf_s3_keys_release(&s->keys);
  source_free(s->from);
  TXF_FREE_ALL(s->role_arn, s->session_name, s->external_id, s->token_file,
               s->sts_url, s->sts_region, s->url, s->auth_file);
  txf_s3_wipe_free(s->auth_token);
  free(s);
}

static source *source_new(src_kind kind) {
  source *s = txf_xcalloc(1, sizeof *s);
  s->kind = kind;
  s->timeout_ms = 10000;
  s->attempts = 3;
  return s;
}

/* Read a token file whole, trailing whitespace removed, into *OUT (a
 * secret: the caller wipes it). */
static int read_token(const char *path, const char *what, char **out,
                      txf_err *err) {
  txf_buf b;
  txf_buf_init(&b, MAX_TOKEN_FILE);
  int rc = txf_fs_read_file(path, &b, err);
  if (rc) {
    txf_s3_wipe_buf(&b);
    return txf_err_wrap(err, "%s", what);
  }
  while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r' ||
                   b.data[b.len - 1] == ' ' || b.data[b.len - 1] == '\t'))
    b.data[--b.len] = '\0';
  if (!b.len || memchr(b.data, '\n', b.len) || memchr(b.data, '\r', b.len)) {
    txf_s3_wipe_buf(&b);
    return txf_err_set(err, TXF_ECONFIG, "%s: %s: %s", what, path,
                       b.len ? "more than one line" : "empty");
  }
  *out = txf_buf_take(&b, NULL);
  return 0;
}

static int parse_expiry(const char *s, int64_t *out_us) {
  int64_t us;
  if (!s || txf_ts_parse(s, strlen(s), &us, NULL) != 0)
    return TXF_EPARSE;
  *out_us = us;
  return 0;
}

/* The text of element TAG in [P, END) into a new string, or NULL. */
static char *xml_text(const char *p, const char *end, const char *tag) {
  txf_buf b;
  txf_buf_init(&b, 0);
  char *s = NULL;
  if (txf_s3_xml_next(&p, end, tag, &b))
    s = txf_buf_take(&b, NULL);
  txf_s3_wipe_buf(&b);
  return s;
}

/* An STS answer: the keys, or the error it carries. */
static int sts_answer(call *c, txf_s3_keys *out, txf_err *err) {
  const char *p = c->answer.data ? c->answer.data : "";
  const char *end = p + c->answer.len;
  if (c->status < 200 || c->status >= 300) {
    char *code = xml_text(p, end, "Code"), *msg = xml_text(p, end, "Message");
    /* STS's messages name the role and the reason, never a key. */
    int rc = txf_err_set(
        err, c->status == 403 || c->status == 400 ? TXF_ECONFIG : TXF_ENET,
        "%s: HTTP %ld%s%s%s%s", c->what, c->status, code ? " " : "",
        code ? code : "", msg ? ": " : "", msg ? msg : "");
    free(code);
    free(msg);
    return rc;
  }
  const char *blk = strstr(p, "<Credentials>");
  const char *bend = blk ? strstr(blk, "</Credentials>") : NULL;
  if (!bend)
    return txf_err_set(err, TXF_ENET, "%s: no <Credentials> in the answer",
                       c->what);
  out->access_key_id = xml_text(blk, bend, "AccessKeyId");
  out->secret_access_key = xml_text(blk, bend, "SecretAccessKey");
  out->session_token = xml_text(blk, bend, "SessionToken");
  char *exp = xml_text(blk, bend, "Expiration");
  int bad = parse_expiry(exp, &out->expires_us);
  free(exp);
  if (bad || !out->access_key_id || !out->secret_access_key ||
      !out->session_token)
    return txf_err_set(err, TXF_ENET,
                       "%s: the answer lacks AccessKeyId, SecretAccessKey, "
                       "SessionToken or a valid Expiration",
                       c->what);
  return 0;
}

/* Append "&NAME=VALUE" form-encoded. */
static void form_add(txf_buf *b, const char *name, const char *value) {
  (void)txf_buf_printf(b, "&%s=", name);
  txf_s3_uri_encode(b, value, 0);
}

static int fetch_source(source *s, txf_s3_keys *out, txf_err *err);

static int fetch_sts(source *s, txf_s3_keys *out, txf_err *err) {
  txf_buf body;
  txf_buf_init(&body, 0);
  txf_s3_keys from = {0};
  const int web = s->kind == SRC_WEB_IDENTITY;
  int rc = 0;
  (void)txf_buf_printf(&body, "Action=%s&Version=" STS_VERSION,
                       web ? "AssumeRoleWithWebIdentity" : "AssumeRole");
  form_add(&body, "RoleArn", s->role_arn);
  form_add(&body, "RoleSessionName", s->session_name);
  if (s->external_id)
    form_add(&body, "ExternalId", s->external_id);
  if (s->duration_s) {
    char d[24];
    snprintf(d, sizeof d, "%lld", (long long)s->duration_s);
    form_add(&body, "DurationSeconds", d);
  }
  if (web) {
    char *tok = NULL;
    rc = read_token(s->token_file, "web identity token", &tok, err);
    if (!rc)
      form_add(&body, "WebIdentityToken", tok);
    txf_s3_wipe_free(tok);
  } else {
    rc = fetch_source(s->from, &from, err);
  }
  if (rc) {
    txf_s3_wipe_buf(&body);
    return rc;
  }
  struct curl_slist *h = curl_slist_append(
      NULL, "Content-Type: application/x-www-form-urlencoded; charset=utf-8");
  h = curl_slist_append(h, "Accept: application/xml");
  if (from.session_token) {
    char *t = txf_xasprintf("x-amz-security-token: %s", from.session_token);
    h = curl_slist_append(h, t);
    txf_s3_wipe_free(t);
  }
  char *what = txf_xasprintf("STS %s at %s",
                             web ? "AssumeRoleWithWebIdentity" : "AssumeRole",
                             s->sts_url);
  char *url = txf_xasprintf("%s/", s->sts_url);
  call c = {.method = "POST",
            .url = url,
            .headers = h,
            .body = body.data,
            .body_len = body.len,
            .sign_region = web ? NULL : s->sts_region,
            .keys = &from,
            .timeout_ms = s->timeout_ms,
            .attempts = s->attempts,
            .what = what};
  rc = call_run(&c, err);
  if (!rc)
    rc = sts_answer(&c, out, err);
  txf_s3_wipe_buf(&c.answer);
  txf_s3_wipe_headers(h);
  txf_s3_wipe_buf(&body);
  txf_s3_keys_release(&from);
  free(url);
  free(what);
  return rc;
}

/* Keys from a JSON answer of the container endpoint or IMDS. */
static int json_keys(call *c, txf_s3_keys *out, txf_err *err) {
  json_error_t je;
  json_t *j =
      json_loadb(c->answer.data ? c->answer.data : "", c->answer.len, 0, &je);
  if (!j || !json_is_object(j)) {
    json_decref(j);
    return txf_err_set(err, TXF_ENET, "%s: the answer is not a JSON object",
                       c->what);
  }
  const char *code = json_string_value(json_object_get(j, "Code"));
  const char *ak = json_string_value(json_object_get(j, "AccessKeyId"));
  const char *sk = json_string_value(json_object_get(j, "SecretAccessKey"));
  const char *tok = json_string_value(json_object_get(j, "Token"));
  const char *exp = json_string_value(json_object_get(j, "Expiration"));
  int rc = 0;
  if (code && strcmp(code, "Success") != 0)
    rc = txf_err_set(err, TXF_ENET, "%s: Code %s", c->what, code);
  else if (!ak || !sk || !tok || parse_expiry(exp, &out->expires_us))
    rc = txf_err_set(err, TXF_ENET,
                     "%s: the answer lacks AccessKeyId, SecretAccessKey, "
                     "Token or a valid Expiration",
                     c->what);
  if (!rc) {
    out->access_key_id = txf_xstrdup(ak);
    out->secret_access_key = txf_xstrdup(sk);
    out->session_token = txf_xstrdup(tok);
  }
  json_decref(j);
  return rc;
}

static int status_error(const call *c, txf_err *err) {
  return txf_err_set(err,
                     c->status == 401 || c->status == 403 || c->status == 404
                         ? TXF_ECONFIG
                         : TXF_ENET,
                     "%s: HTTP %ld", c->what, c->status);
}

/* METHOD URL with H from source S's endpoint (never through a proxy), into
 * *C; a status other than 2xx is an error. C->answer is the caller's to
 * wipe, in every case. */
static int fetch_ok(const source *s, const char *method, const char *url,
                    struct curl_slist *h, const char *what, call *c,
                    txf_err *err) {
  *c = (call){.method = method,
              .url = url,
              .headers = h,
              .timeout_ms = s->timeout_ms,
              .attempts = s->attempts,
              .what = what,
              .direct = 1};
  int rc = call_run(c, err);
  if (!rc && (c->status < 200 || c->status >= 300))
    rc = status_error(c, err);
  return rc;
}

static int fetch_container(source *s, txf_s3_keys *out, txf_err *err) {
  char *tok = NULL;
  int rc = 0;
  if (s->auth_file)
    rc = read_token(s->auth_file,
                    "container authorization token "
                    "(AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)",
                    &tok, err);
  else if (s->auth_token)
    tok = txf_xstrdup(s->auth_token);
  if (rc)
    return rc;
  struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
  if (tok) {
    char *line = txf_xasprintf("Authorization: %s", tok);
    h = curl_slist_append(h, line);
    txf_s3_wipe_free(line);
  }
  txf_s3_wipe_free(tok);
  char *what = txf_xasprintf("container credentials at %s", s->url);
  call c;
  rc = fetch_ok(s, "GET", s->url, h, what, &c, err);
  if (!rc)
    rc = json_keys(&c, out, err);
  txf_s3_wipe_buf(&c.answer);
  txf_s3_wipe_headers(h);
  free(what);
  return rc;
}

/* IMDSv2: a session token (PUT), the role attached to the instance, its
 * keys. */
static int fetch_imds(source *s, txf_s3_keys *out, txf_err *err) {
  char *url = txf_xasprintf("%s/latest/api/token", s->url);
  char *what = txf_xasprintf("instance metadata at %s", s->url);
  struct curl_slist *h =
      curl_slist_append(NULL, "x-aws-ec2-metadata-token-ttl-seconds: 21600");
  call c;
  int rc = fetch_ok(s, "PUT", url, h, what, &c, err);
  char *tok = NULL;
  if (!rc) {
    tok = txf_buf_take(&c.answer, NULL);
    char *nl = strpbrk(tok, "\r\n");
    if (nl)
      *nl = '\0';
  }
  txf_s3_wipe_buf(&c.answer);
  curl_slist_free_all(h);
  free(url);
  h = NULL;
  if (!rc) {
    char *line = txf_xasprintf("x-aws-ec2-metadata-token: %s", tok);
    h = curl_slist_append(NULL, line);
    txf_s3_wipe_free(line);
  }
  txf_s3_wipe_free(tok);
  char *role = NULL;
  if (!rc) {
    url =
        txf_xasprintf("%s/latest/meta-data/iam/security-credentials/", s->url);
    rc = fetch_ok(s, "GET", url, h, what, &c, err);
    if (rc && c.status == 404)
      rc = txf_err_set(err, TXF_ECONFIG,
                       "%s: no IAM role is attached to this instance", what);
    if (!rc) {
      role = txf_buf_take(&c.answer, NULL);
      role[strcspn(role, "\r\n")] = '\0';
      if (!*role || strchr(role, '/'))
        rc = txf_err_set(err, TXF_ENET, "%s: no role name in the answer", what);
    }
    txf_s3_wipe_buf(&c.answer);
    free(url);
  }
  if (!rc) {
    url = txf_xasprintf("%s/latest/meta-data/iam/security-credentials/%s",
                        s->url, role);
    rc = fetch_ok(s, "GET", url, h, what, &c, err);
    if (!rc)
      rc = json_keys(&c, out, err);
    txf_s3_wipe_buf(&c.answer);
    free(url);
  }
  free(role);
  txf_s3_wipe_headers(h);
  free(what);
  return rc;
}

static int fetch_source(source *s, txf_s3_keys *out, txf_err *err) {
  memset(out, 0, sizeof *out);
  int rc;
  switch (s->kind) {
  case SRC_STATIC:
    out->access_key_id = txf_xstrdup(s->keys.access_key_id);
    out->secret_access_key = txf_xstrdup(s->keys.secret_access_key);
    out->session_token =
        s->keys.session_token ? txf_xstrdup(s->keys.session_token) : NULL;
    out->expires_us = s->keys.expires_us;
    return 0;
  case SRC_ASSUME_ROLE:
  case SRC_WEB_IDENTITY:
    rc = fetch_sts(s, out, err);
    break;
  case SRC_CONTAINER:
    rc = fetch_container(s, out, err);
    break;
  default:
    rc = fetch_imds(s, out, err);
    break;
  }
  if (rc)
    txf_s3_keys_release(out);
  return rc;
}

static int fetch_cb(void *ud, txf_s3_keys *out, txf_err *err) {
  return fetch_source(ud, out, err);
}

/* ---------------------------------------------------------------- settings */

/* What the chain reads besides the keys: the shared files and the
 * profile, for STS's endpoint and region and IMDS's address. */
typedef struct files {
  txf_s3_ini *cred, *conf;
  char *cred_path, *conf_path;
  const char *profile;  /* the active profile */
  int explicit_profile; /* named by AWS_PROFILE */
  const char *region_default;
  const txf_logger *log;
} files;

/* PATH with a leading "~/" taken from $HOME; caller frees. */
static char *expand_home(const char *path) {
  const char *home = env("HOME");
  if (home && (txf_str_has_prefix(path, "~/") || !strcmp(path, "~")))
    return txf_xasprintf("%s%s", home, path + 1);
  return txf_xstrdup(path);
}

static int load_file(const char *var, const char *def, int config, char **path,
                     txf_s3_ini **ini, txf_err *err) {
  const char *p = env(var);
  const char *home = env("HOME");
  *ini = txf_s3_ini_new();
  if (!p && !home)
    return 0;
  *path = p ? expand_home(p) : txf_xasprintf("%s/%s", home, def);
  if (!txf_fs_exists(*path))
    return 0; /* no such file: nothing in it */
  txf_buf b;
  txf_buf_init(&b, MAX_SHARED_FILE);
  int rc = txf_fs_read_file(*path, &b, err);
  if (!rc)
    txf_s3_ini_add(*ini, b.data ? b.data : "", b.len, config);
  txf_s3_wipe_buf(&b);
  return rc;
}

/* KEY of PROFILE: the credentials file's value, else the config file's;
 * *FROM (may be NULL) gets the path it came from. */
static const char *pget(const files *f, const char *profile, const char *key,
                        const char **from) {
  const char *v = txf_s3_ini_get(f->cred, profile, key);
  if (v && from)
    *from = f->cred_path;
  if (!v) {
    v = txf_s3_ini_get(f->conf, profile, key);
    if (v && from)
      *from = f->conf_path;
  }
  return v && *v ? v : NULL;
}

static int has_profile(const files *f, const char *profile) {
  return txf_s3_ini_has_profile(f->cred, profile) ||
         txf_s3_ini_has_profile(f->conf, profile);
}

static const char *region_of(const files *f) {
  const char *r = env("AWS_REGION");
  if (!r)
    r = env("AWS_DEFAULT_REGION");
  if (!r)
    r = pget(f, f->profile, "region", NULL);
  return r ? r : f->region_default;
}

static int valid_url(const char *u) {
  return (txf_str_has_prefix(u, "http://") && u[7]) ||
         (txf_str_has_prefix(u, "https://") && u[8]);
}

/* STS's endpoint, with the precedence of the SDKs' configured endpoints:
 * the service's variable, the global one, the profile's services
 * section, the profile's endpoint_url; else the regional endpoint. */
static int sts_endpoint(const files *f, source *s, txf_err *err) {
  const char *region = region_of(f);
  const char *u = NULL, *from = NULL;
  if (!env_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) {
    const char *svc = pget(f, f->profile, "services", NULL);
    if ((u = env("AWS_ENDPOINT_URL_STS")))
      from = "AWS_ENDPOINT_URL_STS";
    else if ((u = env("AWS_ENDPOINT_URL")))
      from = "AWS_ENDPOINT_URL";
    else if (svc && (u = txf_s3_ini_service(f->conf, svc, "sts.endpoint_url")))
      from = "the services section";
    else if ((u = pget(f, f->profile, "endpoint_url", NULL)))
      from = "endpoint_url";
  }
  for (const char *r = region; *r; r++)
    if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-'))
      return txf_err_set(err, TXF_ECONFIG, "region '%s' is not valid", region);
  if (u && !valid_url(u))
    return txf_err_set(err, TXF_ECONFIG,
                       "STS endpoint '%s' (%s) must start with http:// or "
                       "https://",
                       u, from);
  if (u) {
    size_t n = strlen(u);
    while (n && u[n - 1] == '/')
      n--;
    s->sts_url = txf_xstrndup(u, n);
  } else {
    s->sts_url = txf_xasprintf("https://sts.%s.amazonaws.com%s", region,
                               txf_str_has_prefix(region, "cn-") ? ".cn" : "");
  }
  s->sts_region = txf_xstrdup(region);
  return 0;
}

static char *session_name(const char *given) {
  if (given)
    return txf_xstrdup(given);
  return txf_xasprintf("txnflow-%lld",
                       (long long)(txf_wall_us() / TXF_US_PER_S));
}

/* The instance metadata service as the environment and profile set it;
 * NULL when disabled. */
static int imds_source(const files *f, source **out, txf_err *err) {
  *out = NULL;
  if (env_true("AWS_EC2_METADATA_DISABLED"))
    return 0;
  const char *u = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  if (!u)
    u = pget(f, f->profile, "ec2_metadata_service_endpoint", NULL);
  const char *mode = env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
  if (!mode)
    mode = pget(f, f->profile, "ec2_metadata_service_endpoint_mode", NULL);
  if (!u)
    u = mode && !strcasecmp(mode, "IPv6") ? IMDS_HOST_V6 : IMDS_HOST;
  if (!valid_url(u))
    return txf_err_set(err, TXF_ECONFIG,
                       "instance metadata endpoint '%s' must start with "
                       "http:// or https://",
                       u);
  source *s = source_new(SRC_IMDS);
  size_t n = strlen(u);
  while (n && u[n - 1] == '/')
    n--;
  s->url = txf_xstrndup(u, n);
  /* The SDKs' defaults: one attempt of one second, since off EC2 nothing
   * answers there and the chain should fail fast. */
  uint64_t v;
  const char *t = env("AWS_METADATA_SERVICE_TIMEOUT");
  s->timeout_ms = t && txf_parse_u64(t, &v) == 0 && v > 0 && v < 3600
                      ? (long)v * 1000
                      : 1000;
  t = env("AWS_METADATA_SERVICE_NUM_ATTEMPTS");
  s->attempts = t && txf_parse_u64(t, &v) == 0 && v > 0 && v < 100 ? (int)v : 1;
  *out = s;
  return 0;
}

/* Is HOST (as in a URL, IPv6 in brackets) one the SDKs let the container
 * provider reach over plain http? */
static int container_host_ok(const char *host) {
  if (!strcasecmp(host, "localhost") || !strcmp(host, "169.254.170.2") ||
      !strcmp(host, "169.254.170.23"))
    return 1;
  char h[64];
  size_t n = strlen(host);
  if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof h) {
    memcpy(h, host + 1, n - 2);
    h[n - 2] = '\0';
    struct in6_addr a6, lo, ecs;
    return inet_pton(AF_INET6, h, &a6) == 1 &&
           inet_pton(AF_INET6, "::1", &lo) == 1 &&
           inet_pton(AF_INET6, "fd00:ec2::23", &ecs) == 1 &&
           (!memcmp(&a6, &lo, sizeof a6) || !memcmp(&a6, &ecs, sizeof a6));
  }
  struct in_addr a4;
  return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

int txf_s3_container_url(char **out, txf_err *err) {
  *out = NULL;
  const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (rel) {
    *out = txf_xasprintf(CONTAINER_HOST "%s%s", rel[0] == '/' ? "" : "/", rel);
    return 0;
  }
  if (!full)
    return 0;
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL;
  int ok = u && curl_url_set(u, CURLUPART_URL, full, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK;
  int allowed = ok && (!strcmp(scheme, "https") ||
                       (!strcmp(scheme, "http") && container_host_ok(host)));
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(u);
  if (!allowed)
    return txf_err_set(err, TXF_ECONFIG,
                       "AWS_CONTAINER_CREDENTIALS_FULL_URI '%s': %s", full,
                       ok ? "over http only a loopback address or the "
                            "ECS/EKS agent (169.254.170.2, 169.254.170.23, "
                            "fd00:ec2::23) is allowed"
                          : "not a URL");
  *out = txf_xstrdup(full);
  return 0;
}

static int container_source(source **out, txf_err *err) {
  *out = NULL;
  char *url = NULL;
  int rc = txf_s3_container_url(&url, err);
  if (rc || !url)
    return rc;
  source *s = source_new(SRC_CONTAINER);
  s->url = url;
  s->timeout_ms = 2000;
  const char *file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  const char *tok = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  if (file)
    s->auth_file = expand_home(file);
  else if (tok && strpbrk(tok, "\r\n")) {
    source_free(s);
    return txf_err_set(err, TXF_ECONFIG,
                       "AWS_CONTAINER_AUTHORIZATION_TOKEN holds a line "
                       "break");
  } else if (tok)
    s->auth_token = txf_xstrdup(tok);
  *out = s;
  return 0;
}

/* ---------------------------------------------------------------- profiles */

static source *static_source(const char *ak, const char *sk, const char *tok) {
  source *s = source_new(SRC_STATIC);
  s->keys.access_key_id = txf_xstrdup(ak);
  s->keys.secret_access_key = txf_xstrdup(sk);
  s->keys.session_token = tok ? txf_xstrdup(tok) : NULL;
  return s;
}

static int profile_source(const files *f, const char *name,
                          txf_strlist *visited, source **out,
                          txf_s3_creds_info *info, txf_err *err);

/* The source that signs a role profile's AssumeRole. */
static int role_from(const files *f, const char *name, txf_strlist *visited,
                     source **out, txf_s3_creds_info *info, txf_err *err) {
  const char *sp = pget(f, name, "source_profile", NULL);
  const char *cs = pget(f, name, "credential_source", NULL);
  *out = NULL;
  if (sp && cs)
    return txf_err_set(err, TXF_ECONFIG,
                       "profile '%s': source_profile and credential_source "
                       "are both set; keep one",
                       name);
  if (sp) {
    if (!has_profile(f, sp))
      return txf_err_set(err, TXF_ECONFIG,
                         "profile '%s': source_profile '%s' does not exist",
                         name, sp);
    int rc = profile_source(f, sp, visited, out, info, err);
    if (!rc && !*out)
      rc = txf_err_set(err, TXF_ECONFIG,
                       "profile '%s': source_profile '%s' has no "
                       "credentials",
                       name, sp);
    return rc;
  }
  if (!cs)
    return txf_err_set(err, TXF_ECONFIG,
                       "profile '%s' has role_arn but neither "
                       "source_profile nor credential_source",
                       name);
  if (!strcmp(cs, "Environment")) {
    const char *ak = env("AWS_ACCESS_KEY_ID");
    const char *sk = env("AWS_SECRET_ACCESS_KEY");
    if (!ak || !sk)
      return txf_err_set(err, TXF_ECONFIG,
                         "profile '%s': credential_source Environment, but "
                         "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are "
                         "not both set",
                         name);
    *out = static_source(ak, sk, env("AWS_SESSION_TOKEN"));
    return 0;
  }
  if (!strcmp(cs, "EcsContainer")) {
    int rc = container_source(out, err);
    if (!rc && !*out)
      rc = txf_err_set(err, TXF_ECONFIG,
                       "profile '%s': credential_source EcsContainer, but "
                       "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI "
                       "are not set",
                       name);
    return rc;
  }
  if (!strcmp(cs, "Ec2InstanceMetadata")) {
    int rc = imds_source(f, out, err);
    if (!rc && !*out)
      rc = txf_err_set(err, TXF_ECONFIG,
                       "profile '%s': credential_source Ec2InstanceMetadata, "
                       "but AWS_EC2_METADATA_DISABLED is true",
                       name);
    return rc;
  }
  return txf_err_set(err, TXF_ECONFIG,
                     "profile '%s': credential_source '%s' is not one of "
                     "Environment, Ec2InstanceMetadata, EcsContainer",
                     name, cs);
}

/* The source of profile NAME, or *OUT NULL when it holds no credentials.
 * VISITED: the profiles on the way here (a profile used as a source
 * profile prefers its static keys, as the JavaScript SDK does, which is
 * also what lets a role profile name itself as its source). */
static int profile_source(const files *f, const char *name,
                          txf_strlist *visited, source **out,
                          txf_s3_creds_info *info, txf_err *err) {
  *out = NULL;
  const char *from = NULL;
  const char *ak = pget(f, name, "aws_access_key_id", &from);
  const char *sk = pget(f, name, "aws_secret_access_key", NULL);
  const char *tok = pget(f, name, "aws_session_token", NULL);
  const char *role = pget(f, name, "role_arn", NULL);
  if (ak && !sk)
    return txf_err_set(err, TXF_ECONFIG,
                       "profile '%s' in %s has aws_access_key_id but no "
                       "aws_secret_access_key",
                       name, from);
  int nested = visited->n > 0;
  if (role && !(nested && ak)) {
    if (txf_strlist_has(visited, name))
      return txf_err_set(err, TXF_ECONFIG,
                         "profile '%s': source_profile loops back to it", name);
    if (pget(f, name, "mfa_serial", NULL))
      return txf_err_set(err, TXF_ECONFIG,
                         "profile '%s' needs an MFA code (mfa_serial), which "
                         "an unattended run cannot give",
                         name);
    txf_strlist_push(visited, name);
    source *s = source_new(SRC_ASSUME_ROLE);
    s->role_arn = txf_xstrdup(role);
    s->session_name = session_name(pget(f, name, "role_session_name", NULL));
    const char *x = pget(f, name, "external_id", NULL);
    s->external_id = x ? txf_xstrdup(x) : NULL;
    const char *d = pget(f, name, "duration_seconds", NULL);
    uint64_t dv = 0;
    if (d && (txf_parse_u64(d, &dv) != 0 || dv < 900 || dv > 43200)) {
      source_free(s);
      return txf_err_set(err, TXF_ECONFIG,
                         "profile '%s': duration_seconds '%s' is not "
                         "between 900 and 43200",
                         name, d);
    }
    s->duration_s = (int64_t)dv;
    const char *wif = pget(f, name, "web_identity_token_file", NULL);
    int rc = sts_endpoint(f, s, err);
    if (!rc && wif) {
      s->kind = SRC_WEB_IDENTITY;
      s->token_file = expand_home(wif);
    } else if (!rc) {
      rc = role_from(f, name, visited, &s->from, info, err);
    }
    if (rc) {
      source_free(s);
      return rc;
    }
    if (!nested) {
      snprintf(info->source, sizeof info->source,
               wif ? "web-identity" : "assume-role");
      snprintf(info->detail, sizeof info->detail,
               "profile '%s': role %s%s%s%s, STS at %s", name, role,
               wif ? " with token file " : "", wif ? s->token_file : "",
               wif ? "" : " from its source", s->sts_url);
      info->renewable = 1;
    }
    *out = s;
    return 0;
  }
  if (ak) {
    *out = static_source(ak, sk, tok);
    if (!nested) {
      snprintf(info->source, sizeof info->source, "%s",
               from == f->cred_path ? "shared-credentials-file"
                                    : "shared-config-file");
      snprintf(info->detail, sizeof info->detail, "profile '%s' in %s", name,
               from);
    }
    return 0;
  }
  if (pget(f, name, "credential_process", NULL))
    return txf_err_set(err, TXF_EUNSUPPORTED,
                       "profile '%s' uses credential_process, which txnflow "
                       "does not run (see docs/publish.md, Credentials)",
                       name);
  if (pget(f, name, "sso_session", NULL) ||
      pget(f, name, "sso_start_url", NULL))
    return txf_err_set(err, TXF_EUNSUPPORTED,
                       "profile '%s' uses IAM Identity Center (sso_*), which "
                       "txnflow does not support (see docs/publish.md, "
                       "Credentials)",
                       name);
  return 0;
}

/* ---------------------------------------------------------------- chain */

/* The error for a pair of variables of which only one is set: A_SET says
 * whether it is A. */
static int only_one(const char *a_set, const char *a, const char *b,
                    const char *why, txf_err *err) {
  return txf_err_set(err, TXF_ECONFIG, "%s is set but %s is not: %s",
                     a_set ? a : b, a_set ? b : a, why);
}

/* The first configured source into *OUT, its description into INFO, or
 * *OUT NULL with TRIED describing what was looked at. */
static int resolve(files *f, source **out, txf_s3_creds_info *info,
                   txf_buf *tried, txf_err *err) {
  *out = NULL;
  /* 1. the environment */
  const char *ak = env("AWS_ACCESS_KEY_ID");
  const char *sk = env("AWS_SECRET_ACCESS_KEY");
  if (ak || sk) {
    if (!ak || !sk)
      return only_one(ak, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                      "set both, or neither", err);
    if (f->explicit_profile)
      txf_log_warn(f->log,
                   "s3: AWS_PROFILE '%s' is set, but the keys in "
                   "AWS_ACCESS_KEY_ID are used: the environment comes first",
                   f->profile);
    *out = static_source(ak, sk, env("AWS_SESSION_TOKEN"));
    const char *exp = env("AWS_CREDENTIAL_EXPIRATION");
    if (exp && parse_expiry(exp, &(*out)->keys.expires_us))
      return txf_err_set(err, TXF_ECONFIG,
                         "AWS_CREDENTIAL_EXPIRATION '%s' is not an ISO 8601 "
                         "time",
                         exp);
    snprintf(info->source, sizeof info->source, "environment");
    snprintf(info->detail, sizeof info->detail,
             "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY%s",
             env("AWS_SESSION_TOKEN") ? ", AWS_SESSION_TOKEN" : "");
    return 0;
  }
  (void)txf_buf_puts(tried, "the environment (AWS_ACCESS_KEY_ID, "
                            "AWS_SECRET_ACCESS_KEY)");
  /* 2. the shared files */
  if (f->explicit_profile && !has_profile(f, f->profile)) {
    txf_buf names;
    txf_buf_init(&names, 256);
    const txf_s3_ini *inis[] = {f->cred, f->conf};
    txf_strlist seen = {0};
    for (size_t i = 0; i < 2; i++) {
      const txf_strlist *l = txf_s3_ini_profiles(inis[i]);
      for (size_t k = 0; k < l->n; k++)
        if (!txf_strlist_has(&seen, l->v[k])) {
          txf_strlist_push(&seen, l->v[k]);
          (void)txf_buf_printf(&names, "%s'%s'", seen.n > 1 ? ", " : "",
                               l->v[k]);
        }
    }
    const char *close =
        txf_str_closest(f->profile, (const char *const *)seen.v, seen.n);
    int rc = txf_err_set(
        err, TXF_ECONFIG,
        "AWS_PROFILE '%s': no such profile in %s or %s "
        "(%s%s)%s%s%s",
        f->profile, f->cred_path ? f->cred_path : "-",
        f->conf_path ? f->conf_path : "-",
        seen.n ? "profiles: " : "no profiles", names.data ? names.data : "",
        close ? "; did you mean '" : "", close ? close : "", close ? "'?" : "");
    txf_strlist_release(&seen);
    txf_buf_release(&names);
    return rc;
  }
  if (has_profile(f, f->profile)) {
    txf_strlist visited = {0};
    int rc = profile_source(f, f->profile, &visited, out, info, err);
    txf_strlist_release(&visited);
    if (rc || *out)
      return rc;
  }
  (void)txf_buf_printf(tried, ", the shared files (profile '%s' in %s, %s)",
                       f->profile, f->cred_path ? f->cred_path : "-",
                       f->conf_path ? f->conf_path : "-");
  /* 3. web identity */
  const char *wif = env("AWS_WEB_IDENTITY_TOKEN_FILE");
  const char *role = env("AWS_ROLE_ARN");
  if (wif || role) {
    if (!wif || !role)
      return only_one(wif, "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
                      "web identity needs both", err);
    source *s = source_new(SRC_WEB_IDENTITY);
    s->role_arn = txf_xstrdup(role);
    s->token_file = expand_home(wif);
    s->session_name = session_name(env("AWS_ROLE_SESSION_NAME"));
    int rc = sts_endpoint(f, s, err);
    if (rc) {
      source_free(s);
      return rc;
    }
    snprintf(info->source, sizeof info->source, "web-identity");
    snprintf(info->detail, sizeof info->detail,
             "role %s with token file %s (AWS_ROLE_ARN, "
             "AWS_WEB_IDENTITY_TOKEN_FILE), STS at %s",
             role, s->token_file, s->sts_url);
    info->renewable = 1;
    *out = s;
    return 0;
  }
  (void)txf_buf_puts(tried, ", web identity (AWS_WEB_IDENTITY_TOKEN_FILE)");
  /* 4. the container endpoint */
  int rc = container_source(out, err);
  if (rc || *out) {
    if (*out) {
      snprintf(info->source, sizeof info->source, "container");
      snprintf(info->detail, sizeof info->detail, "%s (%s)", (*out)->url,
               env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
                   ? "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
                   : "AWS_CONTAINER_CREDENTIALS_FULL_URI");
      info->renewable = 1;
    }
    return rc;
  }
  (void)txf_buf_puts(tried, ", the container endpoint "
                            "(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, "
                            "_FULL_URI)");
  /* 5. the instance metadata service */
  rc = imds_source(f, out, err);
  if (!rc && *out) {
    snprintf(info->source, sizeof info->source, "instance-metadata");
    snprintf(info->detail, sizeof info->detail, "%s (IMDSv2%s)", (*out)->url,
             env("AWS_EC2_METADATA_SERVICE_ENDPOINT")
                 ? ", AWS_EC2_METADATA_SERVICE_ENDPOINT"
                 : "");
    info->renewable = 1;
  } else if (!rc) {
    (void)txf_buf_puts(tried, "; the instance metadata service is off "
                              "(AWS_EC2_METADATA_DISABLED)");
  }
  return rc;
}

int txf_s3_creds_new(txf_s3_creds **out, const txf_s3_creds_opts *o,
                     txf_err *err) {
  *out = NULL;
  files f = {0};
  f.region_default = o->region && *o->region ? o->region : "us-east-1";
  f.log = o->log;
  f.profile = env("AWS_PROFILE");
  f.explicit_profile = f.profile != NULL;
  if (!f.profile)
    f.profile = "default";
  source *src = NULL;
  txf_s3_creds_info info = {0};
  txf_buf tried;
  txf_buf_init(&tried, 0);
  int rc = load_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials", 0,
                     &f.cred_path, &f.cred, err);
  if (!rc)
    rc = load_file("AWS_CONFIG_FILE", ".aws/config", 1, &f.conf_path, &f.conf,
                   err);
  if (!rc)
    rc = resolve(&f, &src, &info, &tried, err);
  if (!rc && !src)
    rc = txf_err_set(err, TXF_ECONFIG, "no AWS credentials: tried %s",
                     tried.data);
  if (!rc) {
    rc = txf_s3_creds_new_source(out, fetch_cb, src, NULL, NULL,
                                 o->refresh_margin_s, o->log, &info, err);
    if (rc && src->kind == SRC_IMDS)
      /* Off EC2 nothing (or something else) answers there: say what else
       * was tried. */
      if (err) {
        char why[sizeof err->msg];
        memcpy(why, err->msg, sizeof why);
        txf_err_set(err, rc, "no AWS credentials: tried %s, and %s", tried.data,
                    why);
      }
    if (!rc)
      txf_s3_creds_own(*out, source_free);
  }
  if (rc)
    source_free(src);
  txf_buf_release(&tried);
  txf_s3_ini_free(f.cred);
  txf_s3_ini_free(f.conf);
  free(f.cred_path);
  free(f.conf_path);
  return rc;
}
