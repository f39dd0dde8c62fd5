/* dbt's Jinja context beyond ref/source/config: the globals a model's
 * template sees (execute, this, run_started_at, invocation_id) and the
 * functions of dbt's objects (log, adapter.quote, adapter.get_relation,
 * exceptions.*, modules.datetime). What dbt has and txnflow does not is an
 * error naming it, never an empty value. Semantics from dbt's "dbt Jinja
 * functions" reference. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models/internal.h"

/* get_relation asks M's own connection, which workers share for it */
static pthread_mutex_t rel_lock = PTHREAD_MUTEX_INITIALIZER;

void txf_models_context_init(txf_models *m) {
  m->started_us = txf_wall_us();
  unsigned char b[16];
  FILE *f = fopen("/dev/urandom", "rb");
  size_t got = f ? fread(b, 1, sizeof b, f) : 0;
  if (f)
    fclose(f);
  for (size_t i = got; i < sizeof b; i++) /* no urandom: the clock */
    b[i] = (unsigned char)(m->started_us >> (8 * (i % 8))) ^ (unsigned char)i;
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  snprintf(m->invocation_id, sizeof m->invocation_id,
           "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x"
           "%02x",
           b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
           b[11], b[12], b[13], b[14], b[15]);
}

/* A datetime object (UTC) of US microseconds since the epoch: Python's
 * attributes, printed as str(datetime) with its +00:00 (dbt's
 * run_started_at is timezone-aware UTC). DATE_ONLY: a date. */
static txf_tval *datetime_obj(txf_arena *a, int64_t us, int date_only) {
  time_t s = (time_t)(us / 1000000);
  struct tm tm;
  gmtime_r(&s, &tm);
  int micro = (int)(us % 1000000);
  char p[64];
  if (date_only)
    strftime(p, sizeof p, "%Y-%m-%d", &tm);
  else {
    char base[40];
    strftime(base, sizeof base, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(p, sizeof p, "%s.%06d+00:00", base, micro);
  }
  txf_tval *o = txf_tval_object(a, p);
  txf_tval_set(a, o, "year", txf_tval_num(a, tm.tm_year + 1900));
  txf_tval_set(a, o, "month", txf_tval_num(a, tm.tm_mon + 1));
  txf_tval_set(a, o, "day", txf_tval_num(a, tm.tm_mday));
  if (!date_only) {
    txf_tval_set(a, o, "hour", txf_tval_num(a, tm.tm_hour));
    txf_tval_set(a, o, "minute", txf_tval_num(a, tm.tm_min));
    txf_tval_set(a, o, "second", txf_tval_num(a, tm.tm_sec));
    txf_tval_set(a, o, "microsecond", txf_tval_num(a, micro));
  }
  /* what strftime and isoformat need, under a name no template uses */
  txf_tval_set(a, o, "__epoch_us", txf_tval_num(a, (double)us));
  txf_tval_set(a, o, "__date_only", txf_tval_bool(a, date_only));
  return o;
}

/* datetime.strftime(FMT): C's strftime in UTC plus Python's %f. */
static int dt_strftime(const txf_tpl_args *a, txf_tval **out, txf_err *err) {
  const txf_tval *ep = txf_tval_get(a->v[0], "__epoch_us");
  if (a->n != 2 || a->v[1]->type != TXF_TV_STR)
    return txf_err_set(err, TXF_EPARSE, "strftime(format) takes a string");
  int64_t us = (int64_t)ep->num;
  time_t s = (time_t)(us / 1000000);
  struct tm tm;
  gmtime_r(&s, &tm);
  txf_buf fmt;
  txf_buf_init(&fmt, 4096);
  for (const char *p = a->v[1]->s; *p; p++) {
    if (p[0] == '%' && p[1] == 'f') {
      (void)txf_buf_printf(&fmt, "%06d", (int)(us % 1000000));
      p++;
    } else if (p[0] == '%' && p[1] == 'z') {
      (void)txf_buf_puts(&fmt, "+0000");
      p++;
    } else if (p[0] == '%' && p[1]) {
      (void)txf_buf_putc(&fmt, p[0]);
      (void)txf_buf_putc(&fmt, p[1]);
      p++;
    } else {
      (void)txf_buf_putc(&fmt, *p);
    }
  }
  char res[1024] = "";
  char *f = txf_buf_take(&fmt, NULL);
  strftime(res, sizeof res, f, &tm);
  free(f);
  *out = txf_tval_str(a->arena, res);
  return 0;
}

/* A relation object: "schema"."identifier" with dbt's attributes. */
static txf_tval *relation_obj(txf_arena *a, const char *printed,
                              const char *database, const char *schema,
                              const char *identifier) {
  txf_tval *o = txf_tval_object(a, printed);
  if (database)
    txf_tval_set(a, o, "database", txf_tval_str(a, database));
  txf_tval_set(a, o, "schema", txf_tval_str(a, schema));
  txf_tval_set(a, o, "identifier", txf_tval_str(a, identifier));
  txf_tval_set(a, o, "name", txf_tval_str(a, identifier));
  return o;
}

static char *quote_ident(const char *s) {
  txf_buf b;
  txf_buf_init(&b, 0);
  (void)txf_buf_putc(&b, '"');
  for (; *s; s++) {
    if (*s == '"')
      (void)txf_buf_putc(&b, '"');
    (void)txf_buf_putc(&b, *s);
  }
  (void)txf_buf_putc(&b, '"');
  return txf_buf_take(&b, NULL);
}

/* Positional argument I or keyword NAME, a string; NULL when absent. */
static const char *arg_str(const txf_tpl_args *a, size_t i, const char *name) {
  for (size_t k = 0; k < a->n_kw; k++)
    if (!strcmp(a->kw_names[k], name) && a->kw[k]->type == TXF_TV_STR)
      return a->kw[k]->s;
  return i < a->n && a->v[i]->type == TXF_TV_STR ? a->v[i]->s : NULL;
}

static int kw_truthy(const txf_tpl_args *a, const char *name) {
  for (size_t k = 0; k < a->n_kw; k++)
    if (!strcmp(a->kw_names[k], name))
      return txf_tval_truthy(a->kw[k]);
  return 0;
}

/* adapter.get_relation(database, schema, identifier): the relation when the
 * warehouse has it, else none. At parse time (execute is false) none. */
static int get_relation(txf_models *m, int parse, const txf_tpl_args *a,
                        txf_tval **out, txf_err *err) {
  const char *schema = arg_str(a, 1, "schema");
  const char *ident = arg_str(a, 2, "identifier");
  const char *db = arg_str(a, 0, "database");
  if (!schema || !ident)
    return txf_err_set(err, TXF_EPARSE,
                       "adapter.get_relation(database, schema, identifier) "
                       "takes strings for schema and identifier");
  *out = txf_tval_none(a->arena);
  if (parse)
    return 0;
  txf_adapter *ad;
  pthread_mutex_lock(&rel_lock);
  int rc = txf_models_adapter(m, &ad, err);
  txf_rel_kind k = TXF_REL_NONE;
  if (!rc)
    rc = ad->ops->relation_kind(ad, schema, ident, &k, err);
  pthread_mutex_unlock(&rel_lock);
  if (rc)
    return rc;
  if (k == TXF_REL_NONE)
    return 0;
  char *qs = quote_ident(schema), *qi = quote_ident(ident);
  char *p = txf_xasprintf("%s.%s", qs, qi);
  *out = relation_obj(a->arena, p, db ? db : m->target.database, schema, ident);
  txf_tval_set(a->arena, *out, "type",
               txf_tval_str(a->arena, k == TXF_REL_VIEW ? "view" : "table"));
  free(p);
  free(qs);
  free(qi);
  return 0;
}

int txf_models_context_fn(txf_models *m, size_t node, int parse,
                          const char *name, const txf_tpl_args *a,
                          txf_tval **out, txf_err *err) {
  if (!strcmp(name, "log")) {
    if (a->n < 1)
      return txf_err_set(err, TXF_EPARSE,
                         "log(msg, info=False) takes a "
                         "message");
    txf_buf b;
    txf_buf_init(&b, 64 * 1024);
    if (!txf_tval_print(&b, a->v[0]) && !parse) {
      /* dbt: info=True to the console, else the debug log */
      if (kw_truthy(a, "info") || (a->n > 1 && txf_tval_truthy(a->v[1])))
        txf_models_say(m, NULL, "%s", b.data ? b.data : "");
      else if (m->opts->log)
        txf_log_debug(m->opts->log, "%s", b.data ? b.data : "");
    }
    txf_buf_release(&b);
    *out = txf_tval_str(a->arena, "");
    return 0;
  }
  if (!strcmp(name, "exceptions.raise_compiler_error")) {
    const char *msg = a->n ? arg_str(a, 0, "msg") : NULL;
    return txf_err_set(err, TXF_ECONFIG, "Compilation Error in %s: %s",
                       node != SIZE_MAX ? m->nodes[node].name : "macro",
                       msg ? msg : "(no message)");
  }
  if (!strcmp(name, "exceptions.warn")) {
    const char *msg = a->n ? arg_str(a, 0, "msg") : NULL;
    if (!parse)
      txf_models_say(m, NULL, "  WARN   %s: %s",
                     node != SIZE_MAX ? m->nodes[node].name : "macro",
                     msg ? msg : "");
    *out = txf_tval_str(a->arena, "");
    return 0;
  }
  if (!strcmp(name, "adapter.quote")) {
    if (a->n != 1 || a->v[0]->type != TXF_TV_STR)
      return txf_err_set(err, TXF_EPARSE,
                         "adapter.quote(identifier) takes "
                         "a string");
    char *q = quote_ident(a->v[0]->s);
    *out = txf_tval_str(a->arena, q);
    free(q);
    return 0;
  }
  if (!strcmp(name, "adapter.get_relation"))
    return get_relation(m, parse, a, out, err);
  if (!strcmp(name, "modules.datetime.datetime.now") ||
      !strcmp(name, "modules.datetime.datetime.utcnow") ||
      !strcmp(name, "modules.datetime.date.today")) {
    if (a->n || a->n_kw)
      return txf_err_set(err, TXF_EPARSE,
                         "%s() takes no arguments "
                         "(txnflow's clock is UTC)",
                         name + 8);
    *out = datetime_obj(a->arena, txf_wall_us(),
                        !strcmp(name, "modules.datetime.date.today"));
    return 0;
  }
  if (name[0] == '.' && a->n && a->v[0]->type == TXF_TV_DICT &&
      txf_tval_get(a->v[0], "__epoch_us")) {
    if (!strcmp(name, ".strftime"))
      return dt_strftime(a, out, err);
    if (!strcmp(name, ".isoformat")) {
      txf_tpl_args fa = *a;
      txf_tval *v[2] = {
          a->v[0],
          txf_tval_str(a->arena,
                       txf_tval_truthy(txf_tval_get(a->v[0], "__date_only"))
                           ? "%Y-%m-%d"
                           : "%Y-%m-%dT%H:%M:%S.%f+00:00")};
      fa.v = v;
      fa.n = 2;
      return dt_strftime(&fa, out, err);
    }
    return txf_err_set(err, TXF_EPARSE,
                       "datetime.%s() is not supported (strftime, "
                       "isoformat and the attributes year ... microsecond "
                       "are)",
                       name + 1);
  }
  /* dbt's objects we know: what is not above is named, not undefined */
  static const char *const roots[][2] = {
      {"adapter.", "quote, get_relation, dispatch"},
      {"exceptions.", "raise_compiler_error, warn"},
      {"modules.", "modules.datetime.datetime.now, .utcnow, "
                   "modules.datetime.date.today"},
  };
  for (size_t i = 0; i < TXF_ARRAY_LEN(roots); i++)
    if (txf_str_has_prefix(name, roots[i][0]))
      return txf_err_set(err, TXF_EPARSE,
                         "%s() is not supported by txnflow (supported: %s; "
                         "docs/models.md)",
                         name, roots[i][1]);
  return TXF_ENOTFOUND;
}

void txf_models_context_globals(txf_models *m, size_t node, int parse,
                                const char *this_rel, txf_arena *a,
                                txf_tval *g) {
  txf_tval_set(a, g, "execute", txf_tval_bool(a, !parse));
  txf_tval_set(a, g, "invocation_id", txf_tval_str(a, m->invocation_id));
  txf_tval_set(a, g, "run_started_at", datetime_obj(a, m->started_us, 0));
  if (this_rel)
    txf_tval_set(a, g, "this",
                 relation_obj(a, this_rel, m->target.database,
                              txf_models_schema(m, node),
                              txf_models_identifier(m, node)));
}
