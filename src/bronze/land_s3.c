/* Landing from an S3 prefix (feed.landing: s3://BUCKET/PREFIX, or txnflow
 * land s3://...): list the prefix with the SigV4 client publish uses,
 * check the markers, download the files beside the bronze tree and land
 * them as local files (txf_land_batch), so the commit is the same one
 * rename. An S3 object appears whole or not at all, so without a marker
 * what is listed is complete; a marker says the set is. */
#include <stdlib.h>
#include <string.h>

#include "bronze/bronze.h"
#include "s3/s3.h"

/* The downloads' dir: beside bronze/transactions, not inside it, so the
 * batch lock's leftover sweep (txf_bronze_lock_day) never takes it. */
#define DL_PREFIX "download-"

static int split_uri(const char *uri, char **bucket, char **prefix,
                     txf_err *err) {
  if (strncmp(uri, "s3://", 5) != 0)
    return txf_err_set(err, TXF_EUSAGE, "%s: not an s3:// URI", uri);
  const char *b = uri + 5, *slash = strchr(b, '/');
  size_t bl = slash ? (size_t)(slash - b) : strlen(b);
  if (bl == 0)
    return txf_err_set(err, TXF_EUSAGE, "%s: no bucket in the URI", uri);
  *bucket = txf_xstrndup(b, bl);
  const char *p = slash ? slash + 1 : "";
  size_t pl = strlen(p);
  /* a prefix is a folder: its files are the keys right under it */
  *prefix = pl && p[pl - 1] != '/' ? txf_xasprintf("%s/", p) : txf_xstrdup(p);
  return 0;
}

static char *marker_of(const char *marker, const char *name) {
  const char *brace = strstr(marker, "{name}");
  if (!brace)
    return txf_xstrdup(marker);
  return txf_xasprintf("%.*s%s%s", (int)(brace - marker), marker, name,
                       brace + 6);
}

static int listed(const txf_s3_list *l, const char *key) {
  for (size_t i = 0; i < l->n; i++)
    if (!strcmp(l->items[i].key, key))
      return 1;
  return 0;
}

int txf_land_s3(const txf_land_opts *o, const char *uri, int probe_only,
                uint64_t *sig, txf_land_result *res, txf_err *err) {
  if (res)
    memset(res, 0, sizeof *res);
  if (sig)
    *sig = 0;
  char *bucket = NULL, *prefix = NULL, *dl = NULL;
  int rc = split_uri(uri, &bucket, &prefix, err);
  if (rc)
    return rc;
  /* the connection of the lake's bucket (publish.s3: endpoint, region,
   * path style, retries), with the landing's bucket */
  txf_s3_settings set;
  memset(&set, 0, sizeof set);
  if (o->project && (rc = txf_s3_settings_load(&set, o->project, err))) {
    free(bucket);
    free(prefix);
    return rc;
  }
  txf_s3_config cfg = set.configured ? set.cfg : (txf_s3_config){0};
  cfg.bucket = bucket;
  txf_s3 *s3 = NULL;
  txf_s3_list l = {0};
  const char *marker = o->feed ? o->feed->marker : NULL;
  char **keys = NULL, **paths = NULL, **origins = NULL;
  size_t n = 0;
  rc = txf_s3_new(&s3, &cfg, o->log, err);
  if (!rc)
    rc = txf_s3_list_prefix(s3, prefix, &l, err);
  if (!rc) {
    keys = txf_xcalloc(l.n + 1, sizeof *keys);
    txf_sha256 h;
    txf_sha256_init(&h);
    for (size_t i = 0; i < l.n; i++) {
      const char *name = l.items[i].key + strlen(prefix);
      if (!*name || strchr(name, '/') || name[0] == '.' ||
          !strcmp(name, "_manifest.json") || txf_land_is_marker(marker, name))
        continue;
      keys[n++] = l.items[i].key;
      txf_sha256_update(&h, l.items[i].key, strlen(l.items[i].key) + 1);
      txf_sha256_update(&h, &l.items[i].size_bytes,
                        sizeof l.items[i].size_bytes);
      txf_sha256_update(&h, l.items[i].etag, strlen(l.items[i].etag));
    }
    char hex[65];
    txf_sha256_final_hex(&h, hex);
    if (sig)
      *sig = strtoull(hex + 48, NULL, 16);
    if (n == 0)
      rc = txf_err_set(err, TXF_ENOTFOUND, "nothing to land under %s", uri);
  }
  for (size_t i = 0; i < n && !rc && marker; i++) {
    const char *name = keys[i] + strlen(prefix);
    char *mk = marker_of(marker, name);
    char *mkey = txf_xasprintf("%s%s", prefix, mk);
    if (!listed(&l, mkey))
      rc = txf_err_set(err, TXF_ENOTFOUND,
                       "s3://%s/%s is not complete: its marker s3://%s/%s is "
                       "not there yet",
                       bucket, keys[i], bucket, mkey);
    free(mk);
    free(mkey);
  }
  if (!rc && !probe_only) {
    char date[11];
    txf_date_format(o->day, date);
    char *parent = txf_path_join(o->data_dir, "bronze");
    char *pre = txf_xasprintf(DL_PREFIX "%s", date);
    rc = txf_fs_mkdirs(parent, err);
    if (!rc)
      rc = txf_fs_mkdtemp_in(&dl, parent, pre, err);
    free(parent);
    free(pre);
    paths = txf_xcalloc(n + 1, sizeof *paths);
    origins = txf_xcalloc(n + 1, sizeof *origins);
    txf_buf b;
    /* an object is read whole into memory: processor files are tens to
     * hundreds of MiB; past the cap it is refused, not truncated */
    txf_buf_init(&b, TXF_LAND_S3_MAX_BYTES);
    for (size_t i = 0; i < n && !rc; i++) {
      const char *name = keys[i] + strlen(prefix);
      paths[i] = txf_path_join(dl, name);
      origins[i] = txf_xasprintf("s3://%s/%s", bucket, keys[i]);
      txf_buf_reset(&b);
      rc = txf_s3_get(s3, keys[i], &b, err);
      if (rc)
        txf_err_wrap(err, "downloading %s", origins[i]);
      if (!rc)
        rc = txf_fs_write_atomic(paths[i], b.data ? b.data : "", b.len, err);
    }
    txf_buf_release(&b);
    if (!rc) {
      txf_land_opts lo = *o;
      lo.sources = (const char *const *)paths;
      lo.n_sources = n;
      lo.origins = (const char *const *)origins;
      lo.staged = 1;
      rc = txf_land_batch(&lo, res, err);
    }
    if (!rc && o->move) {
      /* landed: the objects and their markers go */
      char **del = txf_xcalloc(2 * n + 2, sizeof *del);
      size_t nd = 0;
      for (size_t i = 0; i < n; i++) {
        del[nd++] = txf_xstrdup(keys[i]);
        if (marker && strstr(marker, "{name}")) {
          char *mk = marker_of(marker, keys[i] + strlen(prefix));
          del[nd++] = txf_xasprintf("%s%s", prefix, mk);
          free(mk);
        }
      }
      if (marker && !strstr(marker, "{name}")) /* the prefix's one */
        del[nd++] = txf_xasprintf("%s%s", prefix, marker);
      txf_err e2;
      if (txf_s3_delete(s3, (const char *const *)del, nd, &e2))
        txf_log_warn(o->log, "%s: landed, but cannot remove the objects: %s",
                     uri, e2.msg);
      for (size_t i = 0; i < nd; i++)
        free(del[i]);
      free(del);
    }
  }
  if (dl) {
    txf_err e3;
    if (txf_fs_rmtree(dl, &e3))
      txf_log_warn(o->log, "%s", e3.msg);
  }
  for (size_t i = 0; paths && i < n; i++) {
    free(paths[i]);
    free(origins[i]);
  }
  TXF_FREE_ALL(paths, origins, keys, dl);
  txf_s3_list_release(&l);
  txf_s3_free(s3);
  free(bucket);
  free(prefix);
  return rc;
}
