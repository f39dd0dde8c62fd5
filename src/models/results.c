/* What a run reports: the lines it prints (in run order, whatever the
 * number of threads), the rows it records in the metadata store
 * (model_builds, test_results) and its summary's verdict. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "models/internal.h"

static void vsay(txf_models *m, const char *fmt, va_list ap) {
  vfprintf(m->opts->out, fmt, ap);
  fputc('\n', m->opts->out);
  fflush(m->opts->out);
}

void txf_models_say(txf_models *m, const exec_ctx *ex, const char *fmt, ...) {
  (void)ex;
  if (!m->opts->out || m->opts->quiet || m->opts->json)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsay(m, fmt, ap);
  va_end(ap);
}

void txf_models_say_problem(txf_models *m, const exec_ctx *ex,
                            const char *fmt, ...) {
  (void)ex;
  if (!m->opts->out || m->opts->json)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsay(m, fmt, ap);
  va_end(ap);
}

void txf_models_emit(txf_models *m, const char *name, json_t *ev) {
  if (m->opts->out && m->opts->json && ev) {
    char ts[40];
    txf_ts_format(txf_wall_us(), 0, 1, ts);
    json_t *line = json_pack("{s:s, s:s}", "event", name, "ts", ts);
    json_object_update(line, ev);
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    fprintf(m->opts->out, "%s\n", text);
    fflush(m->opts->out);
    free(text);
    json_decref(line);
  }
  json_decref(ev);
}

const char *txf_models_progress(const txf_models *m, size_t i, char *out) {
  size_t pos = m->nodes[i].run_pos;
  out[0] = '\0';
  if (pos == SIZE_MAX || !m->n_run)
    return out;
  unsigned total = m->n_run > 999999 ? 999999 : (unsigned)m->n_run;
  int w = snprintf(NULL, 0, "%u", total);
  snprintf(out, 32, "%*u of %u ", w, (unsigned)(pos + 1) % 1000000, total);
  return out;
}

/* ---------------------------------------------------------------- metadata */

static char *logical_date(txf_models *m) {
  char *s = NULL;
  txf_err e;
  if (txf_models_var_text(m, "run_date", &s, &e))
    return NULL;
  return s;
}

/* A record that cannot be written is a warning: results are a record,
 * not the run. */
static void record_failed(txf_models *m, int rc, const txf_err *err) {
  if (rc)
    txf_log_warn(m->opts->log, "models: %s", err->msg);
}

void txf_models_record_build(txf_models *m, size_t i, const char *state,
                             int64_t n_rows, int64_t started_us,
                             int64_t duration_us, const char *error) {
  if (!m->opts->store)
    return;
  char *ld = logical_date(m);
  txf_meta_model_build b = {.invocation_id = m->opts->invocation_id,
                            .model = m->nodes[i].name,
                            .materialized = m->nodes[i].materialized,
                            .state = state,
                            .n_rows = n_rows < 0 ? TXF_META_NULL
                                                 : n_rows, /* unknown */
                            .started_at_us = started_us,
                            .duration_us = duration_us,
                            .error = error,
                            .logical_date = ld};
  txf_err err;
  record_failed(m, txf_meta_model_build_add(m->opts->store, &b, &err), &err);
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
  txf_meta_test_result r = {
      .invocation_id = m->opts->invocation_id,
      .model = n->owner != SIZE_MAX ? m->nodes[n->owner].name : NULL,
      .test_name = n->name,
      .severity = n->severity,
      .status = status,
      .failures = failures < 0 ? TXF_META_NULL : failures, /* unknown */
      .sample_json = sample_json,
      .message = message,
      .started_at_us = started_us,
      .duration_us = duration_us,
      .logical_date = ld};
  txf_err err;
  record_failed(m, txf_meta_test_result_add(m->opts->store, &r, &err), &err);
  free(ld);
}

void txf_models_record_dates(txf_models *m) {
  const char *ld = m->opts->logical_dates;
  if (!m->opts->store || !ld || !*ld || !m->opts->invocation_id)
    return;
  txf_strlist dates = {0};
  char *copy = txf_xstrdup(ld);
  for (char *save = NULL, *t = strtok_r(copy, " ,", &save); t;
       t = strtok_r(NULL, " ,", &save)) {
    txf_date d;
    if (!txf_date_parse(t, SIZE_MAX, &d))
      txf_strlist_push(&dates, t);
  }
  txf_err err;
  if (dates.n)
    record_failed(m,
                  txf_meta_invocation_dates_add(
                      m->opts->store, m->opts->invocation_id,
                      (const char *const *)dates.v, dates.n, &err),
                  &err);
  txf_strlist_release(&dates);
  free(copy);
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

void txf_models_result_add(txf_models *m, size_t i, const char *status,
                           int64_t dur_us, const char *message,
                           int64_t failures, int64_t rows) {
  mnode *n = &m->nodes[i];
  char *id = txf_models_unique_id(m, i);
  /* dbt's RunResultOutput (run_results v6): every key is required */
  char t0[40], t1[40];
  int64_t now = txf_wall_us();
  txf_ts_format(now - (dur_us > 0 ? dur_us : 0), 0, 1, t0);
  txf_ts_format(now, 0, 1, t1);
  int built = n->kind != MN_TEST && strcmp(n->materialized, "ephemeral");
  char *rel = built ? txf_models_relation(m, i) : NULL;
  json_t *resp = json_object();
  if (rows >= 0)
    json_object_set_new(resp, "rows_affected", json_integer(rows));
  json_t *r = json_pack(
      "{s:s, s:[{s:s, s:s, s:s}], s:s, s:f, s:o, s:o, s:o, s:s, s:b, s:o, "
      "s:o}",
      "status", status, "timing", "name", "execute", "started_at", t0,
      "completed_at", t1, "thread_id", "Thread-1", "execution_time",
      dur_us >= 0 ? (double)dur_us / 1e6 : 0.0, "adapter_response", resp,
      "message", message ? json_string(message) : json_null(), "failures",
      failures >= 0 ? json_integer(failures) : json_null(), "unique_id", id,
      "compiled", n->compiled != NULL, "compiled_code",
      n->compiled ? json_string(n->compiled) : json_null(), "relation_name",
      rel ? json_string(rel) : json_null());
  free(rel);
  free(id);
  if (!m->results)
    m->results = json_array();
  json_array_append_new(m->results, r);
}
