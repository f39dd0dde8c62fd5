/* Checking profiles.yml: the profile a project uses, every output in it,
 * every key of each output for its type. The models runner and the
 * warehouse load both go through here, so a typo gets the same
 * "profiles.yml:7:7: unknown key 'pth' in t.outputs.dev (did you mean
 * 'path'?)" whichever command reads the file first. */
#include <stdlib.h>
#include <string.h>

#include "project/project.h"

/* What txnflow reads from a duckdb output: dbt-duckdb's keys that we
 * honour. `settings` is its map of DuckDB settings (memory_limit: 2GB),
 * each SET on the connection; `extensions` are LOADed, `attach` entries
 * ATTACHed, `database` names the catalog models go to. dbt-duckdb's keys
 * we cannot honour (`plugins`, `external_root`, ...) are named in
 * duckdb_refused with the reason: a key we ignore looks like one we
 * honour. */
static const char *const duckdb_keys[] = {
    "type",       "path",   "schema", "threads", "settings", "extensions",
    "attach",     "database", "plugins", "external_root", "filesystems",
    "secrets",    "module_paths", "use_credential_provider",
    "disable_transactions", "retries", NULL};

/* dbt-duckdb keys that are refused, and why. */
static const char *const duckdb_refused[][2] = {
    {"plugins", "dbt-duckdb's plugins are Python modules and txnflow runs no "
                "Python; read files with a source's meta.external_location "
                "or an attach: entry instead"},
    {"external_root", "it is the folder of materialized='external' models, "
                      "which txnflow does not build (use table)"},
    {"filesystems", "fsspec filesystems are Python; txnflow does not load "
                    "them"},
    {"module_paths", "it is for Python plugins, which txnflow does not run"},
    {"secrets", "DuckDB secrets are not set from profiles.yml; use "
                "settings: or the environment"},
    {"use_credential_provider", "it is a Python credential provider"},
    {"disable_transactions", "txnflow publishes every model in a "
                             "transaction"},
    {"retries", "txnflow does not retry a failed query"},
};

/* Keys of an attach: entry (dbt-duckdb's). */
static const char *const attach_keys[] = {"path", "alias", "type",
                                          "read_only", NULL};

/* libpq's keywords we pass through (`database` is dbt's other spelling of
 * dbname), and dbt-postgres keys that are accepted and ignored: threads
 * (postgres targets build one at a time, docs/models.md), search_path,
 * role, retries. */
static const char *const pg_keys[] = {
    "type", "host", "port", "user", "password", "dbname", "database",
    "schema", "sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl",
    "connect_timeout", "keepalives_idle", "threads", "search_path", "role",
    "retries", NULL};

static const char *const types[] = {"duckdb", "postgres", "redshift"};

static const char *const sslmodes[] = {"disable", "allow", "prefer",
                                       "require", "verify-ca", "verify-full"};

static const char *const profile_keys[] = {"target", "outputs", NULL};

/* The key node of KEY in map N (for pointing at a section's name). */
static const txf_yaml_node *key_of(const txf_yaml_node *n, const char *key) {
  for (size_t i = 0; i < txf_yaml_len(n); i++)
    if (!strcmp(txf_yaml_str(txf_yaml_key_at(n, i)), key))
      return txf_yaml_key_at(n, i);
  return NULL;
}

int txf_profile_is_template(const char *s) {
  return s && strstr(s, "{{") != NULL;
}

static const char *kind_word(const txf_yaml_node *n);

/* A duckdb output's settings: a map of DuckDB setting names (letters,
 * digits, '_') to scalar values. */
static int check_settings(const txf_yaml_doc *doc, const txf_yaml_node *v,
                          const char *kp, txf_err *err) {
  if (txf_yaml_kind(v) != TXF_YAML_MAP)
    return txf_yaml_error(doc, v, err,
                          "key '%s': expected a map of DuckDB settings "
                          "(memory_limit: 2GB), got %s",
                          kp, kind_word(v));
  for (size_t i = 0; i < txf_yaml_len(v); i++) {
    const char *name = txf_yaml_str(txf_yaml_key_at(v, i));
    const txf_yaml_node *val = txf_yaml_at(v, i);
    if (!name || !*name || strspn(name, "abcdefghijklmnopqrstuvwxyz"
                                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789_") != strlen(name))
      return txf_yaml_error(doc, txf_yaml_key_at(v, i), err,
                            "key '%s': '%s' is not a DuckDB setting name", kp,
                            name ? name : "");
    if (txf_yaml_kind(val) != TXF_YAML_SCALAR || txf_yaml_is_null(val))
      return txf_yaml_error(doc, val, err,
                            "key '%s.%s': expected a value, got %s", kp, name,
                            txf_yaml_is_null(val) ? "nothing" : kind_word(val));
  }
  return 0;
}

/* An identifier as DuckDB takes it unquoted: letters, digits, '_'. */
static int is_ident(const char *s) {
  return s && *s &&
         strspn(s, "abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(s);
}

/* extensions: a list of extension names (LOADed on connect). */
static int check_extensions(const txf_yaml_doc *doc, const txf_yaml_node *v,
                            const char *kp, txf_err *err) {
  if (txf_yaml_kind(v) != TXF_YAML_SEQ)
    return txf_yaml_error(doc, v, err,
                          "key '%s': expected a list of DuckDB extension "
                          "names ([httpfs, json]), got %s",
                          kp, kind_word(v));
  for (size_t i = 0; i < txf_yaml_len(v); i++) {
    const txf_yaml_node *e = txf_yaml_at(v, i);
    if (txf_yaml_kind(e) != TXF_YAML_SCALAR || !is_ident(txf_yaml_str(e)))
      return txf_yaml_error(doc, e, err,
                            "key '%s': expected an extension name (letters, "
                            "digits, '_'), got %s",
                            kp,
                            txf_yaml_kind(e) == TXF_YAML_SCALAR
                                ? "another text"
                                : kind_word(e));
  }
  return 0;
}

/* attach: a list of {path, alias, type, read_only}. */
static int check_attach(const txf_yaml_doc *doc, const txf_yaml_node *v,
                        const char *kp, txf_err *err) {
  if (txf_yaml_kind(v) != TXF_YAML_SEQ)
    return txf_yaml_error(doc, v, err,
                          "key '%s': expected a list of databases ({path, "
                          "alias, type, read_only}), got %s",
                          kp, kind_word(v));
  for (size_t i = 0; i < txf_yaml_len(v); i++) {
    const txf_yaml_node *e = txf_yaml_at(v, i);
    char ep[440];
    snprintf(ep, sizeof ep, "%s[%zu]", kp, i);
    if (txf_yaml_kind(e) != TXF_YAML_MAP)
      return txf_yaml_error(doc, e, err,
                            "key '%s': expected a map (path, alias, ...), got "
                            "%s",
                            ep, kind_word(e));
    int rc = txf_yaml_check_keys(doc, e, attach_keys, ep, err);
    if (rc)
      return rc;
    const txf_yaml_node *path = txf_yaml_get(e, "path");
    if (!path || txf_yaml_kind(path) != TXF_YAML_SCALAR ||
        !*txf_yaml_str(path))
      return txf_yaml_error(doc, path ? path : e, err,
                            "key '%s.path': expected the database's path",
                            ep);
    const txf_yaml_node *al = txf_yaml_get(e, "alias");
    if (al && !is_ident(txf_yaml_str(al)))
      return txf_yaml_error(doc, al, err,
                            "key '%s.alias': expected a name (letters, "
                            "digits, '_')",
                            ep);
    const txf_yaml_node *ty = txf_yaml_get(e, "type");
    if (ty && !is_ident(txf_yaml_str(ty)))
      return txf_yaml_error(doc, ty, err,
                            "key '%s.type': expected a database type "
                            "(duckdb, sqlite, postgres, ...)",
                            ep);
    int ro;
    if ((rc = txf_yaml_get_bool(doc, e, "read_only", 0, &ro, err)))
      return rc;
  }
  return 0;
}

static const char *kind_word(const txf_yaml_node *n) {
  return txf_yaml_kind(n) == TXF_YAML_MAP   ? "a map"
         : txf_yaml_kind(n) == TXF_YAML_SEQ ? "a list"
                                            : "a scalar";
}

/* Integer key K (path KP) in LO..HI, unless it is a template. */
static int check_int(const txf_yaml_doc *doc, const txf_yaml_node *v,
                     const char *kp, int64_t lo, int64_t hi, txf_err *err) {
  const char *s = txf_yaml_str(v);
  int64_t x;
  if (txf_profile_is_template(s))
    return 0;
  if (txf_parse_i64(s, &x) != 0 || x < lo || x > hi)
    return txf_yaml_error(doc, v, err,
                          "key '%s': expected an integer %lld..%lld, got '%s'",
                          kp, (long long)lo, (long long)hi, s);
  return 0;
}

/* Output NAME (node O) of profile PNAME: its keys for its type and the
 * values that can be checked before env_var() is rendered. */
static int check_output(const txf_yaml_doc *doc, const char *pname,
                        const txf_yaml_node *name, const txf_yaml_node *o,
                        txf_err *err) {
  char where[300], kp[400];
  snprintf(where, sizeof where, "%s.outputs.%s", pname, txf_yaml_str(name));
  if (txf_yaml_kind(o) != TXF_YAML_MAP)
    return txf_yaml_error(doc, txf_yaml_is_null(o) ? name : o, err,
                          "key '%s': expected a map (type, path, ...), got "
                          "%s",
                          where, txf_yaml_is_null(o) ? "nothing" : kind_word(o));
  const txf_yaml_node *tn = txf_yaml_get(o, "type");
  const char *type = "duckdb"; /* txnflow's default; dbt requires it */
  if (tn) {
    type = txf_yaml_str(tn);
    size_t i = 0;
    while (type && i < TXF_ARRAY_LEN(types) && strcmp(type, types[i]))
      i++;
    if (!type || i == TXF_ARRAY_LEN(types)) {
      const char *c = type ? txf_str_closest(type, types, TXF_ARRAY_LEN(types))
                           : NULL;
      return txf_yaml_error(doc, tn, err,
                            "key '%s.type': expected duckdb, postgres or "
                            "redshift, got '%s'%s%s%s",
                            where, type ? type : kind_word(tn),
                            c ? " (did you mean '" : "", c ? c : "",
                            c ? "'?)" : "");
    }
  }
  int is_duck = !strcmp(type, "duckdb");
  int rc = txf_yaml_check_keys(doc, o, is_duck ? duckdb_keys : pg_keys, where,
                               err);
  if (rc)
    return rc;
  for (size_t i = 0; i < txf_yaml_len(o); i++) {
    const char *k = txf_yaml_str(txf_yaml_key_at(o, i));
    const txf_yaml_node *v = txf_yaml_at(o, i);
    snprintf(kp, sizeof kp, "%s.%s", where, k);
    if (is_duck && !strcmp(k, "settings")) {
      rc = check_settings(doc, v, kp, err);
      if (rc)
        return rc;
      continue;
    }
    if (is_duck)
      for (size_t j = 0; j < TXF_ARRAY_LEN(duckdb_refused); j++)
        if (!strcmp(k, duckdb_refused[j][0]))
          return txf_yaml_error(doc, txf_yaml_key_at(o, i), err,
                                "key '%s': not supported by txnflow: %s", kp,
                                duckdb_refused[j][1]);
    if (is_duck && (!strcmp(k, "extensions") || !strcmp(k, "attach"))) {
      rc = !strcmp(k, "attach") ? check_attach(doc, v, kp, err)
                                : check_extensions(doc, v, kp, err);
      if (rc)
        return rc;
      continue;
    }
    if (txf_yaml_kind(v) != TXF_YAML_SCALAR)
      return txf_yaml_error(doc, v, err, "key '%s': expected a value, got %s",
                            kp, kind_word(v));
    const char *s = txf_yaml_str(v);
    if (txf_yaml_is_null(v) || !*s)
      return txf_yaml_error(doc, txf_yaml_key_at(o, i), err,
                            "key '%s': expected a value, got nothing", kp);
    if (!strcmp(k, "threads"))
      rc = check_int(doc, v, kp, 1, 64, err);
    else if (!strcmp(k, "port"))
      rc = check_int(doc, v, kp, 1, 65535, err);
    else if (!strcmp(k, "connect_timeout") || !strcmp(k, "keepalives_idle") ||
             !strcmp(k, "retries"))
      rc = check_int(doc, v, kp, 0, 1000000, err);
    else if (!strcmp(k, "sslmode") && !txf_profile_is_template(s)) {
      size_t j = 0;
      while (j < TXF_ARRAY_LEN(sslmodes) && strcmp(s, sslmodes[j]))
        j++;
      if (j == TXF_ARRAY_LEN(sslmodes)) {
        const char *c = txf_str_closest(s, sslmodes, TXF_ARRAY_LEN(sslmodes));
        rc = txf_yaml_error(doc, v, err,
                            "key '%s': expected disable, allow, prefer, "
                            "require, verify-ca or verify-full, got '%s'%s%s%s",
                            kp, s, c ? " (did you mean '" : "", c ? c : "",
                            c ? "'?)" : "");
      }
    } else if (!strcmp(k, "password") &&
               !(txf_profile_is_template(s) && strstr(s, "env_var("))) {
      /* never echo the value */
      rc = txf_yaml_error(doc, v, err,
                          "key '%s': write {{ env_var('NAME') }}; a password "
                          "in the file is refused",
                          kp);
    } else if (!strcmp(k, "database") && txf_yaml_get(o, "dbname")) {
      rc = txf_yaml_error(doc, txf_yaml_key_at(o, i), err,
                          "key '%s': 'database' and 'dbname' are the same "
                          "setting; keep one",
                          kp);
    }
    if (rc)
      return rc;
  }
  return 0;
}

int txf_profile_find(const txf_yaml_doc *doc, const txf_project *p,
                     const char *target, const txf_yaml_node **out,
                     const char **out_name, txf_err *err) {
  *out = NULL;
  *out_name = NULL;
  const txf_yaml_node *root = txf_yaml_root(doc);
  if (txf_yaml_kind(root) != TXF_YAML_MAP)
    return txf_yaml_error(doc, root, err,
                          "expected a map of profiles (PROFILE: {target, "
                          "outputs}), got %s",
                          kind_word(root));
  /* the profile: txnflow.yml's `profile:` (checked by the project
   * loader), else the project's name */
  const txf_yaml_node *pkey = txf_yaml_get(txf_yaml_root(p->doc), "profile");
  const char *pname = txf_profile_name(p);
  if (pkey && txf_yaml_is_null(pkey))
    pkey = NULL;
  const txf_yaml_node *prof = txf_yaml_get(root, pname);
  if (!prof) {
    const char *names[64];
    size_t nn = 0;
    for (size_t i = 0; i < txf_yaml_len(root) && nn < 64; i++)
      if (strcmp(txf_yaml_str(txf_yaml_key_at(root, i)), "config"))
        names[nn++] = txf_yaml_str(txf_yaml_key_at(root, i));
    const char *c = txf_str_closest(pname, names, nn);
    char hint[200] = "";
    if (c)
      snprintf(hint, sizeof hint, " (did you mean '%s'?)", c);
    if (pkey)
      return txf_yaml_error(p->doc, pkey, err,
                            "key 'profile': %s has no profile '%s'%s",
                            txf_yaml_file(doc), pname, hint);
    return txf_yaml_error(doc, root, err,
                          "no profile '%s' at the top level (the project's "
                          "name; 'profile:' in %s picks another)%s",
                          pname, p->config_path, hint);
  }
  char where[300];
  snprintf(where, sizeof where, "profile '%s'", pname);
  if (txf_yaml_kind(prof) != TXF_YAML_MAP)
    return txf_yaml_error(doc, txf_yaml_is_null(prof) ? key_of(root, pname)
                                                      : prof,
                          err,
                          "key '%s': expected a map (target, outputs), got %s",
                          pname, txf_yaml_is_null(prof) ? "nothing"
                                                        : kind_word(prof));
  int rc = txf_yaml_check_keys(doc, prof, profile_keys, where, err);
  if (rc)
    return rc;
  const txf_yaml_node *outs = txf_yaml_get(prof, "outputs");
  if (!outs)
    return txf_yaml_error(doc, key_of(root, pname), err,
                          "%s: missing key 'outputs' (a map of outputs, "
                          "each with a type)",
                          where);
  if (txf_yaml_kind(outs) != TXF_YAML_MAP || txf_yaml_len(outs) == 0)
    return txf_yaml_error(doc, outs, err,
                          "key '%s.outputs': expected a map of outputs "
                          "(NAME: {type: duckdb, ...}), got %s",
                          pname,
                          txf_yaml_kind(outs) == TXF_YAML_MAP ||
                                  txf_yaml_is_null(outs)
                              ? "nothing"
                              : kind_word(outs));
  for (size_t i = 0; i < txf_yaml_len(outs); i++) {
    rc = check_output(doc, pname, txf_yaml_key_at(outs, i),
                      txf_yaml_at(outs, i), err);
    if (rc)
      return rc;
  }
  const txf_yaml_node *tnode = txf_yaml_get(prof, "target");
  if (!target && tnode && !txf_yaml_is_null(tnode)) {
    target = txf_yaml_str(tnode);
    if (!target || !*target)
      return txf_yaml_error(doc, tnode, err,
                            "key '%s.target': expected an output name, got "
                            "%s",
                            pname, target ? "nothing" : kind_word(tnode));
  } else {
    tnode = NULL; /* --target, or the default */
  }
  if (!target)
    target = "dev";
  const txf_yaml_node *o = txf_yaml_get(outs, target);
  if (!o) {
    const char *names[64];
    size_t nn = 0;
    for (size_t i = 0; i < txf_yaml_len(outs) && nn < 64; i++)
      names[nn++] = txf_yaml_str(txf_yaml_key_at(outs, i));
    const char *c = txf_str_closest(target, names, nn);
    char hint[200] = "";
    if (c)
      snprintf(hint, sizeof hint, " (did you mean '%s'?)", c);
    return txf_yaml_error(doc, tnode ? tnode : key_of(prof, "outputs"), err,
                          "key '%s.%s': profile '%s' has no target '%s'%s",
                          pname, tnode ? "target" : "outputs", pname, target,
                          hint);
  }
  *out = o;
  *out_name = target;
  return 0;
}

const char *txf_profile_name(const txf_project *p) {
  const char *s = txf_yaml_str(txf_yaml_get(txf_yaml_root(p->doc), "profile"));
  return s && *s ? s : p->name;
}

const char *txf_profile_type(const txf_yaml_node *o) {
  const char *t = txf_yaml_str(txf_yaml_get(o, "type"));
  return t ? t : "duckdb";
}
