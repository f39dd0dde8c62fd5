/* Vars: the project's `vars:` overlaid by --vars, as template values. */
#include <stdlib.h>
#include <string.h>

#include "models/internal.h"

txf_tval *txf_models_yaml_to_tval(txf_arena *a, const txf_yaml_node *n) {
  if (!n)
    return txf_tval_none(a);
  if (txf_yaml_kind(n) == TXF_YAML_MAP) {
    txf_tval *d = txf_tval_dict(a);
    for (size_t i = 0; i < txf_yaml_len(n); i++)
      txf_tval_set(a, d, txf_yaml_str(txf_yaml_key_at(n, i)),
                   txf_models_yaml_to_tval(a, txf_yaml_at(n, i)));
    return d;
  }
  if (txf_yaml_kind(n) == TXF_YAML_SEQ) {
    txf_tval *l = txf_tval_list(a);
    for (size_t i = 0; i < txf_yaml_len(n); i++)
      txf_tval_push(a, l, txf_models_yaml_to_tval(a, txf_yaml_at(n, i)));
    return l;
  }
  if (txf_yaml_is_null(n))
    return txf_tval_none(a);
  const char *s = txf_yaml_str(n);
  if (!strcmp(s, "true") || !strcmp(s, "True"))
    return txf_tval_bool(a, 1);
  if (!strcmp(s, "false") || !strcmp(s, "False"))
    return txf_tval_bool(a, 0);
  double x;
  /* Plain numbers become numbers; dates and anything else stay text. */
  if (s[0] && strspn(s, "0123456789.-+eE") == strlen(s) &&
      txf_parse_double(s, &x) == 0)
    return txf_tval_num(a, x);
  return txf_tval_str(a, s);
}

int txf_models_vars_load(txf_models *m, txf_err *err) {
  m->vars = txf_tval_dict(&m->arena);
  /* var('pan'): the feed carries card numbers (feed.pan), so silver has
   * card_token and the models key cards on it (docs/card-data.md); set
   * first, so the project's vars and --vars can still say otherwise. */
  txf_tval_set(&m->arena, m->vars, "pan",
               txf_tval_bool(&m->arena, m->project->feed_pan));
  const txf_yaml_node *pv = txf_yaml_get(txf_yaml_root(m->project->doc),
                                         "vars");
  if (pv && txf_yaml_kind(pv) == TXF_YAML_MAP) {
    for (size_t i = 0; i < txf_yaml_len(pv); i++) {
      const char *k = txf_yaml_str(txf_yaml_key_at(pv, i));
      const txf_yaml_node *v = txf_yaml_at(pv, i);
      /* dbt allows vars scoped by project name */
      if (!strcmp(k, m->project->name) && txf_yaml_kind(v) == TXF_YAML_MAP) {
        for (size_t j = 0; j < txf_yaml_len(v); j++)
          txf_tval_set(&m->arena, m->vars, txf_yaml_str(txf_yaml_key_at(v, j)),
                       txf_models_yaml_to_tval(&m->arena, txf_yaml_at(v, j)));
      } else {
        txf_tval_set(&m->arena, m->vars, k,
                     txf_models_yaml_to_tval(&m->arena, v));
      }
    }
  }
  const char *cli = m->opts->vars;
  if (!cli || !*cli)
    return 0;
  int rc = txf_yaml_load_string(&m->vars_doc, "--vars", cli, strlen(cli), err);
  if (rc)
    return txf_err_set(err, TXF_EUSAGE, "%s", err->msg);
  const txf_yaml_node *root = txf_yaml_root(m->vars_doc);
  if (txf_yaml_kind(root) != TXF_YAML_MAP)
    return txf_err_set(err, TXF_EUSAGE,
                       "--vars: expected a map such as '{run_date: "
                       "\"2025-09-11\"}'");
  for (size_t i = 0; i < txf_yaml_len(root); i++)
    txf_tval_set(&m->arena, m->vars, txf_yaml_str(txf_yaml_key_at(root, i)),
                 txf_models_yaml_to_tval(&m->arena, txf_yaml_at(root, i)));
  return 0;
}

int txf_models_var_text(txf_models *m, const char *key, char **out,
                        txf_err *err) {
  *out = NULL;
  txf_tval *v = txf_tval_get(m->vars, key);
  if (!v)
    return 0;
  txf_buf b;
  txf_buf_init(&b, 1 << 20);
  if (v->type == TXF_TV_LIST) {
    for (size_t i = 0; i < v->len; i++)
      if ((i && txf_buf_putc(&b, ',')) || txf_tval_print(&b, v->items[i])) {
        txf_buf_release(&b);
        return txf_err_set(err, TXF_ETOOBIG, "var '%s' too long", key);
      }
  } else if (txf_tval_print(&b, v)) {
    txf_buf_release(&b);
    return txf_err_set(err, TXF_ETOOBIG, "var '%s' too long", key);
  }
  *out = txf_buf_take(&b, NULL);
  return 0;
}
