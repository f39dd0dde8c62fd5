/* Resolving a target: the output of the project's profile that a command
 * runs on, found in profiles.yml, checked by txf_profile_find (profiles.c)
 * and with every value rendered ({{ env_var('X') }}). The models runner and
 * the warehouse load both connect through here, so a target means the same
 * to both. */
#include <stdlib.h>
#include <string.h>

#include "project/project.h"
#include "template/template.h"

/* The one function a profiles.yml value may call. */
static int env_var_host(void *host, const char *name, const txf_tpl_args *a,
                        txf_tval **out, txf_err *err) {
  (void)host;
  if (strcmp(name, "env_var"))
    return TXF_ENOTFOUND;
  return txf_tpl_env_var(a, out, err);
}

/* Render a profiles.yml scalar ("{{ env_var('X') }}") with the template
 * engine, in A; caller frees. */
static int render_scalar(txf_arena *a, const char *file, const char *s,
                         char **out, txf_err *err) {
  txf_tpl *t;
  int rc = txf_tpl_parse(&t, a, file, s, strlen(s), err);
  txf_buf b;
  txf_buf_init(&b, 1 << 20);
  if (!rc)
    rc = txf_tpl_render(t, NULL, NULL, env_var_host, NULL, a, &b, err);
  if (rc) {
    txf_buf_release(&b);
    return rc;
  }
  *out = txf_buf_take(&b, NULL);
  return 0;
}

/* Render value V of key KP; a template error points at V. Caller frees. */
static int render_value(txf_arena *a, const txf_yaml_doc *doc,
                        const txf_yaml_node *v, const char *kp, char **out,
                        txf_err *err) {
  txf_err e;
  txf_err_clear(&e);
  int rc = render_scalar(a, "value", txf_yaml_str(v), out, &e);
  if (!rc)
    return 0;
  /* "value:1:12: ..." is a position inside the scalar: drop it, V's is
   * the one that helps */
  const char *msg = e.msg;
  if (txf_str_has_prefix(msg, "value:")) {
    const char *q = msg + 6;
    for (int colons = 0; *q && colons < 2; q++)
      colons += *q == ':';
    if (*q == ' ')
      msg = q + 1;
  }
  return txf_yaml_error(doc, v, err, "key '%s': %s", kp, msg);
}

/* The schema of output O ("public" when it names none). */
static int output_schema(txf_arena *a, const txf_yaml_doc *doc,
                         const txf_yaml_node *o, const char *where, char **out,
                         txf_err *err) {
  const txf_yaml_node *sc = txf_yaml_get(o, "schema");
  if (!sc) {
    *out = txf_xstrdup("public");
    return 0;
  }
  char kp[400];
  snprintf(kp, sizeof kp, "%s.schema", where);
  return render_value(a, doc, sc, kp, out, err);
}

/* A postgres or redshift output O (WHERE: "PROFILE.outputs.NAME"), already
 * checked by txf_profile_find: libpq settings, every value rendered; the
 * password only from env_var. */
static int resolve_pg(txf_target *t, txf_arena *a, const txf_yaml_doc *doc,
                      const txf_yaml_node *o, const char *where,
                      const char *app_name, txf_err *err) {
  /* dbt-postgres keys with no libpq meaning (see profiles.c) */
  static const char *const not_libpq[] = {"type", "schema", "threads",
                                          "search_path", "role", "retries",
                                          NULL};
  size_t n = txf_yaml_len(o);
  t->keys = txf_xcalloc(n + 2, sizeof *t->keys);
  t->vals = txf_xcalloc(n + 2, sizeof *t->vals);
  size_t k = 0;
  int rc = 0;
  char kp[400];
  for (size_t i = 0; !rc && i < n; i++) {
    const char *key = txf_yaml_str(txf_yaml_key_at(o, i));
    const txf_yaml_node *v = txf_yaml_at(o, i);
    int skip = 0;
    for (size_t j = 0; not_libpq[j]; j++)
      skip |= !strcmp(key, not_libpq[j]);
    if (skip)
      continue;
    snprintf(kp, sizeof kp, "%s.%s", where, key);
    const char *raw = txf_yaml_str(v);
    char *val = NULL;
    if (!strcmp(key, "password")) {
      /* read straight from the environment: a rendered copy would stay in
       * the arena after the password is wiped */
      char name[128], def[256];
      int n_def = sscanf(raw, " {{ env_var ( '%127[^']' , '%255[^']' ) }}",
                         name, def);
      if (n_def < 1)
        n_def = sscanf(raw, " {{ env_var ( \"%127[^\"]\" , \"%255[^\"]\" ) }}",
                       name, def);
      if (n_def < 1) {
        rc = txf_yaml_error(doc, v, err,
                            "key '%s': write {{ env_var('NAME') }} and "
                            "nothing else",
                            kp);
        break;
      }
      const char *env = getenv(name);
      if (!env && n_def < 2) {
        rc = txf_yaml_error(doc, v, err,
                            "key '%s': environment variable %s is not set",
                            kp, name);
        break;
      }
      val = txf_xstrdup(env ? env : def);
      explicit_bzero(def, sizeof def);
    } else {
      rc = render_value(a, doc, v, kp, &val, err);
      if (rc)
        break;
    }
    t->keys[k] = txf_xstrdup(!strcmp(key, "database") ? "dbname" : key);
    t->vals[k++] = val;
  }
  if (rc)
    return rc;
  t->keys[k] = txf_xstrdup("application_name");
  t->vals[k++] = txf_xstrdup(app_name);
  return output_schema(a, doc, o, where, &t->schema, err);
}

/* Where the warehouse load puts silver on T (an output of profile PNAME,
 * whose outputs are OUTS): the load section's table (default
 * silver_transactions), in the schema of its target's output when that is
 * an output of the same profile, else in T's schema. */
static int load_table(txf_target *t, txf_arena *a, const txf_project *p,
                      const txf_yaml_doc *doc, const txf_yaml_node *outs,
                      const char *pname, txf_err *err) {
  txf_project_load_section ls;
  int rc = txf_project_load_section_read(&ls, p, err);
  if (rc)
    return rc;
  const txf_yaml_node *wo = ls.target ? txf_yaml_get(outs, ls.target) : NULL;
  t->silver_table = txf_xstrdup(ls.table);
  if (!wo) {
    t->silver_schema = txf_xstrdup(t->schema);
    return 0;
  }
  char where[300];
  snprintf(where, sizeof where, "%s.outputs.%s", pname, ls.target);
  return output_schema(a, doc, wo, where, &t->silver_schema, err);
}

static void setup_push(txf_target *t, char *sql) {
  size_t n = 0;
  while (t->setup && t->setup[n])
    n++;
  t->setup = txf_xrealloc(t->setup, (n + 2) * sizeof(char *));
  t->setup[n] = sql;
  t->setup[n + 1] = NULL;
}

/* A file path as a DuckDB string literal: 'it''s'; caller frees. */
static char *sql_str(const char *s) {
  txf_buf b;
  txf_buf_init(&b, 0);
  txf_buf_putc(&b, '\'');
  for (; *s; s++) {
    if (*s == '\'')
      txf_buf_putc(&b, '\'');
    txf_buf_putc(&b, *s);
  }
  txf_buf_putc(&b, '\'');
  return txf_buf_take(&b, NULL);
}

/* dbt-duckdb's extensions, attach and database of output O (checked by
 * txf_profile_find): the statements T's connection runs first, and the
 * catalog. A `database:` that is neither the file's stem nor an attached
 * alias is an error, as in dbt-duckdb. */
static int duckdb_setup(txf_target *t, txf_arena *a, const txf_project *p,
                        const txf_yaml_doc *doc, const txf_yaml_node *o,
                        const char *where, txf_err *err) {
  char kp[400];
  const txf_yaml_node *ex = txf_yaml_get(o, "extensions");
  for (size_t i = 0; ex && i < txf_yaml_len(ex); i++)
    setup_push(t, txf_xasprintf("LOAD %s", txf_yaml_str(txf_yaml_at(ex, i))));
  const txf_yaml_node *at = txf_yaml_get(o, "attach");
  txf_strlist aliases = {0};
  int rc = 0;
  for (size_t i = 0; !rc && at && i < txf_yaml_len(at); i++) {
    const txf_yaml_node *e = txf_yaml_at(at, i);
    char *path = NULL;
    snprintf(kp, sizeof kp, "%s.attach[%zu].path", where, i);
    rc = render_value(a, doc, txf_yaml_get(e, "path"), kp, &path, err);
    if (rc)
      break;
    char *abs = strcmp(path, ":memory:") && !strstr(path, "://")
                    ? txf_path_abs(p->dir, path)
                    : txf_xstrdup(path);
    const char *alias = txf_yaml_str(txf_yaml_get(e, "alias"));
    char *stem = NULL;
    if (!alias) {
      /* DuckDB's default alias: the file name without its extension */
      const char *base = strrchr(abs, '/') ? strrchr(abs, '/') + 1 : abs;
      stem = txf_xstrdup(base);
      char *dot = strchr(stem, '.');
      if (dot)
        *dot = 0;
      alias = stem;
    }
    const char *type = txf_yaml_str(txf_yaml_get(e, "type"));
    int ro = 0;
    rc = txf_yaml_get_bool(doc, e, "read_only", 0, &ro, err);
    char *lit = sql_str(abs);
    char opts[200] = "";
    if (type || ro)
      snprintf(opts, sizeof opts, " (%s%s%s%s)", type ? "TYPE " : "",
               type ? type : "", type && ro ? ", " : "", ro ? "READ_ONLY" : "");
    if (!rc)
      setup_push(t, txf_xasprintf("ATTACH %s AS \"%s\"%s", lit, alias, opts));
    txf_strlist_push(&aliases, alias);
    TXF_FREE_ALL(lit, stem, abs, path);
  }
  const txf_yaml_node *dn = txf_yaml_get(o, "database");
  char *own = NULL;
  if (t->path) {
    const char *base = strrchr(t->path, '/') ? strrchr(t->path, '/') + 1
                                             : t->path;
    own = txf_xstrdup(base);
    char *dot = strchr(own, '.');
    if (dot)
      *dot = 0;
  } else {
    own = txf_xstrdup("memory");
  }
  if (!rc && dn) {
    char *db = NULL;
    snprintf(kp, sizeof kp, "%s.database", where);
    rc = render_value(a, doc, dn, kp, &db, err);
    if (!rc && strcmp(db, own) && !txf_strlist_has(&aliases, db))
      rc = txf_yaml_error(doc, dn, err,
                          "key '%s': '%s' is neither the database of path "
                          "('%s') nor an attach: alias",
                          kp, db, own);
    if (!rc && strcmp(db, own))
      setup_push(t, txf_xasprintf("USE \"%s\"", db));
    if (!rc) {
      free(own);
      own = db;
    } else {
      free(db);
    }
  }
  t->database = own;
  txf_strlist_release(&aliases);
  return rc;
}

/* A duckdb output O (WHERE: "PROFILE.outputs.NAME"): path, threads,
 * schema, rendered and checked. */
static int resolve_duckdb(txf_target *t, txf_arena *a, const txf_project *p,
                          const txf_target_opts *opts, const txf_yaml_doc *doc,
                          const txf_yaml_node *o, const char *where,
                          txf_err *err) {
  char kp[400];
  char *val = NULL;
  int rc = 0;
  const txf_yaml_node *pn = txf_yaml_get(o, "path");
  if (pn) {
    snprintf(kp, sizeof kp, "%s.path", where);
    rc = render_value(a, doc, pn, kp, &val, err);
    if (!rc && !*val)
      rc = txf_yaml_error(doc, pn, err, "key '%s': the path is empty", kp);
    if (!rc && strcmp(val, ":memory:"))
      t->path = txf_path_abs(p->dir, val);
  } else {
    t->path = txf_path_join(opts->data_dir, "warehouse.duckdb");
  }
  free(val);
  val = NULL;
  const txf_yaml_node *th = txf_yaml_get(o, "threads");
  if (!rc && th) {
    /* checked already unless it is a template */
    snprintf(kp, sizeof kp, "%s.threads", where);
    uint64_t v = 0;
    rc = render_value(a, doc, th, kp, &val, err);
    if (!rc && (txf_parse_u64(val, &v) || v == 0 || v > 64))
      rc = txf_yaml_error(doc, th, err,
                          "key '%s': expected an integer 1..64, got '%s'", kp,
                          val);
    if (!rc)
      t->threads = (int)v;
    free(val);
    val = NULL;
  }
  const txf_yaml_node *st = txf_yaml_get(o, "settings");
  for (size_t i = 0; !rc && st && i < txf_yaml_len(st); i++) {
    const char *name = txf_yaml_str(txf_yaml_key_at(st, i));
    snprintf(kp, sizeof kp, "%s.settings.%s", where, name);
    rc = render_value(a, doc, txf_yaml_at(st, i), kp, &val, err);
    if (rc)
      break;
    t->settings = txf_xrealloc(t->settings, (2 * i + 3) * sizeof(char *));
    t->settings[2 * i] = txf_xstrdup(name);
    t->settings[2 * i + 1] = val;
    t->settings[2 * i + 2] = NULL;
    val = NULL;
  }
  if (!rc)
    rc = duckdb_setup(t, a, p, doc, o, where, err);
  const txf_yaml_node *sc = txf_yaml_get(o, "schema");
  if (!rc && sc) {
    snprintf(kp, sizeof kp, "%s.schema", where);
    rc = render_value(a, doc, sc, kp, &val, err);
    if (!rc && !*val)
      rc = txf_yaml_error(doc, sc, err, "key '%s': the schema is empty", kp);
    if (!rc)
      t->schema = val;
    else
      free(val);
  }
  if (!rc && !t->schema)
    t->schema = txf_xstrdup("main");
  return rc;
}

/* The profiles.yml to read (malloc'd), or NULL for none. An explicit
 * --profiles-dir wins, then the project dir, then ~/.dbt — the order dbt
 * uses (docs/decisions/0701-profiles-lookup.md). The warehouse load reads
 * the project's own file. */
static int find_profiles(const txf_project *p, const txf_target_opts *o,
                         char **out, txf_err *err) {
  *out = NULL;
  if (o->warehouse_load) {
    *out = txf_path_join(p->dir, "profiles.yml");
    return 0;
  }
  char *cands[3] = {NULL, NULL, NULL};
  size_t nc = 0;
  if (o->profiles_dir)
    cands[nc++] = txf_path_join(o->profiles_dir, "profiles.yml");
  cands[nc++] = txf_path_join(p->dir, "profiles.yml");
  const char *home = o->home ? o->home : getenv("HOME");
  if (home)
    cands[nc++] = txf_xasprintf("%s/.dbt/profiles.yml", home);
  size_t found = 0;
  while (found < nc && !txf_fs_exists(cands[found]))
    found++;
  int rc = 0;
  if (o->profiles_dir && found != 0)
    rc = txf_err_set(err, TXF_ENOTFOUND, "no profiles.yml in %s",
                     o->profiles_dir);
  else if (found < nc)
    *out = cands[found];
  for (size_t i = 0; i < nc; i++)
    if (i != found || rc)
      free(cands[i]);
  return rc;
}

int txf_target_resolve(txf_target *t, const txf_project *p,
                       const txf_target_opts *opts, txf_err *err) {
  memset(t, 0, sizeof *t);
  char *path = NULL;
  int rc = find_profiles(p, opts, &path, err);
  if (rc)
    return rc;
  if (!path) {
    /* No profile: the default warehouse beside the data. */
    t->name = txf_xstrdup(opts->target ? opts->target : "dev");
    t->type = txf_xstrdup("duckdb");
    t->path = txf_path_join(opts->data_dir, "warehouse.duckdb");
    t->schema = txf_xstrdup("main");
    return 0;
  }
  txf_yaml_doc *doc = NULL;
  rc = txf_yaml_load_file(&doc, path, err);
  free(path);
  const txf_yaml_node *o = NULL;
  const char *name = NULL;
  if (!rc)
    rc = txf_profile_find(doc, p, opts->target, &o, &name, err);
  const char *type = rc ? NULL : txf_profile_type(o);
  int is_pg = type && (!strcmp(type, "postgres") || !strcmp(type, "redshift"));
  if (!rc && opts->warehouse_load && !is_pg) {
    const txf_yaml_node *tn = txf_yaml_get(o, "type");
    rc = txf_yaml_error(doc, tn ? tn : o, err,
                        "output '%s': type must be postgres or redshift for "
                        "a warehouse load (got '%s')",
                        name, type);
  }
  if (rc) {
    txf_yaml_free(doc);
    return rc;
  }
  const char *pname = txf_profile_name(p);
  char where[300];
  snprintf(where, sizeof where, "%s.outputs.%s", pname, name);
  t->name = txf_xstrdup(name);
  t->type = txf_xstrdup(type);
  t->is_redshift = !strcmp(type, "redshift");
  txf_arena a;
  txf_arena_init(&a, 16 * 1024);
  if (is_pg) {
    rc = resolve_pg(t, &a, doc, o, where, opts->app_name, err);
    const txf_yaml_node *outs =
        txf_yaml_get(txf_yaml_get(txf_yaml_root(doc), pname), "outputs");
    if (!rc && !opts->warehouse_load)
      rc = load_table(t, &a, p, doc, outs, pname, err);
  } else {
    rc = resolve_duckdb(t, &a, p, opts, doc, o, where, err);
  }
  txf_arena_release(&a);
  txf_yaml_free(doc);
  if (rc)
    txf_target_release(t);
  return rc;
}

void txf_target_release(txf_target *t) {
  TXF_FREE_ALL(t->name, t->type, t->path, t->schema);
  for (size_t i = 0; t->keys && t->keys[i]; i++) {
    if (!strcmp(t->keys[i], "password"))
      explicit_bzero(t->vals[i], strlen(t->vals[i]));
    free(t->keys[i]);
    free(t->vals[i]);
  }
  TXF_FREE_ALL(t->keys, t->vals, t->silver_schema, t->silver_table);
  for (size_t i = 0; t->settings && t->settings[i]; i++)
    free(t->settings[i]);
  free(t->settings);
  for (size_t i = 0; t->setup && t->setup[i]; i++)
    free(t->setup[i]);
  free(t->setup);
  free(t->database);
  memset(t, 0, sizeof *t);
}
