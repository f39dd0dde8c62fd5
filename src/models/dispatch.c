/* adapter.dispatch(macro_name, macro_namespace=None): dbt's multiple
 * dispatch (docs/models.md, "Dispatch"). A macro that SQL differs in
 * between warehouses has one implementation per warehouse,
 * <type>__<name>, and default__<name> for the rest; dispatch picks the
 * target's. Namespaces are projects: today only the root project's macros
 * exist (packages: issue 20 adds their macros, which package_has() is the
 * place to look up). */
#include <stdlib.h>
#include <string.h>

#include "models/internal.h"

int txf_models_dispatch_check(const txf_models *m, txf_err *err) {
  const txf_yaml_doc *doc = m->project->doc;
  const txf_yaml_node *d = txf_yaml_get(txf_yaml_root(doc), "dispatch");
  if (!d || txf_yaml_is_null(d))
    return 0;
  if (txf_yaml_kind(d) != TXF_YAML_SEQ)
    return txf_yaml_error(doc, d, err,
                          "key 'dispatch': expected a list of "
                          "{macro_namespace: NAME, search_order: [...]}");
  static const char *const keys[] = {"macro_namespace", "search_order", NULL};
  for (size_t i = 0; i < txf_yaml_len(d); i++) {
    const txf_yaml_node *e = txf_yaml_at(d, i);
    if (txf_yaml_kind(e) != TXF_YAML_MAP)
      return txf_yaml_error(doc, e, err,
                            "dispatch: each entry is a map with "
                            "macro_namespace and search_order");
    int rc = txf_yaml_check_keys(doc, e, keys, "dispatch", err);
    if (rc)
      return rc;
    const txf_yaml_node *ns = txf_yaml_get(e, "macro_namespace"),
                        *so = txf_yaml_get(e, "search_order");
    if (!ns || txf_yaml_kind(ns) != TXF_YAML_SCALAR || !*txf_yaml_str(ns))
      return txf_yaml_error(doc, e, err,
                            "dispatch: macro_namespace must name a project");
    if (!so || txf_yaml_kind(so) != TXF_YAML_SEQ || !txf_yaml_len(so))
      return txf_yaml_error(doc, so ? so : e, err,
                            "dispatch: search_order must be a list of "
                            "project names");
    for (size_t k = 0; k < txf_yaml_len(so); k++)
      if (txf_yaml_kind(txf_yaml_at(so, k)) != TXF_YAML_SCALAR)
        return txf_yaml_error(doc, txf_yaml_at(so, k), err,
                              "dispatch: search_order must be a list of "
                              "project names");
  }
  return 0;
}

/* The projects to search for NS (NULL: none given), in order: the
 * dispatch config's search_order for NS, else the root project and then
 * NS. */
static void search_order(const txf_models *m, const char *ns,
                         txf_strlist *out) {
  const txf_yaml_node *d =
      txf_yaml_get(txf_yaml_root(m->project->doc), "dispatch");
  for (size_t i = 0; ns && d && i < txf_yaml_len(d); i++) {
    const txf_yaml_node *e = txf_yaml_at(d, i);
    if (strcmp(txf_yaml_str(txf_yaml_get(e, "macro_namespace")), ns))
      continue;
    const txf_yaml_node *so = txf_yaml_get(e, "search_order");
    for (size_t k = 0; k < txf_yaml_len(so); k++)
      if (!txf_strlist_has(out, txf_yaml_str(txf_yaml_at(so, k))))
        txf_strlist_push(out, txf_yaml_str(txf_yaml_at(so, k)));
    return;
  }
  txf_strlist_push(out, m->project->name);
  if (ns && strcmp(ns, m->project->name))
    txf_strlist_push(out, ns);
}

/* 1 when project PKG defines macro NAME. The root project's macros are
 * M's env; there are no packages yet. */
static int package_has(const txf_models *m, const char *pkg, const char *name) {
  return !strcmp(pkg, m->project->name) && txf_tpl_env_has_macro(m->env, name);
}

/* The string argument NAME (position POS, or keyword) of A, or NULL;
 * *bad when it is given but is no string (none counts as not given). */
static const char *str_arg(const txf_tpl_args *a, size_t pos, const char *name,
                           int *bad) {
  const txf_tval *v = pos < a->n ? a->v[pos] : NULL;
  for (size_t i = 0; !v && i < a->n_kw; i++)
    if (!strcmp(a->kw_names[i], name))
      v = a->kw[i];
  if (!v || v->type == TXF_TV_NONE)
    return NULL;
  if (v->type != TXF_TV_STR)
    *bad = 1;
  return v->type == TXF_TV_STR ? v->s : NULL;
}

int txf_models_dispatch(const txf_models *m, const txf_tpl_args *a,
                        txf_tval **out, txf_err *err) {
  int bad = a->n > 2;
  for (size_t i = 0; i < a->n_kw; i++)
    bad |= strcmp(a->kw_names[i], "macro_name") &&
           strcmp(a->kw_names[i], "macro_namespace");
  const char *name = str_arg(a, 0, "macro_name", &bad);
  const char *ns = str_arg(a, 1, "macro_namespace", &bad);
  if (bad || !name || !*name)
    return txf_err_set(err, TXF_EPARSE,
                       "adapter.dispatch(macro_name, macro_namespace=None) "
                       "takes the macro's name and, optionally, its "
                       "project's (strings)");
  const char *dot = strchr(name, '.');
  if (dot)
    return txf_err_set(err, TXF_EPARSE,
                       "adapter.dispatch('%s'): '.' is not part of a macro "
                       "name; did you mean adapter.dispatch('%s', "
                       "macro_namespace='%.*s')?",
                       name, dot + 1, (int)(dot - name), name);
  /* the target's type, its parent's (Redshift speaks PostgreSQL), then
   * the default */
  const char *type = m->target.type ? m->target.type : "duckdb";
  const char *prefixes[3] = {type, NULL, "default"};
  if (!strcmp(type, "redshift"))
    prefixes[1] = "postgres";
  txf_strlist pkgs = {0};
  search_order(m, ns, &pkgs);
  txf_buf tried;
  txf_buf_init(&tried, 0);
  const char *found = NULL;
  char *cand = NULL;
  for (size_t p = 0; !found && p < pkgs.n; p++) {
    for (size_t k = 0; !found && k < TXF_ARRAY_LEN(prefixes); k++) {
      if (!prefixes[k])
        continue;
      free(cand);
      cand = txf_xasprintf("%s__%s", prefixes[k], name);
      if (package_has(m, pkgs.v[p], cand))
        found = cand;
      else
        (void)txf_buf_printf(&tried, "%s'%s%s%s'", tried.len ? ", " : "",
                             ns ? pkgs.v[p] : "", ns ? "." : "", cand);
    }
  }
  int rc = 0;
  if (found)
    *out = txf_tval_macro(a->arena, found);
  else
    rc = txf_err_set(err, TXF_ENOTFOUND,
                     "adapter.dispatch('%s'): no macro for target type '%s'%s%s"
                     "%s; searched for %s",
                     name, type, ns ? " in namespace '" : "", ns ? ns : "",
                     ns ? "'" : "", tried.data ? tried.data : "");
  free(cand);
  txf_buf_release(&tried);
  txf_strlist_release(&pkgs);
  return rc;
}
