/* Data tests: the four generic tests and singular tests, run as queries
 * that return failing rows. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "duck/duck.h"
#include "models/internal.h"

#define SAMPLE_ROWS 5

/* Render "{{ ref('x') }}"-style text (relationships' `to`) for test T. */
static int render_to(txf_models *m, size_t t, const char *rel_over,
                     char **out, txf_err *err) {
  mnode *n = &m->nodes[t];
  char *r = NULL;
  /* ref('x') -> relation of x; source('a','b') through the compiler */
  const char *e = n->rel_to;
  while (*e == ' ')
    e++;
  const char *q2 = strrchr(e, ')');
  if (!strncmp(e, "ref(", 4) && q2) {
    const char *p = q2;
    while (p > e && *p != '\'' && *p != '"')
      p--;
    const char *p1 = p - 1;
    while (p1 > e && *p1 != *p)
      p1--;
    if (p1 > e) {
      char *name = txf_xstrndup(p1 + 1, (size_t)(p - p1 - 1));
      ssize_t i = models_find(m, name, MN_MODEL);
      if (i < 0)
        i = models_find(m, name, MN_SEED);
      free(name);
      if (i >= 0) {
        r = (size_t)i == n->owner && rel_over ? txf_xstrdup(rel_over)
                                              : models_relation(m, (size_t)i);
      }
    }
  }
  if (!r)
    return txf_err_set(err, TXF_ECONFIG,
                       "%s:%d:%d: relationships: 'to' must be ref('model'), "
                       "got '%s'",
                       n->yml_file, n->yml_line, n->yml_col, n->rel_to);
  *out = r;
  return 0;
}

int models_test_sql(txf_models *m, size_t t, const char *rel_over,
                    char **out, txf_err *err) {
  mnode *n = &m->nodes[t];
  *out = NULL;
  if (n->gtest == GT_NONE)
    return models_compile_node(m, t, 0, 0, rel_over ? n->owner : SIZE_MAX,
                               rel_over, out, err);
  char *rel = rel_over ? txf_xstrdup(rel_over) : models_relation(m, n->owner);
  char *col = txf_duck_quote_ident(n->column);
  int rc = 0;
  switch (n->gtest) {
  case GT_UNIQUE:
    *out = txf_xasprintf("select %s as unique_field, count(*) as n_records\n"
                         "from %s\nwhere %s is not null\ngroup by %s\n"
                         "having count(*) > 1",
                         col, rel, col, col);
    break;
  case GT_NOT_NULL:
    *out = txf_xasprintf("select *\nfrom %s\nwhere %s is null", rel, col);
    break;
  case GT_ACCEPTED: {
    txf_buf b;
    txf_buf_init(&b, 0);
    for (size_t i = 0; i < n->values.n; i++) {
      char *q = n->quote_values ? txf_duck_quote_str(n->values.v[i])
                                : txf_xstrdup(n->values.v[i]);
      (void)txf_buf_printf(&b, "%s%s", i ? ", " : "", q);
      free(q);
    }
    *out = txf_xasprintf("select %s as value_field, count(*) as n_records\n"
                         "from %s\nwhere %s is not null and %s not in (%s)\n"
                         "group by %s",
                         col, rel, col, col, b.data ? b.data : "NULL", col);
    txf_buf_release(&b);
    break;
  }
  case GT_REL: {
    char *to = NULL;
    rc = render_to(m, t, rel_over, &to, err);
    if (!rc) {
      char *field = txf_duck_quote_ident(n->rel_field);
      *out = txf_xasprintf(
          "select child.%s as from_field\nfrom %s as child\n"
          "left join %s as parent on child.%s = parent.%s\n"
          "where child.%s is not null and parent.%s is null",
          col, rel, to, col, field, col, field);
      free(field);
      free(to);
    }
    break;
  }
  default:
    break;
  }
  free(rel);
  free(col);
  return rc;
}

int models_run_test(txf_models *m, txf_adapter *a, size_t t,
                    const char *rel_over, int *failed, int64_t *n_fail,
                    txf_err *err) {
  mnode *n = &m->nodes[t];
  *failed = 0;
  *n_fail = 0;
  int64_t t0 = txf_mono_us();
  int64_t started = m->opts->now_us;
  int rc = a ? 0 : txf_models_adapter(m, &a, err);
  char *sql = NULL;
  if (!rc)
    rc = models_test_sql(m, t, rel_over, &sql, err);
  if (!rc) {
    free(n->compiled);
    n->compiled = txf_xstrdup(sql);
    char *cnt = txf_xasprintf("select count(*) from (\n%s\n) as t", sql);
    rc = a->ops->query_i64(a, cnt, n_fail, err);
    free(cnt);
  }
  char *sample = NULL;
  if (!rc && *n_fail > 0) {
    *failed = 1;
    char *q = txf_xasprintf("select * from (\n%s\n) as t limit %d", sql,
                            SAMPLE_ROWS);
    txf_err serr;
    if (a->ops->query_json(a, q, &sample, &serr))
      sample = NULL;
    free(q);
  }
  int64_t dur = txf_mono_us() - t0;
  if (rc) {
    txf_err_wrap(err, "test %s", n->name);
    models_record_test(m, t, "error", -1, NULL, err->msg, started, dur);
  } else {
    const char *status = !*failed ? "pass"
                         : !strcmp(n->severity, "warn") ? "warn"
                                                        : "fail";
    char *msg = *failed ? txf_xasprintf("%" PRId64 " failing row%s", *n_fail,
                                        *n_fail == 1 ? "" : "s")
                        : NULL;
    models_record_test(m, t, status, *n_fail, sample, msg, started, dur);
    free(msg);
  }
  free(sample);
  free(sql);
  return rc;
}
