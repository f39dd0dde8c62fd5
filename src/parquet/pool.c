/* A pool of encoding threads shared by writers (docs/parquet.md,
 * "Threads"). A task is a function and its argument; each worker owns the
 * scratch buffers and codec contexts a task uses (pq_ctx), so tasks share
 * nothing but what their writer locks. A thread that waits for a writer
 * runs queued tasks meanwhile (txf_pq_pool_help), so waiting never idles
 * a core while there is work. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/pq_internal.h"

typedef struct ptask {
  pq_task_fn fn;
  void *arg;
} ptask;

struct txf_pq_pool {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  ptask *q; /* ring */
  size_t cap, head, n;
  int stop;
  pthread_t *tid;
  pq_ctx *ctx; /* one per worker */
  int n_threads;
};

void txf_pq_ctx_init(pq_ctx *c) {
  memset(c, 0, sizeof *c);
  txf_buf_init(&c->scratch, 0);
  txf_buf_init(&c->cbuf, 0);
  txf_buf_init(&c->hdr, 0);
  txf_buf_init(&c->levels, 0);
}

void txf_pq_ctx_release(pq_ctx *c) {
  txf_buf_release(&c->scratch);
  txf_buf_release(&c->cbuf);
  txf_buf_release(&c->hdr);
  txf_buf_release(&c->levels);
  txf_pq_codec_release(&c->codec);
}

static int pop(txf_pq_pool *p, ptask *t) {
  if (!p->n)
    return 0;
  *t = p->q[p->head];
  p->head = (p->head + 1) % p->cap;
  p->n--;
  return 1;
}

typedef struct wstart {
  txf_pq_pool *p;
  int i;
} wstart;

static void *worker(void *arg) {
  txf_pq_pool *p = ((wstart *)arg)->p;
  pq_ctx *ctx = &p->ctx[((wstart *)arg)->i];
  free(arg);
  pthread_setname_np(pthread_self(), "txf-encode");
  pthread_mutex_lock(&p->mu);
  for (;;) {
    ptask t;
    if (pop(p, &t)) {
      pthread_mutex_unlock(&p->mu);
      t.fn(t.arg, ctx);
      pthread_mutex_lock(&p->mu);
      continue;
    }
    if (p->stop)
      break;
    pthread_cond_wait(&p->cv, &p->mu);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

txf_pq_pool *txf_pq_pool_new(int n_threads) {
  if (n_threads < 1)
    return NULL;
  txf_pq_pool *p = txf_xcalloc(1, sizeof *p);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  p->tid = txf_xcalloc((size_t)n_threads, sizeof *p->tid);
  p->ctx = txf_xcalloc((size_t)n_threads, sizeof *p->ctx);
  for (int i = 0; i < n_threads; i++) {
    txf_pq_ctx_init(&p->ctx[i]);
    wstart *ws = txf_xmalloc(sizeof *ws);
    *ws = (wstart){p, i};
    if (pthread_create(&p->tid[p->n_threads], NULL, worker, ws) != 0) {
      free(ws);
      break;
    }
    p->n_threads++;
  }
  if (!p->n_threads) {
    txf_pq_pool_free(p);
    return NULL;
  }
  return p;
}

void txf_pq_pool_free(txf_pq_pool *p) {
  if (!p)
    return;
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->n_threads; i++)
    pthread_join(p->tid[i], NULL);
  /* Workers drain the queue before they stop: nothing is left in it. */
  for (size_t i = 0; p->ctx && i < (size_t)p->n_threads; i++)
    txf_pq_ctx_release(&p->ctx[i]);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  TXF_FREE_ALL(p->q, p->tid, p->ctx, p);
}

int txf_pq_pool_threads(const txf_pq_pool *p) { return p ? p->n_threads : 0; }

void txf_pq_pool_submit(txf_pq_pool *p, pq_task_fn fn, void *arg) {
  pthread_mutex_lock(&p->mu);
  if (p->n == p->cap) {
    size_t cap = p->cap ? 2 * p->cap : 64;
    ptask *q = txf_xmalloc(cap * sizeof *q);
    for (size_t i = 0; i < p->n; i++)
      q[i] = p->q[(p->head + i) % p->cap];
    free(p->q);
    p->q = q;
    p->cap = cap;
    p->head = 0;
  }
  p->q[(p->head + p->n) % p->cap] = (ptask){fn, arg};
  p->n++;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

int txf_pq_pool_help(txf_pq_pool *p, pq_ctx *ctx) {
  ptask t;
  pthread_mutex_lock(&p->mu);
  int got = pop(p, &t);
  pthread_mutex_unlock(&p->mu);
  if (got)
    t.fn(t.arg, ctx);
  return got;
}
