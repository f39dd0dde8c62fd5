/* dbt packages: the project's packages.yml (or dependencies.yml) and the
 * packages installed under dbt_packages/ (packages-install-path), and
 * `local:` packages where they are. A package's macros and generic tests
 * load into the env under its name (dbt_utils.star) and, where the root
 * project has none of that name, bare; adapter.dispatch searches packages
 * by name (dispatch.c). txnflow never downloads a package (no network):
 * one named but not installed is an error saying how to vendor it. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "models/internal.h"

/* Read a path list KEY of a package's project file (DEF when absent). */
static void path_list(const txf_yaml_node *root, const char *key,
                      const char *def, txf_strlist *out) {
  const txf_yaml_node *n = txf_yaml_get(root, key);
  if (n && txf_yaml_kind(n) == TXF_YAML_SEQ) {
    for (size_t i = 0; i < txf_yaml_len(n); i++)
      if (txf_yaml_str(txf_yaml_at(n, i)))
        txf_strlist_push(out, txf_yaml_str(txf_yaml_at(n, i)));
  } else if (n && txf_yaml_kind(n) == TXF_YAML_SCALAR) {
    txf_strlist_push(out, txf_yaml_str(n));
  } else {
    txf_strlist_push(out, def);
  }
}

/* Load the package in DIR (WHAT: how packages.yml named it, for messages):
 * its dbt_project.yml's name, its macros and tests/generic. */
static int load_package(txf_models *m, const char *dir, const char *what,
                        txf_err *err) {
  char *pf = txf_path_join(dir, "dbt_project.yml");
  txf_yaml_doc *doc = NULL;
  int rc = txf_fs_exists(pf)
               ? txf_yaml_load_file(&doc, pf, err)
               : txf_err_set(err, TXF_ECONFIG,
                             "package %s: %s has no dbt_project.yml (is it a "
                             "dbt package?)",
                             what, dir);
  free(pf);
  if (rc)
    return rc;
  const txf_yaml_node *root = txf_yaml_root(doc);
  const char *name = txf_yaml_str(txf_yaml_get(root, "name"));
  if (!name || !*name) {
    rc = txf_yaml_error(doc, root, err, "package %s: no 'name'", what);
    txf_yaml_free(doc);
    return rc;
  }
  if (txf_strlist_has(&m->packages, name) ||
      !strcmp(name, m->project->name)) {
    txf_yaml_free(doc);
    return 0; /* listed and installed: loaded once */
  }
  txf_strlist macros = {0}, tests = {0}, models = {0};
  path_list(root, "macro-paths", "macros", &macros);
  path_list(root, "test-paths", "tests", &tests);
  path_list(root, "model-paths", "models", &models);
  /* a package's models would be built with the project's: not done */
  for (size_t i = 0; !rc && i < models.n; i++) {
    txf_strlist f = {0};
    char *md = txf_path_join(dir, models.v[i]);
    txf_models_walk(md, ".sql", &f);
    if (f.n)
      rc = txf_err_set(err, TXF_ECONFIG,
                       "package %s (%s) has models (%s/%s); txnflow loads a "
                       "package's macros and tests but does not build its "
                       "models",
                       name, dir, models.v[i], f.v[0]);
    txf_strlist_release(&f);
    free(md);
  }
  txf_strlist gen = {0};
  for (size_t i = 0; i < tests.n; i++) {
    char *g = txf_path_join(tests.v[i], "generic");
    txf_strlist_push(&gen, g);
    free(g);
  }
  char *ns = txf_xstrdup(name);
  txf_strlist_push(&m->packages, name);
  txf_yaml_free(doc);
  if (!rc)
    rc = txf_models_env_files_add(m, dir, &macros, ".sql", ns, 1, err);
  if (!rc)
    rc = txf_models_env_files_add(m, dir, &gen, ".sql", ns, 1, err);
  free(ns);
  txf_strlist_release(&gen);
  txf_strlist_release(&macros);
  txf_strlist_release(&tests);
  txf_strlist_release(&models);
  return rc;
}

/* The directory packages.yml entry E names: `local:` where it is, else
 * INSTALL/NAME (the hub name's last part, or the git repository's). */
static int entry_dir(txf_models *m, const txf_yaml_doc *doc,
                     const txf_yaml_node *e, const char *install, char **dir,
                     char **what, txf_err *err) {
  static const char *const keys[] = {
      "package", "version", "local", "git", "revision", "subdirectory",
      "warn-unpinned", "install-prerelease", "tarball", "name", "private",
      "provider", NULL};
  *dir = *what = NULL;
  if (txf_yaml_kind(e) != TXF_YAML_MAP)
    return txf_yaml_error(doc, e, err,
                          "packages: each entry is a map (package:, git:, "
                          "local: ...)");
  int rc = txf_yaml_check_keys(doc, e, keys, "packages", err);
  if (rc)
    return rc;
  const char *local = txf_yaml_str(txf_yaml_get(e, "local"));
  if (local) {
    *dir = txf_path_abs(m->project->dir, local);
    *what = txf_xasprintf("local: %s", local);
    return 0;
  }
  const char *src = txf_yaml_str(txf_yaml_get(e, "package"));
  const char *kind = "package";
  if (!src) {
    src = txf_yaml_str(txf_yaml_get(e, "git"));
    kind = "git";
  }
  if (!src) {
    src = txf_yaml_str(txf_yaml_get(e, "tarball"));
    kind = "tarball";
  }
  if (!src) {
    src = txf_yaml_str(txf_yaml_get(e, "private"));
    kind = "private";
  }
  if (!src)
    return txf_yaml_error(doc, e, err,
                          "packages: an entry needs package:, git:, "
                          "tarball: or local:");
  const char *nm = txf_yaml_str(txf_yaml_get(e, "name"));
  const char *slash = strrchr(src, '/');
  char *base = txf_xstrdup(nm ? nm : slash ? slash + 1 : src);
  size_t l = strlen(base);
  if (l > 4 && !strcmp(base + l - 4, ".git"))
    base[l - 4] = 0;
  for (char *p = base; *p; p++)
    if (*p == '-')
      *p = '_'; /* dbt-utils (the repository) is dbt_utils (the project) */
  char *rel = txf_path_join(install, base);
  *dir = txf_path_abs(m->project->dir, rel);
  *what = txf_xasprintf("%s: %s", kind, src);
  if (!txf_fs_exists(*dir))
    rc = txf_yaml_error(
        doc, e, err,
        "packages: '%s' is not installed in %s/; txnflow does not download "
        "packages (no network access to a package hub): vendor it by "
        "copying the package's source (its release archive, or %s/%s of a "
        "`dbt deps` run elsewhere) into %s/, or name a copy with `local: "
        "PATH`",
        src, install, install, base, rel);
  free(rel);
  free(base);
  return rc;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int txf_models_packages_load(txf_models *m, txf_err *err) {
  const txf_yaml_node *root = txf_yaml_root(m->project->doc);
  const char *install =
      txf_yaml_str(txf_yaml_get(root, "packages-install-path"));
  if (!install)
    install = "dbt_packages";
  int rc = 0;
  const char *files[] = {"packages.yml", "dependencies.yml"};
  for (size_t f = 0; !rc && f < 2; f++) {
    char *pf = txf_path_join(m->project->dir, files[f]);
    txf_yaml_doc *doc = NULL;
    if (txf_fs_exists(pf))
      rc = txf_yaml_load_file(&doc, pf, err);
    free(pf);
    const txf_yaml_node *list =
        doc ? txf_yaml_get(txf_yaml_root(doc), "packages") : NULL;
    if (!rc && doc && list && txf_yaml_kind(list) != TXF_YAML_SEQ &&
        !txf_yaml_is_null(list))
      rc = txf_yaml_error(doc, list, err, "packages: expected a list");
    for (size_t i = 0; !rc && list && i < txf_yaml_len(list); i++) {
      char *dir = NULL, *what = NULL;
      rc = entry_dir(m, doc, txf_yaml_at(list, i), install, &dir, &what, err);
      if (!rc)
        rc = load_package(m, dir, what, err);
      free(dir);
      free(what);
    }
    txf_yaml_free(doc);
  }
  /* what is installed but not listed loads too, as in dbt */
  char *idir = txf_path_join(m->project->dir, install);
  DIR *d = rc ? NULL : opendir(idir);
  txf_strlist names = {0};
  struct dirent *de;
  while (d && (de = readdir(d)))
    if (de->d_name[0] != '.')
      txf_strlist_push(&names, de->d_name);
  if (d)
    closedir(d);
  if (names.n)
    qsort(names.v, names.n, sizeof *names.v, cmp_name);
  for (size_t i = 0; !rc && i < names.n; i++) {
    char *pd = txf_path_join(idir, names.v[i]);
    char *pf = txf_path_join(pd, "dbt_project.yml");
    if (txf_fs_exists(pf))
      rc = load_package(m, pd, names.v[i], err);
    free(pf);
    free(pd);
  }
  txf_strlist_release(&names);
  free(idir);
  return rc;
}
