/* dbt unit tests: `unit_tests:` in a schema.yml, each testing one model's
 * SQL on fixed input rows (`given`: refs, sources, `this`) against
 * expected rows (`expect`), with `overrides` of vars and of the macro
 * is_incremental (docs: "Unit tests", "Unit testing versioned and
 * incremental models"). A unit test is a test node (GT_UNIT) whose SQL
 * returns the rows where the model's output and the expected rows differ
 * (datatest.c writes it), so it is counted, recorded and selected
 * (test_type:unit) as tests are; in `build` it runs before its model is
 * built. This file reads them. */
#include <stdlib.h>
#include <string.h>

#include "duck/duck.h"
#include "models/internal.h"

/* ---------------------------------------------------------------- YAML */

static void literal(txf_buf *b, txf_arena *a, const txf_yaml_node *v) {
  if (!v || txf_yaml_is_null(v)) {
    (void)txf_buf_puts(b, "NULL");
    return;
  }
  txf_tval *t = txf_models_yaml_to_tval(a, v);
  if (t->type == TXF_TV_NUM) {
    (void)txf_buf_puts(b, txf_yaml_str(v));
  } else if (t->type == TXF_TV_BOOL) {
    (void)txf_buf_puts(b, t->b ? "true" : "false");
  } else {
    char *q = txf_duck_quote_str(txf_yaml_str(v) ? txf_yaml_str(v) : "");
    (void)txf_buf_puts(b, q);
    free(q);
  }
}

/* A CSV cell as a SQL literal: empty or null is NULL, a number as is, else
 * a string. */
static void csv_literal(txf_buf *b, const char *s, size_t n) {
  char *v = txf_xstrndup(s, n);
  char *p = v;
  while (*p == ' ')
    p++;
  size_t l = strlen(p);
  while (l && (p[l - 1] == ' ' || p[l - 1] == '\r'))
    p[--l] = 0;
  double x;
  if (!*p || !strcmp(p, "null") || !strcmp(p, "NULL"))
    (void)txf_buf_puts(b, "NULL");
  else if (strspn(p, "0123456789.-+eE") == l && txf_parse_double(p, &x) == 0)
    (void)txf_buf_puts(b, p);
  else {
    char *q = txf_duck_quote_str(p);
    (void)txf_buf_puts(b, q);
    free(q);
  }
  free(v);
}

/* ROWS (format dict: a list of maps; csv: a string) into U: its quoted
 * column list and its VALUES rows. */
static int rows_read(txf_models *m, const txf_yaml_doc *doc,
                     const txf_yaml_node *entry, unit_rows *u, txf_err *err) {
  const char *fmt = txf_yaml_str(txf_yaml_get(entry, "format"));
  const txf_yaml_node *rows = txf_yaml_get(entry, "rows");
  if (txf_yaml_get(entry, "fixture"))
    return txf_yaml_error(doc, txf_yaml_get(entry, "fixture"), err,
                          "unit test fixture files are not supported by "
                          "txnflow (give rows: inline)");
  if (fmt && strcmp(fmt, "dict") && strcmp(fmt, "csv"))
    return txf_yaml_error(doc, txf_yaml_get(entry, "format"), err,
                          "unit test format '%s' is not supported by txnflow "
                          "(dict and csv are)",
                          fmt);
  if (!rows || txf_yaml_is_null(rows))
    return 0;
  txf_buf cols, vals;
  txf_buf_init(&cols, 0);
  txf_buf_init(&vals, 0);
  if (fmt && !strcmp(fmt, "csv")) {
    const char *s = txf_yaml_str(rows);
    if (!s)
      return txf_yaml_error(doc, rows, err, "rows: csv rows are a string");
    const char *nl = strchr(s, '\n');
    size_t hl = nl ? (size_t)(nl - s) : strlen(s);
    char *hdr = txf_xstrndup(s, hl);
    size_t nc = 0;
    for (char *t = strtok(hdr, ","); t; t = strtok(NULL, ",")) {
      while (*t == ' ')
        t++;
      size_t l = strlen(t);
      while (l && (t[l - 1] == ' ' || t[l - 1] == '\r'))
        t[--l] = 0;
      char *q = txf_duck_quote_ident(t);
      (void)txf_buf_printf(&cols, "%s%s", nc++ ? ", " : "", q);
      free(q);
    }
    free(hdr);
    for (const char *line = nl ? nl + 1 : NULL; line && *line;) {
      const char *e = strchr(line, '\n');
      size_t ll = e ? (size_t)(e - line) : strlen(line);
      if (ll && strspn(line, " \r") < ll) {
        (void)txf_buf_printf(&vals, "%s(", vals.len ? ", " : "");
        const char *c = line;
        for (size_t k = 0; k < nc; k++) {
          const char *ce = memchr(c, ',', (size_t)(line + ll - c));
          size_t cl = ce ? (size_t)(ce - c) : (size_t)(line + ll - c);
          if (k)
            (void)txf_buf_puts(&vals, ", ");
          csv_literal(&vals, c, cl);
          c = ce ? ce + 1 : line + ll;
        }
        (void)txf_buf_putc(&vals, ')');
      }
      line = e ? e + 1 : NULL;
    }
  } else {
    if (txf_yaml_kind(rows) != TXF_YAML_SEQ)
      return txf_yaml_error(doc, rows, err,
                            "rows: expected a list of {column: value}");
    txf_strlist names = {0};
    for (size_t r = 0; r < txf_yaml_len(rows); r++) {
      const txf_yaml_node *row = txf_yaml_at(rows, r);
      if (txf_yaml_kind(row) != TXF_YAML_MAP) {
        txf_strlist_release(&names);
        txf_buf_release(&cols);
        txf_buf_release(&vals);
        return txf_yaml_error(doc, row, err,
                              "rows: each row is a map {column: value}");
      }
      for (size_t k = 0; k < txf_yaml_len(row); k++)
        if (!txf_strlist_has(&names, txf_yaml_str(txf_yaml_key_at(row, k))))
          txf_strlist_push(&names, txf_yaml_str(txf_yaml_key_at(row, k)));
    }
    for (size_t k = 0; k < names.n; k++) {
      char *q = txf_duck_quote_ident(names.v[k]);
      (void)txf_buf_printf(&cols, "%s%s", k ? ", " : "", q);
      free(q);
    }
    txf_arena a;
    txf_arena_init(&a, 1024);
    for (size_t r = 0; r < txf_yaml_len(rows); r++) {
      const txf_yaml_node *row = txf_yaml_at(rows, r);
      (void)txf_buf_printf(&vals, "%s(", r ? ", " : "");
      for (size_t k = 0; k < names.n; k++) {
        if (k)
          (void)txf_buf_puts(&vals, ", ");
        literal(&vals, &a, txf_yaml_get(row, names.v[k]));
      }
      (void)txf_buf_putc(&vals, ')');
    }
    txf_arena_release(&a);
    txf_strlist_release(&names);
  }
  (void)m;
  u->cols = cols.len ? txf_buf_take(&cols, NULL) : NULL;
  u->values = vals.len ? txf_buf_take(&vals, NULL) : NULL;
  txf_buf_release(&cols);
  txf_buf_release(&vals);
  return 0;
}

/* One entry of `unit_tests:`. */
static int unit_add(txf_models *m, const txf_yaml_doc *doc,
                    const txf_yaml_node *e, txf_err *err) {
  static const char *const keys[] = {"name", "model", "given", "expect",
                                     "overrides", "description", "config",
                                     "versions", NULL};
  if (txf_yaml_kind(e) != TXF_YAML_MAP)
    return txf_yaml_error(doc, e, err, "unit_tests: each entry is a map");
  int rc = txf_yaml_check_keys(doc, e, keys, "unit_tests", err);
  if (rc)
    return rc;
  const char *name = txf_yaml_str(txf_yaml_get(e, "name"));
  const char *model = txf_yaml_str(txf_yaml_get(e, "model"));
  if (!name || !model)
    return txf_yaml_error(doc, e, err, "unit_tests: an entry needs name and "
                                       "model");
  if (txf_yaml_get(e, "versions"))
    return txf_yaml_error(doc, txf_yaml_get(e, "versions"), err,
                          "unit_tests: versions is not supported by txnflow "
                          "(models have no versions here)");
  ssize_t owner = txf_models_find(m, model, MN_MODEL);
  if (owner < 0) {
    const char *c = txf_models_closest(m, model);
    return txf_yaml_error(doc, txf_yaml_get(e, "model"), err,
                          "unit test %s: no model '%s'%s%s%s", name, model,
                          c ? " (did you mean '" : "", c ? c : "",
                          c ? "'?)" : "");
  }
  if (txf_models_find(m, name, MN_TEST) >= 0)
    return txf_yaml_error(doc, e, err, "unit test name '%s' is already used",
                          name);
  mnode *n = txf_models_node_add(m, MN_TEST, name);
  n->gtest = GT_UNIT;
  n->owner = (size_t)owner;
  n->yml_file = txf_xstrdup(txf_yaml_file(doc));
  n->yml_line = txf_yaml_line(e);
  n->yml_col = txf_yaml_col(e);
  n->unit = txf_xcalloc(1, sizeof *n->unit);
  unit_def *u = n->unit;
  u->incremental = -1;
  const txf_yaml_node *cfg = txf_yaml_get(e, "config");
  if (cfg && txf_yaml_kind(cfg) == TXF_YAML_MAP) {
    const txf_yaml_node *tags = txf_yaml_get(cfg, "tags");
    for (size_t k = 0; tags && k < txf_yaml_len(tags); k++)
      txf_strlist_push(&n->tags, txf_yaml_str(txf_yaml_at(tags, k)));
    if (tags && txf_yaml_kind(tags) == TXF_YAML_SCALAR)
      txf_strlist_push(&n->tags, txf_yaml_str(tags));
    const char *en = txf_yaml_str(txf_yaml_get(cfg, "enabled"));
    if (en && (!strcmp(en, "false") || !strcmp(en, "False")))
      n->enabled = 0;
  }
  const txf_yaml_node *given = txf_yaml_get(e, "given");
  if (given && txf_yaml_kind(given) != TXF_YAML_SEQ)
    return txf_yaml_error(doc, given, err, "given: expected a list of "
                                           "{input, rows}");
  size_t ng = given ? txf_yaml_len(given) : 0;
  u->given = txf_xcalloc(ng + 1, sizeof *u->given);
  for (size_t k = 0; k < ng; k++) {
    const txf_yaml_node *g = txf_yaml_at(given, k);
    const char *in = txf_yaml_str(txf_yaml_get(g, "input"));
    if (!in)
      return txf_yaml_error(doc, g, err, "given: an entry needs input "
                                         "(ref('x'), source('s', 't') or "
                                         "this)");
    u->given[k].input = txf_xstrdup(in);
    u->n_given = k + 1;
    rc = rows_read(m, doc, g, &u->given[k], err);
    if (rc)
      return rc;
  }
  const txf_yaml_node *ex = txf_yaml_get(e, "expect");
  if (!ex || txf_yaml_kind(ex) != TXF_YAML_MAP)
    return txf_yaml_error(doc, ex ? ex : e, err,
                          "unit test %s: expect: {rows: [...]} is required",
                          name);
  rc = rows_read(m, doc, ex, &u->expect, err);
  if (rc)
    return rc;
  const txf_yaml_node *ov = txf_yaml_get(e, "overrides");
  if (ov) {
    static const char *const okeys[] = {"vars", "macros", "env_vars", NULL};
    rc = txf_yaml_check_keys(doc, ov, okeys, "overrides", err);
    if (rc)
      return rc;
    if (txf_yaml_get(ov, "env_vars"))
      return txf_yaml_error(doc, txf_yaml_get(ov, "env_vars"), err,
                            "overrides: env_vars is not supported by "
                            "txnflow");
    const txf_yaml_node *vars = txf_yaml_get(ov, "vars");
    if (vars)
      u->vars = txf_models_yaml_to_tval(&m->arena, vars);
    const txf_yaml_node *mac = txf_yaml_get(ov, "macros");
    for (size_t k = 0; mac && k < txf_yaml_len(mac); k++) {
      const char *mk = txf_yaml_str(txf_yaml_key_at(mac, k));
      if (strcmp(mk, "is_incremental"))
        return txf_yaml_error(doc, txf_yaml_key_at(mac, k), err,
                              "overrides: macro '%s' cannot be overridden by "
                              "txnflow (is_incremental can)",
                              mk);
      txf_tval *v = txf_models_yaml_to_tval(&m->arena, txf_yaml_at(mac, k));
      u->incremental = txf_tval_truthy(v);
    }
  }
  return 0;
}

int txf_models_unit_tests_load(txf_models *m, const txf_yaml_doc *doc,
                               const txf_yaml_node *list, txf_err *err) {
  if (txf_yaml_kind(list) != TXF_YAML_SEQ)
    return txf_yaml_error(doc, list, err, "unit_tests: expected a list");
  for (size_t k = 0; k < txf_yaml_len(list); k++) {
    int rc = unit_add(m, doc, txf_yaml_at(list, k), err);
    if (rc)
      return rc;
  }
  return 0;
}

void txf_models_unit_free(unit_def *u) {
  if (!u)
    return;
  for (size_t k = 0; k < u->n_given; k++) {
    free(u->given[k].input);
    free(u->given[k].cols);
    free(u->given[k].values);
  }
  TXF_FREE_ALL(u->given, u->expect.cols, u->expect.values, u);
}

