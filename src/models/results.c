/* What a run reports: the lines it prints (in run order, whatever the
 * number of threads), the rows it records in the metadata store
 * (model_builds, test_results) and its summary's verdict. */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "models/internal.h"

void txf_models_say(txf_models *m, const exec_ctx *ex, const char *fmt, ...) {
  if (!m->opts->out)
    return;
  va_list ap;
  va_start(ap, fmt);
  if (ex && ex->out) {
    (void)txf_buf_vprintf(ex->out, fmt, ap);
    (void)txf_buf_putc(ex->out, '\n');
  } else {
    vfprintf(m->opts->out, fmt, ap);
    fputc('\n', m->opts->out);
    fflush(m->opts->out);
  }
  va_end(ap);
}

/* ---------------------------------------------------------------- metadata */

static char *logical_date(txf_models *m) {
  char *s = NULL;
  txf_err e;
  if (txf_models_var_text(m, "run_date", &s, &e))
    return NULL;
  return s;
}

/* A value to record: text (NULL binds NULL), or an integer. */
typedef struct {
  const char *text;
  int64_t i64;
  int is_int; /* 1: i64; 2: i64, or NULL when negative (unknown) */
} rec_val;

/* Insert one row of N values (at most 16) into TABLE's columns COLS. A
 * failure is a warning: results are a record, not the run. */
static void record_row(txf_models *m, const char *table, const char *cols,
                       const rec_val *v, int n) {
  txf_store *s = m->opts->store;
  if (!s)
    return;
  char q[64] = "";
  assert(n > 0 && n <= 16);
  for (int i = 0; i < n; i++)
    strcat(q, i ? ",?" : "?");
  char *sql = txf_xasprintf("INSERT INTO %s(%s) VALUES (%s)", table, cols, q);
  sqlite3_stmt *st;
  txf_err err;
  if (txf_store_prepare(s, sql, &st, &err)) {
    txf_log_warn(m->opts->log, "models: %s", err.msg);
    free(sql);
    return;
  }
  free(sql);
  for (int i = 0; i < n; i++) {
    if (v[i].is_int && !(v[i].is_int == 2 && v[i].i64 < 0))
      sqlite3_bind_int64(st, i + 1, v[i].i64);
    else if (!v[i].is_int && v[i].text)
      sqlite3_bind_text(st, i + 1, v[i].text, -1, SQLITE_TRANSIENT);
    else
      sqlite3_bind_null(st, i + 1);
  }
  if (sqlite3_step(st) != SQLITE_DONE) {
    txf_store_error(s, &err, table);
    txf_log_warn(m->opts->log, "models: %s", err.msg);
  }
  sqlite3_finalize(st);
}

#define TXT(x) {(x), 0, 0}
#define I64(x) {NULL, (x), 1}
#define I64_OR_NULL(x) {NULL, (x), 2}

void txf_models_record_build(txf_models *m, size_t i, const char *state,
                             int64_t n_rows, int64_t started_us,
                             int64_t duration_us, const char *error) {
  if (!m->opts->store)
    return;
  char *ld = logical_date(m);
  rec_val v[] = {TXT(m->opts->invocation_id), TXT(m->nodes[i].name),
                 TXT(m->nodes[i].materialized), TXT(state),
                 I64_OR_NULL(n_rows), I64(started_us), I64(duration_us),
                 TXT(error), TXT(ld)};
  record_row(m, "model_builds",
             "invocation_id, model, materialized, state, n_rows, "
             "started_at_us, duration_us, error, logical_date",
             v, (int)TXF_ARRAY_LEN(v));
  free(ld);
}

void txf_models_record_test(txf_models *m, size_t t, const char *status,
                            int64_t failures, const char *sample_json,
                            const char *message, int64_t started_us,
                            int64_t duration_us) {
  if (!m->opts->store)
    return;
  mnode *n = &m->nodes[t];
  char *ld = logical_date(m);
  rec_val v[] = {TXT(m->opts->invocation_id),
                 TXT(n->owner != SIZE_MAX ? m->nodes[n->owner].name : NULL),
                 TXT(n->name), TXT(n->severity), TXT(status),
                 I64_OR_NULL(failures), TXT(sample_json), TXT(message),
                 I64(started_us), I64(duration_us), TXT(ld)};
  record_row(m, "test_results",
             "invocation_id, model, test_name, severity, status, failures, "
             "sample_json, message, started_at_us, duration_us, "
             "logical_date",
             v, (int)TXF_ARRAY_LEN(v));
  free(ld);
}

/* ---------------------------------------------------------------- summary */

int txf_models_summary_finish(const txf_models_summary *s, txf_err *err) {
  if (s->n_error)
    return txf_err_set(err, TXF_ETEST, "%d node%s failed, %d skipped",
                       s->n_error, s->n_error == 1 ? "" : "s", s->n_skipped);
  if (s->n_fail || s->n_test_error)
    return txf_err_set(err, TXF_ETEST, "%d test%s failed",
                       s->n_fail + s->n_test_error,
                       s->n_fail + s->n_test_error == 1 ? "" : "s");
  return 0;
}
