/* txnflow publish: the lake and the marts to S3, idempotently.
 *
 * The protocol (docs/publish.md):
 *  1. the local state: every silver partition file and each mart exported
 *     to Parquet, with its SHA-256;
 *  2. the bucket's state: one listing of the managed prefixes;
 *  3. upload what differs — an object is skipped when the bucket holds the
 *     same size and its SHA-256 (from published_objects, or the object's
 *     x-amz-meta-sha256 by HEAD) matches;
 *  4. delete objects under the managed prefixes that no longer exist
 *     locally (a partition rewritten under another name, a dropped mart);
 *  5. write the manifest last. Its content depends only on the objects, so
 *     a publish that changed nothing uploads nothing, not even it.
 * A crash anywhere leaves the previous manifest in place; the next publish
 * finishes the job. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "duck/duck.h"
#include "publish/publish.h"

#define SILVER_REL "silver/transactions"
#define MARTS_REL "marts"
#define MANIFEST_NAME "_manifest.json"
#define MANIFEST_FORMAT "txnflow-publish-manifest/1"

/* ---------------------------------------------------------------- settings */

/* "warehouse": the load's section in its older spelling (load/load.h) */
static const char *const publish_keys[] = {"s3", "marts", "warehouse", NULL};

int txf_publish_settings_load(txf_publish_settings *out, const txf_project *p,
                              txf_err *err) {
  memset(out, 0, sizeof *out);
  out->marts = 1;
  /* first the bucket, which also checks that `publish:` is a map */
  int rc = txf_s3_settings_load(&out->s3, p, err);
  const txf_yaml_doc *doc = p->doc;
  const txf_yaml_node *pub = txf_yaml_get(txf_yaml_root(doc), "publish");
  if (rc || !pub || txf_yaml_is_null(pub))
    return rc;
  rc = txf_yaml_check_keys(doc, pub, publish_keys, "publish", err);
  if (!rc)
    rc = txf_yaml_get_bool(doc, pub, "marts", 1, &out->marts, err);
  return rc;
}

/* ---------------------------------------------------------------- report */

static void free_strv(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

void txf_publish_report_release(txf_publish_report *r) {
  free(r->changed);
  free_strv(r->uploaded_keys, r->n_uploaded_keys);
  free_strv(r->deleted_keys, r->n_deleted_keys);
  memset(r, 0, sizeof *r);
}

static void push_str(char ***v, size_t *n, const char *s) {
  *v = txf_xrealloc(*v, (*n + 1) * sizeof **v);
  (*v)[(*n)++] = txf_xstrdup(s);
}

/* ---------------------------------------------------------------- local */

typedef struct local_obj {
  char *key;  /* relative to the prefix: "silver/transactions/..." */
  char *path; /* absolute local file */
  uint64_t size_bytes;
  char sha256[65];
} local_obj;

typedef struct local_set {
  local_obj *v;
  size_t n, cap;
} local_set;

static void local_add(local_set *s, const char *key, const char *path) {
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 64;
    s->v = txf_xrealloc(s->v, s->cap * sizeof *s->v);
  }
  local_obj *o = &s->v[s->n++];
  memset(o, 0, sizeof *o);
  o->key = txf_xstrdup(key);
  o->path = txf_xstrdup(path);
}

static void local_release(local_set *s) {
  for (size_t i = 0; i < s->n; i++) {
    free(s->v[i].key);
    free(s->v[i].path);
  }
  free(s->v);
  memset(s, 0, sizeof *s);
}

static int local_cmp(const void *a, const void *b) {
  return strcmp(((const local_obj *)a)->key, ((const local_obj *)b)->key);
}

/* Add every *.parquet under DIR (relative key REL/...), skipping names
 * that start with '.' (clean's temp files and directories). */
static int walk_parquet(local_set *s, const char *dir, const char *rel,
                        txf_err *err) {
  DIR *d = opendir(dir);
  if (!d) {
    if (errno == ENOENT)
      return 0;
    return txf_err_errno(err, TXF_EIO, "%s", dir);
  }
  int rc = 0;
  struct dirent *e;
  while (!rc && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    char *path = txf_path_join(dir, e->d_name);
    char *key = txf_xasprintf("%s/%s", rel, e->d_name);
    struct stat st;
    if (stat(path, &st) != 0)
      rc = txf_err_errno(err, TXF_EIO, "%s", path);
    else if (S_ISDIR(st.st_mode))
      rc = walk_parquet(s, path, key, err);
    else if (S_ISREG(st.st_mode) && txf_str_has_suffix(e->d_name, ".parquet"))
      local_add(s, key, path);
    free(path);
    free(key);
  }
  closedir(d);
  return rc;
}

/* Export each mart_* table of the warehouse to DIR/<name>.parquet. The
 * export is deterministic (rows ordered by every column, one thread), so
 * an unchanged mart exports to the same bytes and is skipped. */
static int export_marts(local_set *s, const char *warehouse, const char *dir,
                        txf_err *err) {
  if (!txf_fs_exists(warehouse))
    return 0;
  txf_duck *d = NULL;
  int rc = txf_duck_open(&d, warehouse, 1, 1, err);
  if (rc)
    return txf_err_wrap(err, "export marts");
  duckdb_result res;
  rc = txf_duck_query(d,
                      "SELECT table_name FROM information_schema.tables "
                      "WHERE table_schema = 'main' AND table_name LIKE "
                      "'mart\\_%' ESCAPE '\\' ORDER BY table_name",
                      &res, err);
  if (rc) {
    txf_duck_close(d);
    return rc;
  }
  idx_t n = duckdb_row_count(&res);
  char **names = txf_xcalloc(n ? n : 1, sizeof *names);
  for (idx_t i = 0; i < n; i++) {
    char *v = duckdb_value_varchar(&res, 0, i);
    names[i] = txf_xstrdup(v ? v : "");
    duckdb_free(v);
  }
  duckdb_destroy_result(&res);
  if (n)
    rc = txf_fs_mkdirs(dir, err);
  for (idx_t i = 0; i < n && !rc; i++) {
    char *file = txf_xasprintf("%s.parquet", names[i]);
    char *path = txf_path_join(dir, file);
    (void)unlink(path);
    char *qi = txf_duck_quote_ident(names[i]);
    char *qp = txf_duck_quote_str(path);
    char *sql = txf_xasprintf(
        "COPY (SELECT * FROM %s ORDER BY ALL) TO %s "
        "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)",
        qi, qp);
    rc = txf_duck_exec(d, sql, err);
    if (rc) {
      txf_err_wrap(err, "export %s", names[i]);
    } else {
      char *key = txf_xasprintf(MARTS_REL "/%s/%s", names[i], file);
      local_add(s, key, path);
      free(key);
    }
    TXF_FREE_ALL(sql, qi, qp, path, file);
  }
  free_strv(names, n);
  txf_duck_close(d);
  return rc;
}

/* ---------------------------------------------------------------- metadata */

static int load_changed(txf_store *st, const char *date,
                        txf_publish_report *r, txf_err *err) {
  r->n_changed = -1;
  txf_meta_name_list parts;
  int found;
  int rc = txf_meta_clean_partitions(st, date, &found, &parts, err);
  if (rc || !found)
    return rc;
  r->n_changed = 0;
  for (size_t i = 0; i < parts.n; i++) {
    const char *p = parts.v[i];
    if (!p)
      continue;
    /* "YYYY-MM-DD", or a path holding year=/month=/day= */
    char d[11] = "";
    const char *y = strstr(p, "year="), *m = strstr(p, "month="),
               *dd = strstr(p, "day=");
    if (y && m && dd)
      snprintf(d, sizeof d, "%.4s-%.2s-%.2s", y + 5, m + 6, dd + 4);
    else
      snprintf(d, sizeof d, "%s", p);
    r->changed = txf_xrealloc(r->changed, (size_t)(r->n_changed + 1) * 11);
    memcpy(r->changed[r->n_changed++], d, 11);
  }
  txf_meta_name_list_release(&parts);
  return 0;
}

/* ---------------------------------------------------------------- run */

static const txf_s3_object *remote_find(const txf_s3_list *l,
                                        const char *key) {
  size_t lo = 0, hi = l->n;
  while (lo < hi) { /* S3 lists keys in UTF-8 binary order: strcmp order */
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(l->items[mid].key, key);
    if (c == 0)
      return &l->items[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

static int remote_cmp(const void *a, const void *b) {
  return strcmp(((const txf_s3_object *)a)->key,
                ((const txf_s3_object *)b)->key);
}

/* 1 when the bucket already holds KEY with SIZE bytes and SHA256. */
static int already_there(txf_s3 *s3, txf_store *st, const txf_s3_list *remote,
                         const char *key, uint64_t size, const char *sha,
                         int64_t now_us, int *recorded, txf_err *err) {
  *recorded = 0;
  const txf_s3_object *o = remote_find(remote, key);
  if (!o || o->size_bytes != size)
    return 0;
  char known[65];
  uint64_t known_size = 0;
  if (txf_meta_published_get(st, txf_s3_target(s3), key, known, &known_size) &&
      known_size == size && !strcmp(known, sha))
    return 1;
  /* Not in our records (a new metadata DB, another machine published it):
   * ask the object itself. */
  txf_s3_object h;
  txf_err e2;
  if (txf_s3_head(s3, key, &h, &e2) != 0)
    return 0;
  /* With encryption configured, an object put before it was is not the
   * same: it is uploaded again, encrypted. */
  int same = h.size_bytes == size && !strcmp(h.sha256, sha) &&
             txf_s3_object_encrypted_ok(s3, &h);
  txf_s3_object_release(&h);
  if (same && txf_meta_published_put(st, txf_s3_target(s3), key, sha, size,
                                     now_us, err) == 0)
    *recorded = 1;
  return same;
}

static char *manifest_json(const txf_publish_settings *set,
                           const txf_publish_opts *o, const local_set *l,
                           const txf_publish_report *r, size_t *len) {
  json_t *m = json_object();
  json_object_set_new(m, "format", json_string(MANIFEST_FORMAT));
  json_object_set_new(m, "bucket", json_string(set->s3.cfg.bucket));
  json_object_set_new(m, "prefix", json_string(set->s3.prefix));
  char d[11];
  json_object_set_new(m, "date", json_string(txf_date_format(o->date, d)));
  json_t *ch = json_array();
  for (int64_t i = 0; i < r->n_changed; i++)
    json_array_append_new(ch, json_string(r->changed[i]));
  json_object_set_new(m, "partitions_changed", ch);
  json_t *objs = json_array();
  uint64_t total = 0;
  for (size_t i = 0; i < l->n; i++) {
    json_t *e = json_object();
    char *key = txf_xasprintf("%s%s", set->s3.prefix, l->v[i].key);
    json_object_set_new(e, "key", json_string(key));
    json_object_set_new(e, "size", json_integer((json_int_t)l->v[i].size_bytes));
    json_object_set_new(e, "sha256", json_string(l->v[i].sha256));
    json_array_append_new(objs, e);
    total += l->v[i].size_bytes;
    free(key);
  }
  json_object_set_new(m, "n_objects", json_integer((json_int_t)l->n));
  json_object_set_new(m, "total_bytes", json_integer((json_int_t)total));
  json_object_set_new(m, "objects", objs);
  char *s = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(m);
  char *out = txf_xasprintf("%s\n", s);
  free(s);
  *len = strlen(out);
  return out;
}

int txf_publish_run(txf_s3 *s3, txf_store *st,
                    const txf_publish_settings *set,
                    const txf_publish_opts *o, txf_publish_report *r,
                    txf_err *err) {
  memset(r, 0, sizeof *r);
  txf_date_format(o->date, r->date);
  snprintf(r->target, sizeof r->target, "s3://%s/%s", set->s3.cfg.bucket,
           set->s3.prefix);
  snprintf(r->manifest_key, sizeof r->manifest_key, "%s" MANIFEST_NAME,
           set->s3.prefix);
  int rc = load_changed(st, r->date, r, err);
  if (rc)
    return rc;
  if (r->n_changed < 0)
    txf_log_warn(o->log,
                 "publish %s: no successful clean of %s is recorded; "
                 "publishing the lake as it is",
                 r->date, r->date);

  local_set l = {0};
  char *silver = txf_path_join(o->data_dir, SILVER_REL);
  rc = walk_parquet(&l, silver, SILVER_REL, err);
  free(silver);
  char *tmpdir = NULL;
  if (!rc && set->marts) {
    char *wh = txf_path_join(o->data_dir, "warehouse.duckdb");
    tmpdir = txf_path_join(o->data_dir, ".publish-tmp");
    rc = txf_fs_rmtree(tmpdir, err);
    if (!rc)
      rc = export_marts(&l, wh, tmpdir, err);
    free(wh);
  }
  if (!rc && l.n)
    qsort(l.v, l.n, sizeof *l.v, local_cmp);
  uint64_t total = 0;
  for (size_t i = 0; i < l.n && !rc; i++) {
    rc = txf_sha256_file(l.v[i].path, l.v[i].sha256, &l.v[i].size_bytes, err);
    total += l.v[i].size_bytes;
  }
  r->n_local = l.n;

  /* The bucket's view of the managed prefixes. */
  txf_s3_list remote = {0};
  /* Marts are managed (and so deleted when gone) only when published. */
  const char *managed[] = {SILVER_REL "/", MARTS_REL "/"};
  size_t n_managed = set->marts ? 2 : 1;
  for (size_t i = 0; i < n_managed && !rc; i++) {
    char *p = txf_xasprintf("%s%s", set->s3.prefix, managed[i]);
    rc = txf_s3_list_prefix(s3, p, &remote, err);
    free(p);
  }
  if (!rc && remote.n)
    qsort(remote.items, remote.n, sizeof *remote.items, remote_cmp);

  txf_progress prog;
  txf_progress_start(&prog, "publish", total);
  uint64_t done = 0;
  for (size_t i = 0; i < l.n && !rc; i++) {
    local_obj *lo = &l.v[i];
    char *key = txf_xasprintf("%s%s", set->s3.prefix, lo->key);
    int recorded;
    if (already_there(s3, st, &remote, key, lo->size_bytes, lo->sha256,
                      o->now_us, &recorded, err)) {
      r->skipped++;
      r->skipped_bytes += lo->size_bytes;
    } else if (o->dry_run) {
      r->uploaded++;
      r->uploaded_bytes += lo->size_bytes;
      push_str(&r->uploaded_keys, &r->n_uploaded_keys, key);
    } else {
      rc = txf_s3_put_file(s3, key, lo->path, "application/vnd.apache.parquet",
                           lo->sha256, err);
      if (!rc)
        rc = txf_meta_published_put(st, txf_s3_target(s3), key, lo->sha256,
                                    lo->size_bytes, o->now_us, err);
      if (!rc) {
        r->uploaded++;
        r->uploaded_bytes += lo->size_bytes;
        push_str(&r->uploaded_keys, &r->n_uploaded_keys, key);
        txf_log_info(o->log, "publish: uploaded %s (%llu bytes)", key,
                     (unsigned long long)lo->size_bytes);
      }
    }
    free(key);
    done += lo->size_bytes;
    txf_progress_update(&prog, done);
  }
  txf_progress_finish(&prog);

  /* Superseded objects: under a managed prefix, in the bucket, not local. */
  if (!rc) {
    const char **gone = NULL;
    size_t n_gone = 0;
    for (size_t i = 0; i < remote.n; i++) {
      const char *k = remote.items[i].key + strlen(set->s3.prefix);
      local_obj probe = {.key = (char *)k};
      if (!l.n || !bsearch(&probe, l.v, l.n, sizeof *l.v, local_cmp)) {
        gone = txf_xrealloc(gone, (n_gone + 1) * sizeof *gone);
        gone[n_gone++] = remote.items[i].key;
      }
    }
    if (n_gone && !o->dry_run)
      rc = txf_s3_delete(s3, gone, n_gone, err);
    for (size_t i = 0; i < n_gone && !rc; i++) {
      push_str(&r->deleted_keys, &r->n_deleted_keys, gone[i]);
      r->deleted++;
      if (!o->dry_run) {
        rc = txf_meta_published_forget(st, txf_s3_target(s3), gone[i], err);
        txf_log_info(o->log, "publish: deleted %s", gone[i]);
      }
    }
    free(gone);
  }

  /* The manifest, last. */
  if (!rc) {
    size_t mlen;
    char *m = manifest_json(set, o, &l, r, &mlen);
    char sha[65];
    txf_sha256_hex(m, mlen, sha);
    txf_s3_list mine = {0};
    rc = txf_s3_list_prefix(s3, r->manifest_key, &mine, err);
    int recorded = 0;
    int same = 0;
    if (!rc) {
      if (mine.n)
        qsort(mine.items, mine.n, sizeof *mine.items, remote_cmp);
      same = already_there(s3, st, &mine, r->manifest_key, mlen, sha,
                           o->now_us, &recorded, err);
    }
    txf_s3_list_release(&mine);
    if (!rc && !same) {
      r->manifest_uploaded = 1;
      if (!o->dry_run) {
        rc = txf_s3_put(s3, r->manifest_key, m, mlen, "application/json", sha,
                        err);
        if (!rc)
          rc = txf_meta_published_put(st, txf_s3_target(s3), r->manifest_key,
                                      sha, mlen, o->now_us, err);
        if (!rc) {
          r->uploaded++;
          r->uploaded_bytes += mlen;
          push_str(&r->uploaded_keys, &r->n_uploaded_keys, r->manifest_key);
        }
      }
    }
    free(m);
  }

  const txf_s3_stats *stt = txf_s3_get_stats(s3);
  r->requests = stt->requests;
  r->retries = stt->retries;
  txf_s3_list_release(&remote);
  local_release(&l);
  if (tmpdir) {
    txf_err e2;
    if (txf_fs_rmtree(tmpdir, &e2) != 0)
      txf_log_warn(o->log, "publish: %s", e2.msg);
    free(tmpdir);
  }
  if (rc)
    return txf_err_wrap(err, "publish %s", r->date);
  return 0;
}
