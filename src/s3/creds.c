/* A credential chain's keys and their renewal.
 *
 * Temporary keys (STS, the container endpoint, the instance metadata
 * service) are renewed before they expire: when less than the margin is
 * left (300 s by default, as the JavaScript SDK does), the next caller
 * fetches new ones while the others wait on the lock, so the parts of a
 * multipart upload in flight on several threads cause one renewal, not
 * one each. A renewal that fails while the keys are still valid is not
 * an error yet (the endpoint may be back in a moment): the keys are used
 * and the renewal tried again later. A server that refuses keys as
 * expired (S3's ExpiredToken: a request that waited past the expiry)
 * makes the caller pass their generation back, which renews them once
 * for all callers that saw the same refusal. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "s3/internal.h"

/* After a failed renewal while the keys are still valid, wait this long
 * (at most) before trying again. */
#define RETRY_RENEW_US (INT64_C(30) * TXF_US_PER_S)

struct txf_s3_creds {
  pthread_mutex_t mu; /* guards everything below */
  txf_s3_fetch_fn fetch;
  void *ud;
  void (*ud_free)(void *);
  txf_s3_clock_fn clock;
  void *clock_ud;
  int64_t margin_us;
  int64_t next_try_us; /* no renewal before this after a failed one */
  uint64_t generations;
  txf_s3_keys cur;
  txf_s3_creds_info info;
  const txf_logger *log;
};

void txf_s3_wipe_free(char *p) {
  if (p) {
    OPENSSL_cleanse(p, strlen(p));
    free(p);
  }
}

void txf_s3_wipe_buf(txf_buf *b) {
  if (b->data)
    OPENSSL_cleanse(b->data, b->cap);
  txf_buf_release(b);
}

void txf_s3_wipe_headers(struct curl_slist *h) {
  for (struct curl_slist *i = h; i; i = i->next)
    OPENSSL_cleanse(i->data, strlen(i->data));
  curl_slist_free_all(h);
}

void txf_s3_keys_release(txf_s3_keys *k) {
  if (!k)
    return;
  txf_s3_wipe_free(k->access_key_id);
  txf_s3_wipe_free(k->secret_access_key);
  txf_s3_wipe_free(k->session_token);
  memset(k, 0, sizeof *k);
}

static void keys_copy(txf_s3_keys *dst, const txf_s3_keys *src) {
  dst->access_key_id = txf_xstrdup(src->access_key_id);
  dst->secret_access_key = txf_xstrdup(src->secret_access_key);
  dst->session_token =
      src->session_token ? txf_xstrdup(src->session_token) : NULL;
  dst->expires_us = src->expires_us;
  dst->generation = src->generation;
}

int txf_s3_keys_state(int64_t expires_us, int64_t now_us, int64_t margin_us) {
  if (expires_us == 0)
    return TXF_S3_KEYS_FRESH;
  if (now_us >= expires_us - TXF_S3_EXPIRY_SKEW_US)
    return TXF_S3_KEYS_EXPIRED;
  if (now_us >= expires_us - margin_us)
    return TXF_S3_KEYS_RENEW;
  return TXF_S3_KEYS_FRESH;
}

static int64_t wall_clock(void *ud) {
  (void)ud;
  return txf_wall_us();
}

static void fmt_expiry(int64_t us, char out[40]) {
  if (us)
    txf_ts_format(us / TXF_US_PER_S * TXF_US_PER_S, 0, 1, out);
  else
    snprintf(out, 40, "never");
}

/* Fetch new keys into c->cur. Lock held. */
static int renew(txf_s3_creds *c, int64_t now_us, txf_err *err) {
  txf_s3_keys k = {0};
  int rc = c->fetch(c->ud, &k, err);
  if (!rc && (!k.access_key_id || !*k.access_key_id || !k.secret_access_key ||
              !*k.secret_access_key))
    rc = txf_err_set(err, TXF_ENET, "%s credentials: an answer without keys",
                     c->info.source);
  if (!rc &&
      txf_s3_keys_state(k.expires_us, now_us, 0) == TXF_S3_KEYS_EXPIRED) {
    char when[40];
    fmt_expiry(k.expires_us, when);
    rc = txf_err_set(err, TXF_ECONFIG, "%s credentials expired at %s (%s)",
                     c->info.source, when, c->info.detail);
  }
  if (rc) {
    txf_s3_keys_release(&k);
    return rc;
  }
  txf_s3_keys_release(&c->cur);
  c->cur = k;
  c->cur.generation = ++c->generations;
  c->next_try_us = 0;
  char when[40];
  fmt_expiry(k.expires_us, when);
  txf_log_debug(c->log, "s3: credentials from %s (generation %llu, expire %s)",
                c->info.source, (unsigned long long)c->cur.generation, when);
  return 0;
}

int txf_s3_creds_new_source(txf_s3_creds **out, txf_s3_fetch_fn fetch, void *ud,
                            txf_s3_clock_fn clock, void *clock_ud,
                            int64_t margin_s, const txf_logger *log,
                            const txf_s3_creds_info *info, txf_err *err) {
  *out = NULL;
  txf_s3_creds *c = txf_xcalloc(1, sizeof *c);
  pthread_mutex_init(&c->mu, NULL);
  c->fetch = fetch;
  c->ud = ud;
  c->clock = clock ? clock : wall_clock;
  c->clock_ud = clock_ud;
  c->margin_us = (margin_s > 0 ? margin_s : 300) * TXF_US_PER_S;
  c->log = log;
  if (info)
    c->info = *info;
  else
    snprintf(c->info.source, sizeof c->info.source, "custom");
  int rc = renew(c, c->clock(c->clock_ud), err);
  if (rc) {
    txf_s3_creds_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

void txf_s3_creds_own(txf_s3_creds *c, void (*ud_free)(void *)) {
  c->ud_free = ud_free;
}

int txf_s3_creds_get(txf_s3_creds *c, uint64_t rejected, txf_s3_keys *out,
                     txf_err *err) {
  memset(out, 0, sizeof *out);
  int rc = 0;
  pthread_mutex_lock(&c->mu);
  int64_t now = c->clock(c->clock_ud);
  int state = txf_s3_keys_state(c->cur.expires_us, now, c->margin_us);
  int refused = rejected && rejected == c->cur.generation;
  if (refused && !c->info.renewable) {
    rc = txf_err_set(err, TXF_ECONFIG,
                     "the server says the credentials from %s have expired "
                     "(%s): renew them",
                     c->info.source, c->info.detail);
  } else if (refused || state == TXF_S3_KEYS_EXPIRED ||
             (state == TXF_S3_KEYS_RENEW && now >= c->next_try_us)) {
    txf_err e;
    txf_err_clear(&e);
    rc = renew(c, now, &e);
    if (rc && state == TXF_S3_KEYS_RENEW && !refused) {
      /* Still valid: use them, try again later. */
      int64_t left = c->cur.expires_us - now;
      c->next_try_us =
          now + (left / 2 < RETRY_RENEW_US ? left / 2 : RETRY_RENEW_US);
      char when[40];
      fmt_expiry(c->cur.expires_us, when);
      txf_log_warn(c->log,
                   "s3: renewing the credentials from %s failed (%s); the "
                   "current ones are valid until %s",
                   c->info.source, e.msg, when);
      rc = 0;
    } else if (rc) {
      if (err)
        *err = e;
      char when[40];
      fmt_expiry(c->cur.expires_us, when);
      txf_err_wrap(err,
                   "the credentials from %s (valid until %s) could "
                   "not be renewed",
                   c->info.source, when);
    }
  }
  if (!rc)
    keys_copy(out, &c->cur);
  pthread_mutex_unlock(&c->mu);
  return rc;
}

static void key_hint(const char *ak, char out[24]) {
  size_t n = ak ? strlen(ak) : 0;
  if (n <= 8)
    snprintf(out, 24, "%s", n ? "…" : "");
  else
    snprintf(out, 24, "%.4s…%s", ak, ak + n - 4);
}

void txf_s3_creds_describe(txf_s3_creds *c, txf_s3_creds_info *out) {
  pthread_mutex_lock(&c->mu);
  *out = c->info;
  key_hint(c->cur.access_key_id, out->access_key_hint);
  out->expires_us = c->cur.expires_us;
  pthread_mutex_unlock(&c->mu);
}

void txf_s3_creds_free(txf_s3_creds *c) {
  if (!c)
    return;
  txf_s3_keys_release(&c->cur);
  if (c->ud_free)
    c->ud_free(c->ud);
  pthread_mutex_destroy(&c->mu);
  free(c);
}
