/* Loading txnflow.yml and scaffolding new projects. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "project/project.h"

/* Top-level keys of txnflow.yml. dbt's names (model-paths, ...) are kept so
 * a dbt user recognises them. A module adding a section adds its key here
 * and documents it in docs/project.md. */
static const char *const known_keys[] = {
    "name", "version", "config-version", "profile", "timezone", "data_dir",
    "feed", "schedule", "sla", "start_date", "catchup", "retries",
    "retry_delay", "retry_backoff", "max_retry_delay", "timeout",
    "on_failure", "on_sla_miss", "tasks", "sensor", "model-paths",
    "seed-paths", "test-paths", "macro-paths", "docs-paths",
    "analysis-paths", "snapshot-paths", "target-path", "clean-targets",
    "require-dbt-version", "models", "seeds", "tests", "vars", "publish",
    "load", "serve", "clean", "lineage", "warehouse", "dispatch", "flags",
    "dashboard", "on-run-start", "on-run-end", "snapshots", "data_tests",
    "packages-install-path", NULL};

/* format, landing, marker, wait, stable_for: a landed feed's, read by
 * bronze (txf_feed_config_read); pan: the synthetic feed's card numbers */
static const char *const feed_keys[] = {
    "kind",    "rows",   "seed", "poke_interval", "sensor_timeout", "format",
    "landing", "marker", "wait", "stable_for",    "pan",            NULL};

void txf_project_free(txf_project *p) {
  if (!p)
    return;
  free(p->dir);
  free(p->config_path);
  txf_yaml_free(p->doc);
  TXF_FREE_ALL(p->name, p->timezone, p->data_dir, p->schedule, p->sla,
               p->start_date, p->feed, p);
}

static char *dup_or_null(const char *s) { return s ? txf_xstrdup(s) : NULL; }

static int load_feed(txf_project *p, txf_err *err) {
  const txf_yaml_doc *doc = p->doc;
  const txf_yaml_node *root = txf_yaml_root(doc);
  const txf_yaml_node *f = txf_yaml_get(root, "feed");
  const char *kind = "synthetic";
  p->feed_rows = 5000;
  p->feed_seed = 42;
  if (f && txf_yaml_kind(f) == TXF_YAML_SCALAR) {
    kind = txf_yaml_str(f); /* short form: `feed: landed` */
  } else if (f) {
    int rc = txf_yaml_check_keys(doc, f, feed_keys, "feed", err);
    if (!rc)
      rc = txf_yaml_get_str(doc, f, "kind", "synthetic", &kind, err);
    if (!rc)
      rc = txf_yaml_get_i64(doc, f, "rows", 5000, &p->feed_rows, err);
    if (!rc)
      rc = txf_yaml_get_i64(doc, f, "seed", 42, &p->feed_seed, err);
    if (!rc)
      rc = txf_yaml_get_bool(doc, f, "pan", 0, &p->feed_pan, err);
    int64_t us;
    if (!rc)
      rc = txf_yaml_get_duration(doc, f, "poke_interval", 0, &us, err);
    if (!rc)
      rc = txf_yaml_get_duration(doc, f, "sensor_timeout", 0, &us, err);
    if (rc)
      return rc;
    if (p->feed_rows < 0)
      return txf_yaml_error(doc, txf_yaml_get(f, "rows"), err,
                            "key 'feed.rows': must not be negative");
  }
  if (strcmp(kind, "synthetic") != 0 && strcmp(kind, "landed") != 0)
    return txf_yaml_error(doc, f, err,
                          "key 'feed': expected 'synthetic' or 'landed', got "
                          "'%s'",
                          kind);
  p->feed = txf_xstrdup(kind);
  return 0;
}

void txf_task_settings_default(txf_task_settings *s) {
  s->retries = 2;
  s->retry_delay_us = 30 * TXF_US_PER_S;
  s->max_retry_delay_us = 600 * TXF_US_PER_S;
  s->timeout_us = 2 * 3600 * TXF_US_PER_S;
  s->backoff = 2.0;
}

int txf_task_settings_read(const txf_yaml_doc *doc, const txf_yaml_node *map,
                           txf_task_settings *s, txf_err *err) {
  const txf_yaml_node *r = txf_yaml_get(map, "retries");
  if (r && !txf_yaml_is_null(r)) {
    const char *v = txf_yaml_str(r);
    int64_t n;
    /* an integer too big for int64 is still an integer out of range */
    size_t digits = v ? strspn(v + (*v == '-'), "0123456789") : 0;
    int integral = v && digits && v[(*v == '-') + digits] == '\0';
    if (!integral)
      return txf_yaml_error(doc, r, err,
                            "key 'retries': expected an integer 0..100, got "
                            "'%s'",
                            v ? v : "(not a scalar)");
    if (txf_parse_i64(v, &n) || n < 0 || n > 100)
      return txf_yaml_error(doc, r, err,
                            "key 'retries': must be 0..100, got '%s'", v);
    s->retries = (int)n;
  }
  int rc;
  if ((rc = txf_yaml_get_duration(doc, map, "retry_delay", s->retry_delay_us,
                                  &s->retry_delay_us, err)) ||
      (rc = txf_yaml_get_duration(doc, map, "max_retry_delay",
                                  s->max_retry_delay_us, &s->max_retry_delay_us,
                                  err)) ||
      (rc = txf_yaml_get_duration(doc, map, "timeout", s->timeout_us,
                                  &s->timeout_us, err)))
    return rc;
  const txf_yaml_node *b = txf_yaml_get(map, "retry_backoff");
  if (b && !txf_yaml_is_null(b)) {
    const char *v = txf_yaml_str(b);
    double x;
    if (!v || txf_parse_double(v, &x) || !(x >= 1 && x <= 100))
      return txf_yaml_error(doc, b, err,
                            "key 'retry_backoff': expected a factor 1..100");
    s->backoff = x;
  }
  return 0;
}

/* Every task's settings, read now so a bad one stops every command, not
 * only the run that would use it. */
static int check_task_settings(const txf_project *p, txf_err *err) {
  const txf_yaml_node *root = txf_yaml_root(p->doc);
  txf_task_settings top;
  txf_task_settings_default(&top);
  int rc = txf_task_settings_read(p->doc, root, &top, err);
  const txf_yaml_node *tasks = txf_yaml_get(root, "tasks");
  for (size_t i = 0; !rc && i < txf_yaml_len(tasks); i++) {
    const txf_yaml_node *t = txf_yaml_at(tasks, i);
    txf_task_settings s = top;
    if (txf_yaml_kind(tasks) == TXF_YAML_MAP &&
        txf_yaml_kind(t) == TXF_YAML_MAP)
      rc = txf_task_settings_read(p->doc, t, &s, err);
  }
  return rc;
}

/* The data directory may be made by the first run, but only inside a
 * directory that exists: a typo (/nonexistent/x) should not grow a tree
 * of directories somewhere. */
static int check_data_dir(const txf_project *p, txf_err *err) {
  const txf_yaml_node *n = txf_yaml_get(txf_yaml_root(p->doc), "data_dir");
  if (txf_fs_exists(p->data_dir)) {
    if (txf_fs_is_dir(p->data_dir))
      return 0;
    return txf_yaml_error(p->doc, n, err,
                          "key 'data_dir': %s is not a directory", p->data_dir);
  }
  char *parent = txf_xstrdup(p->data_dir);
  char *slash = strrchr(parent, '/');
  if (slash)
    *(slash == parent ? slash + 1 : slash) = '\0';
  int rc = 0;
  if (!txf_fs_exists(parent))
    rc = txf_yaml_error(p->doc, n, err,
                        "key 'data_dir': %s does not exist (create it first, "
                        "or fix the path)",
                        parent);
  else if (!txf_fs_is_dir(parent))
    rc = txf_yaml_error(p->doc, n, err, "key 'data_dir': %s is not a directory",
                        parent);
  free(parent);
  return rc;
}

static int check_sla(const txf_project *p, txf_err *err) {
  if (!p->sla)
    return 0;
  const char *s = p->sla;
  if (strlen(s) == 5 && isdigit((unsigned char)s[0]) &&
      isdigit((unsigned char)s[1]) && s[2] == ':' &&
      isdigit((unsigned char)s[3]) && isdigit((unsigned char)s[4]) &&
      (s[0] - '0') * 10 + (s[1] - '0') < 24 && s[3] < '6')
    return 0;
  return txf_yaml_error(p->doc, txf_yaml_get(txf_yaml_root(p->doc), "sla"),
                        err, "key 'sla': expected HH:MM, got '%s'", s);
}

int txf_project_load(txf_project **out, const char *dir, txf_err *err) {
  *out = NULL;
  txf_project *p = txf_xcalloc(1, sizeof *p);
  p->dir = txf_path_abs(NULL, dir);
  p->config_path = txf_path_join(p->dir, "txnflow.yml");
  if (!txf_fs_exists(p->config_path)) {
    char *dbt = txf_path_join(p->dir, "dbt_project.yml");
    if (txf_fs_exists(dbt)) {
      free(p->config_path);
      p->config_path = dbt;
      p->is_dbt = 1;
    } else {
      free(dbt);
      int rc = txf_err_set(err, TXF_ENOTFOUND,
                           "not a txnflow project: no txnflow.yml (or "
                           "dbt_project.yml) in %s",
                           p->dir);
      txf_project_free(p);
      return rc;
    }
  }
  int rc = txf_yaml_load_file(&p->doc, p->config_path, err);
  const txf_yaml_doc *doc = p->doc;
  const txf_yaml_node *root = doc ? txf_yaml_root(doc) : NULL;
  if (!rc && txf_yaml_kind(root) != TXF_YAML_MAP)
    rc = txf_yaml_error(doc, root, err, "expected a map of settings");
  /* An empty file is a mistake (a truncated copy, a failed edit), not a
   * project of defaults. */
  if (!rc && txf_yaml_len(root) == 0)
    rc = txf_err_set(err, TXF_ECONFIG,
                     "%s:1:1: the file is empty (no settings); `txnflow "
                     "init` writes a complete one",
                     txf_yaml_file(doc));
  /* dbt_project.yml has keys of its own we do not know; only check ours. */
  if (!rc && !p->is_dbt)
    rc = txf_yaml_check_keys(doc, root, known_keys, "the top level", err);
  const char *name = NULL, *tz = NULL, *data = NULL, *sched = NULL,
             *sla = NULL, *start = NULL;
  if (!rc)
    rc = txf_yaml_get_str(doc, root, "name", NULL, &name, err);
  const char *profile = NULL;
  if (!rc)
    rc = txf_yaml_get_str(doc, root, "profile", NULL, &profile, err);
  if (!rc && profile && !*profile)
    rc = txf_yaml_error(doc, txf_yaml_get(root, "profile"), err,
                        "key 'profile': must not be empty");
  if (!rc)
    rc = txf_yaml_get_str(doc, root, "timezone", "Asia/Seoul", &tz, err);
  if (!rc)
    rc = txf_yaml_get_str(doc, root, "data_dir", "data", &data, err);
  if (!rc)
    rc = txf_yaml_get_str(doc, root, "schedule", "0 6 * * *", &sched, err);
  if (!rc)
    rc = txf_yaml_get_str(doc, root, "sla", NULL, &sla, err);
  if (!rc)
    rc = txf_yaml_get_str(doc, root, "start_date", NULL, &start, err);
  if (!rc)
    rc = txf_yaml_get_bool(doc, root, "catchup", 1, &p->catchup, err);
  /* values checked here so every command reports them, not only the one
   * that uses them (the scheduler, for `schedule`) */
  if (!rc && name && !*name)
    rc = txf_yaml_error(doc, txf_yaml_get(root, "name"), err,
                        "key 'name': must not be empty");
  if (!rc && !*data)
    rc = txf_yaml_error(doc, txf_yaml_get(root, "data_dir"), err,
                        "key 'data_dir': must not be empty (the default is "
                        "'data')");
  if (!rc) {
    txf_cron cron;
    txf_err cerr;
    txf_err_clear(&cerr);
    if (txf_cron_parse(&cron, sched, &cerr) != 0)
      rc = txf_yaml_error(doc, txf_yaml_get(root, "schedule"), err,
                          "key 'schedule': %s", cerr.msg);
  }
  if (rc) {
    txf_project_free(p);
    return rc;
  }
  if (!name) {
    const char *slash = strrchr(p->dir, '/');
    name = slash && slash[1] ? slash + 1 : "txnflow";
  }
  p->name = txf_xstrdup(name);
  p->timezone = txf_xstrdup(tz);
  p->data_dir = txf_path_abs(p->dir, data);
  p->schedule = txf_xstrdup(sched);
  p->sla = dup_or_null(sla);
  p->start_date = dup_or_null(start);
  if (!rc && start) {
    txf_date d;
    if (txf_date_parse(start, SIZE_MAX, &d) != 0)
      rc = txf_yaml_error(doc, txf_yaml_get(root, "start_date"), err,
                          "key 'start_date': expected YYYY-MM-DD, got '%s'",
                          start);
  }
  if (!rc)
    rc = check_sla(p, err);
  if (!rc)
    rc = load_feed(p, err);
  if (!rc)
    rc = check_task_settings(p, err);
  if (!rc)
    rc = check_data_dir(p, err);
  if (!rc) {
    txf_tz *zone = NULL;
    if (txf_tz_load(&zone, p->timezone, NULL) != 0)
      rc = txf_yaml_error(doc, txf_yaml_get(root, "timezone"), err,
                          "key 'timezone': unknown time zone '%s'",
                          p->timezone);
    txf_tz_free(zone);
  }
  if (rc) {
    txf_project_free(p);
    return rc;
  }
  *out = p;
  return 0;
}

char *txf_project_data_path(const txf_project *p, const char *rel) {
  return txf_path_join(p->data_dir, rel);
}

/* ---- scaffold */

extern const txf_embedded_file txf_scaffold[];

static int dir_is_empty(const char *path) {
  DIR *d = opendir(path);
  if (!d)
    return 0;
  struct dirent *de;
  int empty = 1;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
      empty = 0;
  closedir(d);
  return empty;
}

static char *project_name_from(const char *dir) {
  const char *s = strrchr(dir, '/');
  s = s && s[1] ? s + 1 : dir;
  char *name = txf_xstrdup(*s ? s : "txnflow");
  for (char *c = name; *c; c++) {
    *c = (char)tolower((unsigned char)*c);
    if (!isalnum((unsigned char)*c))
      *c = '_';
  }
  if (!isalpha((unsigned char)name[0])) {
    char *n2 = txf_xasprintf("p_%s", name);
    free(name);
    name = n2;
  }
  return name;
}

static char *substitute(const unsigned char *data, size_t size,
                        const char *name) {
  txf_buf b;
  txf_buf_init(&b, 0);
  const char *s = (const char *)data, *end = s + size;
  while (s < end) {
    const char *hit = memmem(s, (size_t)(end - s), "@NAME@", 6);
    if (!hit) {
      (void)txf_buf_append(&b, s, (size_t)(end - s));
      break;
    }
    (void)txf_buf_append(&b, s, (size_t)(hit - s));
    (void)txf_buf_puts(&b, name);
    s = hit + 6;
  }
  return txf_buf_take(&b, NULL);
}

/* The scaffold's top-level files: what an --empty project keeps. */
static int is_config_file(const char *path) {
  return !strcmp(path, "txnflow.yml") || !strcmp(path, "profiles.yml");
}

int txf_project_init(const char *dir, const char *name_opt, int empty,
                     txf_err *err) {
  char *abs = txf_path_abs(NULL, dir);
  while (strlen(abs) > 1 && abs[strlen(abs) - 1] == '/')
    abs[strlen(abs) - 1] = '\0';
  int rc = 0;
  if (txf_fs_exists(abs) && !(txf_fs_is_dir(abs) && dir_is_empty(abs))) {
    rc = txf_err_set(err, TXF_EEXIST,
                     "%s already exists and is not an empty directory", abs);
    free(abs);
    return rc;
  }
  char *parent = txf_xstrdup(abs);
  char *slash = strrchr(parent, '/');
  if (slash && slash != parent)
    *slash = '\0';
  else if (slash)
    slash[1] = '\0';
  char *name = name_opt ? txf_xstrdup(name_opt) : project_name_from(abs);
  char *tmp = NULL;
  rc = txf_fs_mkdirs(parent, err);
  if (!rc)
    rc = txf_fs_mkdtemp_in(&tmp, parent, "txnflow-init", err);
  if (!rc && empty) {
    static const char *const dirs[] = {"models", "seeds", "tests", "macros"};
    for (size_t i = 0; !rc && i < TXF_ARRAY_LEN(dirs); i++) {
      char *d = txf_path_join(tmp, dirs[i]);
      rc = txf_fs_mkdirs(d, err);
      free(d);
    }
  }
  for (const txf_embedded_file *f = txf_scaffold; !rc && f->path; f++) {
    if (empty && !is_config_file(f->path))
      continue;
    char *path = txf_path_join(tmp, f->path);
    char *d = txf_xstrdup(path);
    *strrchr(d, '/') = '\0';
    rc = txf_fs_mkdirs(d, err);
    free(d);
    const char *base = strrchr(f->path, '/');
    base = base ? base + 1 : f->path;
    if (!rc && strcmp(base, ".keep") != 0) {
      char *text = substitute(f->data, f->size, name);
      rc = txf_fs_write_atomic(path, text, strlen(text), err);
      free(text);
    }
    free(path);
  }
  /* The project appears whole or not at all: built aside, renamed in. */
  if (!rc)
    rc = txf_fs_rename(tmp, abs, 0, err);
  if (rc && tmp) {
    txf_err ignored;
    if (txf_fs_rmtree(tmp, &ignored) != 0) { /* best effort */ }
  }
  TXF_FREE_ALL(tmp, name, parent, abs);
  return rc;
}
