/* The worker pool: builds the nodes of a run in topological order,
 * independent nodes at once (--threads), each worker on its own
 * connection. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "models/internal.h"

/* A worker's connection when several run at once. Workers hold the run's
 * lock whenever they touch shared state (nodes, templates, summary,
 * metadata store, output); this wrapper lets go of it only while DuckDB
 * runs a statement, which is where the time goes. Catalog changes (schema,
 * drops, the swap) go through the inner connection (exec_ctx.cat), keeping
 * the lock, so two swaps never interleave. */
typedef struct locked_conn {
  txf_adapter base;
  txf_adapter *inner;    /* owned */
  pthread_mutex_t *lock; /* held by the caller around every call */
} locked_conn;

static locked_conn *LC(txf_adapter *a) { return a->impl; }

/* A statement: the inner connection, with the lock let go until
 * lc_relock(A, its status). */
static txf_adapter *lc_unlock(txf_adapter *a) {
  pthread_mutex_unlock(LC(a)->lock);
  return LC(a)->inner;
}

static int lc_relock(txf_adapter *a, int rc) {
  pthread_mutex_lock(LC(a)->lock);
  return rc;
}

static int lc_exec(txf_adapter *a, const char *sql, txf_err *err) {
  txf_adapter *in = lc_unlock(a);
  return lc_relock(a, in->ops->exec(in, sql, err));
}

static int lc_query_i64(txf_adapter *a, const char *sql, int64_t *out,
                        txf_err *err) {
  txf_adapter *in = lc_unlock(a);
  return lc_relock(a, in->ops->query_i64(in, sql, out, err));
}

static int lc_query_json(txf_adapter *a, const char *sql, char **out,
                         txf_err *err) {
  txf_adapter *in = lc_unlock(a);
  return lc_relock(a, in->ops->query_json(in, sql, out, err));
}

/* catalog lookups are quick: they keep the lock */
static int lc_relation_kind(txf_adapter *a, const char *schema,
                            const char *name, txf_rel_kind *out,
                            txf_err *err) {
  txf_adapter *in = LC(a)->inner;
  return in->ops->relation_kind(in, schema, name, out, err);
}

static int lc_columns(txf_adapter *a, const char *schema, const char *name,
                      char ***out, size_t *n, txf_err *err) {
  txf_adapter *in = LC(a)->inner;
  return in->ops->columns(in, schema, name, out, n, err);
}

static int lc_create_from_csv(txf_adapter *a, const char *rel,
                              const char *path, const char *types,
                              txf_err *err) {
  txf_adapter *in = lc_unlock(a);
  return lc_relock(a, in->ops->create_from_csv(in, rel, path, types, err));
}

static int lc_insert_ordered(txf_adapter *a, const char *head, const char *src,
                             const char *order, const txf_logger *log,
                             const char *who, txf_err *err) {
  txf_adapter *in = lc_unlock(a);
  return lc_relock(
      a, txf_adapter_insert_ordered(in, head, src, order, log, who, err));
}

static void lc_close(txf_adapter *a) {
  locked_conn *c = LC(a);
  txf_adapter_close(c->inner);
  c->inner = NULL;
}

static const txf_adapter_ops locked_ops = {
    .type = "locked",
    .exec = lc_exec,
    .query_i64 = lc_query_i64,
    .query_json = lc_query_json,
    .relation_kind = lc_relation_kind,
    .columns = lc_columns,
    .create_from_csv = lc_create_from_csv,
    .close = lc_close,
    .insert_ordered = lc_insert_ordered};

/* The run: nodes in topological order; workers take the first ready one
 * (all its parents, and the other parents of its audit tests that come
 * earlier in the order, finished), so the order of the graph is kept and
 * independent nodes build at once. Lines print as things happen (a node's
 * START when a worker takes it, its end when it is done, as dbt does),
 * under the run's lock, so lines never mix; the deferred tests still run
 * as the nodes settle in run order, so what they test does not depend on
 * the timing. */
enum { P_WAITING = 0, P_RUNNING, P_FINISHED };

typedef struct pool {
  txf_models *m;
  runopts ro;
  size_t *run;          /* node indices, in order */
  size_t n_run;
  size_t **deps;        /* per position: positions it waits for */
  size_t *n_deps;
  int *status;          /* per position */
  size_t n_flushed;
  int flushing;
  int64_t mono0;
  pthread_mutex_t lock;
  pthread_cond_t cond;
} pool;

typedef struct worker {
  pool *p;
  txf_adapter *a;       /* this worker's connection */
  txf_adapter *cat;     /* the connection under A that keeps the lock */
  pthread_t th;
} worker;

static void add_dep(pool *p, size_t k, size_t d) {
  for (size_t j = 0; j < p->n_deps[k]; j++)
    if (p->deps[k][j] == d)
      return;
  p->deps[k] = txf_xrealloc(p->deps[k], (p->n_deps[k] + 1) * sizeof(size_t));
  p->deps[k][p->n_deps[k]++] = d;
}

static void pool_deps(pool *p) {
  txf_models *m = p->m;
  for (size_t k = 0; k < p->n_run; k++) {
    mnode *n = &m->nodes[p->run[k]];
    for (size_t j = 0; j < n->n_parents; j++) {
      size_t q = m->nodes[n->parents[j]].run_pos;
      if (q != SIZE_MAX)
        add_dep(p, k, q);
    }
    if (!p->ro.audit)
      continue;
    /* audit tests read their other parents: those built earlier in the
     * order must be published first (later ones: the test is deferred) */
    for (size_t j = 0; j < n->n_tests; j++) {
      mnode *t = &m->nodes[n->tests[j]];
      if (!t->selected)
        continue;
      for (size_t r = 0; r < t->n_parents; r++) {
        size_t q = m->nodes[t->parents[r]].run_pos;
        if (q != SIZE_MAX && q < k)
          add_dep(p, k, q);
      }
    }
  }
}

/* The first waiting position whose dependencies have finished, or
 * SIZE_MAX. */
static size_t next_ready(pool *p) {
  for (size_t k = 0; k < p->n_run; k++) {
    if (p->status[k] != P_WAITING)
      continue;
    size_t j = 0;
    while (j < p->n_deps[k] && p->status[p->deps[k][j]] == P_FINISHED)
      j++;
    if (j == p->n_deps[k])
      return k;
  }
  return SIZE_MAX;
}

/* Settle the finished nodes in run order and run the deferred tests they
 * unblock, as a serial run would after each node. One worker at a time
 * (the others go on building). Called and returns with the lock. */
static void flush(pool *p, worker *w) {
  if (p->flushing)
    return;
  p->flushing = 1;
  txf_models *m = p->m;
  exec_ctx ex = {.a = w->a, .cat = w->cat, .mono0 = p->mono0};
  while (p->n_flushed < p->n_run && p->status[p->n_flushed] == P_FINISHED) {
    size_t k = p->n_flushed++;
    m->nodes[p->run[k]].settled = 1;
    if (p->ro.audit)
      txf_models_deferred_tests_run(m, &ex, p->ro.s, 0);
  }
  p->flushing = 0;
}

static void *work(void *arg) {
  worker *w = arg;
  pool *p = w->p;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    size_t k = next_ready(p);
    if (k == SIZE_MAX) {
      size_t busy = 0, waiting = 0;
      for (size_t j = 0; j < p->n_run; j++) {
        busy += p->status[j] == P_RUNNING;
        waiting += p->status[j] == P_WAITING;
      }
      if (!waiting || !busy)
        break; /* all taken (a waiting node with nothing running cannot
                  happen: the order is topological) */
      pthread_cond_wait(&p->cond, &p->lock);
      continue;
    }
    p->status[k] = P_RUNNING;
    exec_ctx ex = {.a = w->a, .cat = w->cat, .mono0 = p->mono0};
    txf_models_build_node(p->m, &ex, p->run[k], &p->ro);
    p->status[k] = P_FINISHED;
    pthread_cond_broadcast(&p->cond);
    flush(p, w);
  }
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

int txf_models_pool_run(txf_models *m, size_t *run, size_t n_run,
                        const runopts *ro, txf_err *err) {
  txf_adapter *a0;
  int rc = txf_models_adapter(m, &a0, err);
  if (rc)
    return rc;
  pool p;
  memset(&p, 0, sizeof p);
  p.m = m;
  p.ro = *ro;
  p.run = run;
  p.n_run = n_run;
  p.deps = txf_xcalloc(n_run + 1, sizeof *p.deps);
  p.n_deps = txf_xcalloc(n_run + 1, sizeof *p.n_deps);
  p.status = txf_xcalloc(n_run + 1, sizeof *p.status);
  p.mono0 = txf_mono_us();
  pool_deps(&p);
  int n_workers = txf_models_threads(m);
  if ((size_t)n_workers > n_run)
    n_workers = n_run ? (int)n_run : 1;
  /* More connections: DuckDB only. On PostgreSQL/Redshift a swap's DROP
   * could wait on a lock another worker's open transaction holds while
   * that worker waits for the run's lock; they build one at a time. */
  if (n_workers > 1 && strcmp(a0->ops->type, "duckdb")) {
    txf_log_info(m->opts->log,
                 "models: %s target: building one model at a time",
                 a0->ops->type);
    n_workers = 1;
  }
  worker *ws = txf_xcalloc((size_t)n_workers, sizeof *ws);
  locked_conn *lcs = txf_xcalloc((size_t)n_workers, sizeof *lcs);
  int n_open = 1;
  for (; n_open < n_workers; n_open++) {
    txf_adapter *c;
    txf_err e2;
    if (txf_adapter_connect_duckdb(&c, a0, &e2)) {
      txf_log_warn(m->opts->log, "models: building one at a time: %s",
                   e2.msg);
      break;
    }
    lcs[n_open].inner = c;
  }
  n_workers = n_open;
  pthread_mutex_init(&p.lock, NULL);
  pthread_cond_init(&p.cond, NULL);
  if (n_workers > 1)
    lcs[0].inner = a0;
  for (int i = 0; i < n_workers; i++) {
    ws[i].p = &p;
    if (n_workers > 1) {
      lcs[i].base.ops = &locked_ops;
      lcs[i].base.impl = &lcs[i];
      lcs[i].lock = &p.lock;
      ws[i].a = &lcs[i].base;
      ws[i].cat = lcs[i].inner;
    } else {
      ws[i].a = ws[i].cat = a0;
    }
  }
  int started = 1;
  for (int i = 1; i < n_workers; i++) {
    if (pthread_create(&ws[i].th, NULL, work, &ws[i]))
      break;
    started++;
  }
  work(&ws[0]);
  for (int i = 1; i < started; i++)
    pthread_join(ws[i].th, NULL);
  pthread_mutex_lock(&p.lock);
  flush(&p, &ws[0]);
  pthread_mutex_unlock(&p.lock);
  /* leftovers run on the main connection, without the pool */
  exec_ctx ex = {.a = a0, .cat = a0, .mono0 = p.mono0};
  if (ro->audit)
    txf_models_deferred_tests_run(m, &ex, ro->s, 1);
  for (int i = 1; i < n_open; i++)
    txf_adapter_close(lcs[i].inner);
  pthread_cond_destroy(&p.cond);
  pthread_mutex_destroy(&p.lock);
  for (size_t k = 0; k < n_run; k++)
    free(p.deps[k]);
  TXF_FREE_ALL(p.deps, p.n_deps, p.status, lcs, ws);
  return 0;
}
