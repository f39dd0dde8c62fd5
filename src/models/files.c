/* A project's files: the model, seed, test, macro and doc paths, and the
 * files in them — SQL templates parsed into nodes, macros and doc blocks
 * into the template env, schema.yml files handed to config.c. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "models/internal.h"

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append files under DIR (relative REL) ending in one of SUFFIXES, sorted,
 * skipping dot files. Depth-limited against symlink loops. */
static void walk(const char *dir, const char *rel, const char *const *suffixes,
                 txf_strlist *out, int depth) {
  if (depth > 32)
    return;
  DIR *d = opendir(dir);
  if (!d)
    return;
  txf_strlist names = {0};
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.')
      txf_strlist_push(&names, e->d_name);
  closedir(d);
  if (names.n)
    qsort(names.v, names.n, sizeof *names.v, cmp_str);
  for (size_t i = 0; i < names.n; i++) {
    char *path = txf_path_join(dir, names.v[i]);
    char *r = rel[0] ? txf_path_join(rel, names.v[i]) : txf_xstrdup(names.v[i]);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
      walk(path, r, suffixes, out, depth + 1);
    } else {
      for (size_t k = 0; suffixes[k]; k++)
        if (txf_str_has_suffix(names.v[i], suffixes[k])) {
          txf_strlist_push(out, r);
          break;
        }
    }
    free(path);
    free(r);
  }
  txf_strlist_release(&names);
}

void txf_models_walk(const char *dir, const char *sfx, txf_strlist *out) {
  const char *sfxs[] = {sfx, NULL};
  walk(dir, "", sfxs, out, 0);
}

static int read_paths(txf_models *m, const char *key, const char *alt,
                      const char *def, txf_strlist *out, txf_err *err) {
  const txf_yaml_doc *doc = m->project->doc;
  const txf_yaml_node *n = txf_yaml_get(txf_yaml_root(doc), key);
  if (!n && alt)
    n = txf_yaml_get(txf_yaml_root(doc), alt);
  if (!n || txf_yaml_is_null(n)) {
    txf_strlist_push(out, def);
    return 0;
  }
  if (txf_yaml_kind(n) == TXF_YAML_SCALAR) {
    txf_strlist_push(out, txf_yaml_str(n));
    return 0;
  }
  if (txf_yaml_kind(n) != TXF_YAML_SEQ)
    return txf_yaml_error(doc, n, err, "key '%s': expected a list of paths",
                          key);
  for (size_t i = 0; i < txf_yaml_len(n); i++) {
    const char *s = txf_yaml_str(txf_yaml_at(n, i));
    if (!s)
      return txf_yaml_error(doc, txf_yaml_at(n, i), err,
                            "key '%s': expected a path", key);
    txf_strlist_push(out, s);
  }
  return 0;
}

int txf_models_paths_read(txf_models *m, txf_err *err) {
  int rc = read_paths(m, "model-paths", "source-paths", "models",
                      &m->model_paths, err);
  if (!rc)
    rc = read_paths(m, "seed-paths", "data-paths", "seeds", &m->seed_paths,
                    err);
  if (!rc)
    rc = read_paths(m, "test-paths", NULL, "tests", &m->test_paths, err);
  if (!rc)
    rc = read_paths(m, "macro-paths", NULL, "macros", &m->macro_paths, err);
  if (!rc)
    rc = read_paths(m, "snapshot-paths", NULL, "snapshots",
                    &m->snapshot_paths, err);
  return rc;
}

static int read_text(const char *path, txf_buf *b, txf_err *err) {
  txf_buf_init(b, TXF_TPL_MAX_SRC);
  return txf_fs_read_file(path, b, err);
}

int txf_models_files_add(txf_models *m, const txf_strlist *dirs,
                         mnode_kind kind, const char *suffix, txf_err *err) {
  const char *sfx[] = {suffix, NULL};
  for (size_t d = 0; d < dirs->n; d++) {
    char *dir = txf_path_join(m->project->dir, dirs->v[d]);
    txf_strlist files = {0};
    walk(dir, "", sfx, &files, 0);
    for (size_t i = 0; i < files.n; i++) {
      /* tests/generic/ holds {% test %} blocks (load.c), not tests */
      if (kind == MN_TEST && txf_str_has_prefix(files.v[i], "generic/"))
        continue;
      char *name = txf_models_stem(files.v[i]);
      ssize_t dup = txf_models_find(m, name, kind == MN_TEST ? MN_TEST : -1);
      if (dup >= 0 && (kind == MN_TEST || m->nodes[dup].kind != MN_TEST)) {
        int rc = txf_err_set(err, TXF_ECONFIG,
                             "%s/%s: name '%s' is already used by %s", dirs->v[d],
                             files.v[i], name, m->nodes[dup].rel_path);
        free(name);
        txf_strlist_release(&files);
        free(dir);
        return rc;
      }
      mnode *n = txf_models_node_add(m, kind, name);
      free(name);
      n->rel_path = txf_path_join(dirs->v[d], files.v[i]);
      n->abs_path = txf_path_join(dir, files.v[i]);
      if (kind != MN_SEED) {
        txf_buf b;
        int rc = read_text(n->abs_path, &b, err);
        if (rc) {
          txf_buf_release(&b);
          txf_strlist_release(&files);
          free(dir);
          return txf_err_wrap(err, "%s", n->rel_path);
        }
        n->raw = txf_buf_take(&b, NULL);
        rc = txf_tpl_parse(&n->tpl, &m->arena, n->rel_path, n->raw,
                           strlen(n->raw), err);
        if (rc) {
          txf_strlist_release(&files);
          free(dir);
          return rc;
        }
      }
    }
    txf_strlist_release(&files);
    free(dir);
  }
  return 0;
}

int txf_models_files_each(txf_models *m, const char *base,
                          const txf_strlist *dirs, const char *sfx,
                          txf_models_file_fn fn, void *ctx, txf_err *err) {
  const char *sfxs[] = {sfx, NULL};
  for (size_t d = 0; d < dirs->n; d++) {
    char *dir = txf_path_join(base ? base : m->project->dir, dirs->v[d]);
    txf_strlist files = {0};
    walk(dir, "", sfxs, &files, 0);
    int rc = 0;
    for (size_t i = 0; !rc && i < files.n; i++) {
      char *abs = txf_path_join(dir, files.v[i]);
      char *rel = base ? txf_xstrdup(abs) : txf_path_join(dirs->v[d],
                                                          files.v[i]);
      txf_buf b;
      rc = read_text(abs, &b, err);
      if (!rc)
        rc = fn(m, rel, abs, b.data ? b.data : "", b.len, ctx, err);
      txf_buf_release(&b);
      free(abs);
      free(rel);
    }
    txf_strlist_release(&files);
    free(dir);
    if (rc)
      return rc;
  }
  return 0;
}

typedef struct {
  const char *ns;
  const char *base; /* a package's directory, or NULL: the project */
  int shared;
} env_ctx;

/* The tag at P ("{%" or "{%-") if its first word is WORD: the position
 * after WORD, else NULL. */
static const char *tag_word(const char *p, const char *word) {
  if (strncmp(p, "{%", 2))
    return NULL;
  p += 2;
  if (*p == '-')
    p++;
  p += strspn(p, " \t\r\n");
  size_t l = strlen(word);
  if (strncmp(p, word, l) || !strchr(" \t\r\n", p[l]) || !p[l])
    return NULL;
  return p + l;
}

/* Record the macro and test blocks of TEXT (a file at REL of package NS)
 * for the manifest: the template engine keeps their trees, not their
 * text, and dbt's manifest lists each block's source (macro_sql). */
static void macro_blocks_add(txf_models *m, const char *rel, const char *ns,
                             const char *text) {
  for (const char *p = strstr(text, "{%"); p; p = strstr(p + 2, "{%")) {
    const char *w = tag_word(p, "macro");
    int test = 0;
    if (!w && (w = tag_word(p, "test")) != NULL)
      test = 1;
    if (!w)
      continue;
    w += strspn(w, " \t\r\n");
    size_t nl = strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          "0123456789_");
    const char *end = NULL;
    for (const char *q = strstr(w, "{%"); q && !end; q = strstr(q + 2, "{%"))
      if (tag_word(q, test ? "endtest" : "endmacro"))
        end = strstr(q, "%}");
    if (!nl || !end)
      continue; /* the parser has said what is wrong with it */
    m->macros = txf_xrealloc(m->macros, (m->n_macros + 1) * sizeof *m->macros);
    mmacro *mc = &m->macros[m->n_macros++];
    char *name = txf_xstrndup(w, nl);
    mc->name = test ? txf_xasprintf("test_%s", name) : txf_xstrdup(name);
    free(name);
    mc->package = txf_xstrdup(ns);
    mc->path = txf_xstrdup(rel);
    mc->sql = txf_xstrndup(p, (size_t)(end + 2 - p));
    p = end;
  }
}

static int env_file(txf_models *m, const char *rel, const char *abs,
                    const char *text, size_t len, void *ctx, txf_err *err) {
  const env_ctx *c = ctx;
  txf_tpl *t = NULL;
  int rc = txf_tpl_parse(&t, txf_tpl_env_arena(m->env), rel, text, len, err);
  if (!rc && c->ns && txf_str_has_suffix(rel, ".sql")) {
    size_t bl = c->base ? strlen(c->base) : 0;
    const char *r = c->base && !strncmp(abs, c->base, bl) && abs[bl] == '/'
                        ? abs + bl + 1
                        : rel;
    macro_blocks_add(m, r, c->ns, text);
  }
  return rc ? rc : txf_tpl_env_add_ns(m->env, t, c->ns, c->shared, err);
}

int txf_models_env_files_add(txf_models *m, const char *base,
                             const txf_strlist *dirs, const char *sfx,
                             const char *ns, int shared, txf_err *err) {
  env_ctx c = {ns, base, shared};
  return txf_models_files_each(m, base, dirs, sfx, env_file, &c, err);
}

int txf_models_schema_files_load(txf_models *m, txf_err *err) {
  const char *sfx[] = {".yml", ".yaml", NULL};
  txf_strlist dirs = {0};
  for (size_t i = 0; i < m->model_paths.n; i++)
    txf_strlist_push(&dirs, m->model_paths.v[i]);
  for (size_t i = 0; i < m->seed_paths.n; i++)
    txf_strlist_push(&dirs, m->seed_paths.v[i]);
  int rc = 0;
  for (size_t d = 0; !rc && d < dirs.n; d++) {
    char *dir = txf_path_join(m->project->dir, dirs.v[d]);
    txf_strlist files = {0};
    walk(dir, "", sfx, &files, 0);
    for (size_t i = 0; !rc && i < files.n; i++) {
      char *rel = txf_path_join(dirs.v[d], files.v[i]);
      char *abs = txf_path_join(m->project->dir, rel);
      txf_buf b;
      rc = read_text(abs, &b, err);
      txf_yaml_doc *doc = NULL;
      if (!rc)
        rc = txf_yaml_load_string(&doc, rel, b.data ? b.data : "", b.len,
                                  err);
      txf_buf_release(&b);
      if (!rc)
        rc = txf_models_schema_doc_apply(m, doc, err);
      txf_yaml_free(doc);
      free(rel);
      free(abs);
    }
    txf_strlist_release(&files);
    free(dir);
  }
  txf_strlist_release(&dirs);
  return rc;
}
