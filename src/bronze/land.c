/* txnflow land: a processor's files become ingestion day D's bronze batch
 * (docs/feed.md, "Landing files").
 *
 *   lock D -> list the files -> complete? (marker, or sizes that stay the
 *   same) -> copy (or link) into a temp dir beside the batch, hashing as
 *   they are copied -> read each one through (rows; a cut gzip or zstd
 *   stream is an incomplete file) -> same bytes as the batch in place?
 *   nothing to do -> manifest -> rename into place (the commit point)
 *   -> with --move, remove the sources
 *
 * A crash before the rename leaves a temp dir that readers ignore and the
 * next run of D removes; after it, the whole batch. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bronze/bronze.h"
#include "metadata/metadata.h"

/* A file not complete yet: try again later, as with a lock held. */
#define LAND_EBUSY TXF_ELOCKED

typedef struct lfile {
  char *src;  /* absolute source path */
  char *name; /* its name in the batch */
  int64_t size, mtime_ns;
} lfile;

typedef struct lfiles {
  lfile *v;
  size_t n, cap;
} lfiles;

static void lfiles_release(lfiles *l) {
  for (size_t i = 0; i < l->n; i++) {
    free(l->v[i].src);
    free(l->v[i].name);
  }
  free(l->v);
  memset(l, 0, sizeof *l);
}

void txf_land_result_release(txf_land_result *r) {
  for (size_t i = 0; i < r->n_files; i++)
    free(r->files[i].name);
  free(r->files);
  memset(r, 0, sizeof *r);
}

int txf_land_is_marker(const char *marker, const char *name) {
  if (!marker)
    return 0;
  const char *brace = strstr(marker, "{name}");
  if (!brace)
    return !strcmp(marker, name);
  size_t pre = (size_t)(brace - marker), nl = strlen(name);
  const char *post = brace + 6;
  size_t sl = strlen(post);
  return nl > pre + sl && !strncmp(name, marker, pre) &&
         !strcmp(name + nl - sl, post);
}

/* The marker path of file SRC (dir/name): the pattern with {name}
 * replaced, in SRC's directory. */
static char *marker_path(const char *marker, const char *src) {
  const char *slash = strrchr(src, '/');
  size_t dl = slash ? (size_t)(slash - src) : 0;
  const char *name = slash ? slash + 1 : src;
  const char *brace = strstr(marker, "{name}");
  if (!brace)
    return txf_xasprintf("%.*s/%s", (int)dl, src, marker);
  return txf_xasprintf("%.*s/%.*s%s%s", (int)dl, src, (int)(brace - marker),
                       marker, name, brace + 6);
}

static int name_ok(const char *s) {
  return *s && s[0] != '.' && !strchr(s, '/') && strlen(s) < 256 &&
         strcmp(s, "_manifest.json") != 0;
}

static void add_file(lfiles *l, const char *src, const struct stat *st) {
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 16;
    l->v = txf_xrealloc(l->v, l->cap * sizeof *l->v);
  }
  lfile *f = &l->v[l->n++];
  f->src = txf_xstrdup(src);
  const char *slash = strrchr(src, '/');
  f->name = txf_xstrdup(slash ? slash + 1 : src);
  f->size = st->st_size;
  f->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(((const lfile *)a)->name, ((const lfile *)b)->name);
}

/* The files of the sources: a file is itself, a folder its visible
 * regular files but markers. */
static int collect(const txf_land_opts *o, lfiles *l, txf_err *err) {
  const char *marker = o->feed ? o->feed->marker : NULL;
  for (size_t i = 0; i < o->n_sources; i++) {
    const char *s = o->sources[i];
    struct stat st;
    if (stat(s, &st) != 0)
      return txf_err_errno(err, TXF_ENOTFOUND, "%s: cannot land", s);
    if (S_ISREG(st.st_mode)) {
      add_file(l, s, &st);
      continue;
    }
    if (!S_ISDIR(st.st_mode))
      return txf_err_set(err, TXF_EUSAGE, "%s: not a file or a folder", s);
    DIR *d = opendir(s);
    if (!d)
      return txf_err_errno(err, TXF_EIO, "%s: cannot list", s);
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d))) {
      if (e->d_name[0] == '.' || !strcmp(e->d_name, "_manifest.json") ||
          txf_land_is_marker(marker, e->d_name))
        continue;
      char *p = txf_path_join(s, e->d_name);
      struct stat fst;
      if (stat(p, &fst) == 0 && S_ISREG(fst.st_mode))
        add_file(l, p, &fst);
      free(p);
    }
    closedir(d);
  }
  if (l->n == 0)
    return txf_err_set(err, TXF_ENOTFOUND, "nothing to land: no files in %s%s",
                       o->n_sources ? o->sources[0] : "(no sources)",
                       o->n_sources > 1 ? " ..." : "");
  qsort(l->v, l->n, sizeof *l->v, cmp_name);
  for (size_t i = 0; i < l->n; i++) {
    if (!name_ok(l->v[i].name))
      return txf_err_set(err, TXF_EUSAGE,
                         "%s: a batch file needs a plain name (not hidden, "
                         "not _manifest.json)",
                         l->v[i].src);
    if (i && !strcmp(l->v[i].name, l->v[i - 1].name))
      return txf_err_set(err, TXF_EUSAGE,
                         "%s and %s: two files named '%s' in one batch",
                         l->v[i - 1].src, l->v[i].src, l->v[i].name);
  }
  return 0;
}

/* Complete: each file's marker exists, or (no marker configured) no size
 * or modification time changes over STABLE_US. */
static int check_complete(const txf_land_opts *o, lfiles *l, txf_err *err) {
  const char *marker = o->feed ? o->feed->marker : NULL;
  if (marker) {
    for (size_t i = 0; i < l->n; i++) {
      char *mp = marker_path(marker, l->v[i].src);
      int ok = txf_fs_exists(mp);
      int rc = ok ? 0
                  : txf_err_set(err, TXF_ENOTFOUND,
                                "%s is not complete: its marker %s is not "
                                "there yet (feed.marker: '%s')",
                                l->v[i].src, mp, marker);
      free(mp);
      if (rc)
        return rc;
    }
    return 0;
  }
  int64_t wait = o->feed ? o->feed->stable_us : 5 * TXF_US_PER_S;
  if (wait <= 0)
    return 0;
  struct timespec ts = {(time_t)(wait / TXF_US_PER_S),
                        (long)(wait % TXF_US_PER_S) * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  for (size_t i = 0; i < l->n; i++) {
    struct stat st;
    lfile *f = &l->v[i];
    if (stat(f->src, &st) != 0)
      return txf_err_errno(err, TXF_ENOTFOUND, "%s: gone while it was checked",
                           f->src);
    int64_t m = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (st.st_size != f->size || m != f->mtime_ns) {
      char d[32];
      return txf_err_set(err, LAND_EBUSY,
                         "%s is still being written: %lld bytes, then %lld "
                         "bytes %s later; land it when it is complete (or "
                         "name a marker file: feed.marker)",
                         f->src, (long long)f->size, (long long)st.st_size,
                         txf_land_duration(wait, d));
    }
  }
  return 0;
}

const char *txf_land_duration(int64_t us, char out[32]) {
  if (us % TXF_US_PER_S)
    snprintf(out, 32, "%lldms", (long long)(us / 1000));
  else if (us % (60 * TXF_US_PER_S))
    snprintf(out, 32, "%llds", (long long)(us / TXF_US_PER_S));
  else if (us % (3600 * TXF_US_PER_S))
    snprintf(out, 32, "%lldm", (long long)(us / (60 * TXF_US_PER_S)));
  else
    snprintf(out, 32, "%lldh", (long long)(us / (3600 * TXF_US_PER_S)));
  return out;
}

/* Copy SRC to DST (created), fsynced, hashing the bytes copied. */
static int copy_file(const char *src, const char *dst, char hex[65],
                     uint64_t *size, txf_err *err) {
  int in = open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return txf_err_errno(err, TXF_EIO, "%s: cannot open", src);
  int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) {
    int rc = txf_err_errno(err, TXF_EIO, "%s: cannot create", dst);
    close(in);
    return rc;
  }
  txf_sha256 h;
  txf_sha256_init(&h);
  char *buf = txf_xmalloc(1 << 20);
  int rc = 0;
  *size = 0;
  for (;;) {
    ssize_t n = read(in, buf, 1 << 20);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      rc = txf_err_errno(err, TXF_EIO, "%s: read failed", src);
      break;
    }
    if (n == 0)
      break;
    txf_sha256_update(&h, buf, (size_t)n);
    *size += (uint64_t)n;
    for (ssize_t off = 0; off < n && !rc;) {
      ssize_t w = write(out, buf + off, (size_t)(n - off));
      if (w < 0 && errno != EINTR)
        rc = txf_err_errno(err, TXF_EIO, "%s: write failed", dst);
      else if (w > 0)
        off += w;
    }
    if (rc)
      break;
  }
  txf_sha256_final_hex(&h, hex);
  if (!rc && fsync(out) != 0)
    rc = txf_err_errno(err, TXF_EIO, "%s: fsync failed", dst);
  if (close(out) != 0 && !rc)
    rc = txf_err_errno(err, TXF_EIO, "%s: close failed", dst);
  close(in);
  free(buf);
  return rc;
}

int txf_land_count_rows(const char *path, const txf_feed_format *fmt,
                        int64_t *rows, txf_err *err) {
  *rows = 0;
  txf_csv_reader *rd;
  int rc = txf_csv_reader_open_opts(&rd, path, 0, fmt ? &fmt->csv : NULL, err);
  if (rc)
    return rc;
  txf_csv_record rec;
  int has;
  int64_t n = 0;
  while (!(rc = txf_csv_reader_next(rd, &rec, &has, err)) && has)
    n++;
  txf_csv_reader_free(rd);
  /* the bronze layout and a processor's with a header: one line is not
   * data */
  int header = fmt ? fmt->header : 1;
  *rows = n > 0 && header ? n - 1 : n;
  return rc;
}

/* Do the new files equal the batch in place (names and SHA-256)? */
static int same_batch(const txf_manifest *m, const txf_manifest_file *f,
                      size_t n) {
  if (m->n_files != n)
    return 0;
  for (size_t i = 0; i < n; i++) {
    size_t j;
    for (j = 0; j < m->n_files; j++)
      if (!strcmp(m->files[j].name, f[i].name))
        break;
    if (j == m->n_files || strcmp(m->files[j].sha256, f[i].sha256))
      return 0;
  }
  return 1;
}

static int was_cleaned(txf_store *store, const char *date, int *cleaned,
                       txf_err *err) {
  *cleaned = 0;
  if (!store)
    return 0;
  txf_meta_clean_query q = {date, date, 1};
  txf_meta_clean_run_list l;
  int rc = txf_meta_clean_runs_succeeded(store, &q, &l, err);
  if (rc)
    return rc;
  *cleaned = l.n > 0;
  txf_meta_clean_run_list_release(&l);
  return 0;
}

static void crash_point(const txf_land_opts *o, const char *step) {
  if (o->crash_at && !strcmp(o->crash_at, step))
    _exit(3);
}

int txf_land_probe(const txf_land_opts *o, uint64_t *sig, txf_err *err) {
  *sig = 0;
  lfiles l = {0};
  int rc = collect(o, &l, err);
  const char *marker = o->feed ? o->feed->marker : NULL;
  txf_sha256 h;
  txf_sha256_init(&h);
  for (size_t i = 0; i < l.n && !rc; i++) {
    if (marker) {
      char *mp = marker_path(marker, l.v[i].src);
      if (!txf_fs_exists(mp))
        rc = txf_err_set(err, TXF_ENOTFOUND,
                         "%s is not complete: its marker %s is not there "
                         "yet",
                         l.v[i].src, mp);
      free(mp);
    }
    txf_sha256_update(&h, l.v[i].name, strlen(l.v[i].name) + 1);
    txf_sha256_update(&h, &l.v[i].size, sizeof l.v[i].size);
    txf_sha256_update(&h, &l.v[i].mtime_ns, sizeof l.v[i].mtime_ns);
  }
  char hex[65];
  txf_sha256_final_hex(&h, hex);
  *sig = strtoull(hex + 48, NULL, 16);
  lfiles_release(&l);
  return rc;
}

int txf_land_batch(const txf_land_opts *o, txf_land_result *res, txf_err *err) {
  memset(res, 0, sizeof *res);
  char date[11];
  txf_date_format(o->day, date);
  int fd = -1;
  int rc = txf_bronze_lock_day(o->data_dir, o->day, &fd, err);
  if (rc)
    return rc;
  lfiles l = {0};
  char *final = txf_bronze_batch_dir(o->data_dir, o->day);
  char *parent = txf_path_join(o->data_dir, "bronze/transactions");
  char *name = txf_xasprintf("ingest_date=%s", date);
  char *stage = NULL;
  txf_manifest old;
  memset(&old, 0, sizeof old);
  int have_old = 0;
  const txf_feed_format *fmt = o->feed ? o->feed->format : NULL;
  rc = collect(o, &l, err);
  /* files dropped straight into the batch dir (no manifest yet) are
   * landed where they are: linked, not copied, and no --replace needed */
  int in_place = 0;
  char *final_real = realpath(final, NULL);
  for (size_t i = 0; final_real && i < l.n; i++) {
    char *dir = txf_xstrdup(l.v[i].src);
    *strrchr(dir, '/') = '\0';
    char *real = realpath(dir, NULL);
    in_place |= real && !strcmp(real, final_real);
    free(real);
    free(dir);
  }
  free(final_real);
  if (!rc && !o->staged)
    rc = check_complete(o, &l, err);
  if (!rc)
    rc = txf_fs_mkdirs(parent, err);
  if (!rc)
    rc = txf_fs_mkdtemp_in(&stage, parent, name, err);
  res->files = txf_xcalloc(l.n ? l.n : 1, sizeof *res->files);
  for (size_t i = 0; i < l.n && !rc; i++) {
    lfile *f = &l.v[i];
    txf_manifest_file *mf = &res->files[res->n_files++];
    mf->name = txf_xstrdup(f->name);
    char *dst = txf_path_join(stage, f->name);
    /* a link costs nothing and leaves the source as it is until the
     * batch is committed; across file systems, a copy */
    if ((o->move || o->staged || in_place) && link(f->src, dst) == 0)
      rc = txf_sha256_file(dst, mf->sha256, &mf->size_bytes, err);
    else
      rc = copy_file(f->src, dst, mf->sha256, &mf->size_bytes, err);
    if (!rc && !o->staged) {
      struct stat st;
      if (stat(f->src, &st) != 0 || (uint64_t)st.st_size != mf->size_bytes ||
          (uint64_t)f->size != mf->size_bytes)
        rc = txf_err_set(err, LAND_EBUSY,
                         "%s changed while it was copied (%lld bytes, then "
                         "%llu): land it when it is complete",
                         f->src, (long long)f->size,
                         (unsigned long long)mf->size_bytes);
    }
    /* read through: rows for the manifest, and a compressed file cut
     * short is found here, not by tomorrow's clean */
    if (!rc)
      rc = txf_land_count_rows(dst, fmt, &mf->rows, err);
    if (rc && rc != LAND_EBUSY)
      txf_err_wrap(err, "landing %s", f->src);
    res->rows += mf->rows;
    res->size_bytes += mf->size_bytes;
    free(dst);
  }
  if (!rc && txf_fs_is_dir(final)) {
    int mrc = txf_manifest_load(&old, final, err);
    if (mrc == 0)
      have_old = 1;
    else if (mrc != TXF_ENOTFOUND && !o->replace)
      /* a damaged manifest: not ours to overwrite silently */
      rc = txf_err_wrap(err, "the batch in place has a bad manifest "
                             "(--replace replaces it)");
    if (!rc)
      txf_err_clear(err);
    if (!rc && have_old && same_batch(&old, res->files, res->n_files)) {
      res->noop = 1;
    } else if (!rc && !o->replace && !(in_place && !have_old)) {
      int cleaned = 0;
      rc = was_cleaned(o->store, date, &cleaned, err);
      if (!rc && !have_old)
        rc = txf_err_set(err, TXF_EEXIST,
                         "%s holds files but no manifest, so it is not a "
                         "batch: land them with 'txnflow land --date %s "
                         "%s', or replace them with --replace",
                         final, date, final);
      else if (!rc && cleaned)
        rc = txf_err_set(err, TXF_EEXIST,
                         "ingest_date=%s was already cleaned from other "
                         "files (%s); 'txnflow land --replace' replaces "
                         "the batch, and the next run re-cleans %s and "
                         "rebuilds what depends on it",
                         date, final, date);
      else if (!rc)
        rc = txf_err_set(err, TXF_EEXIST,
                         "ingest_date=%s already holds a batch of other "
                         "files (%s): a batch is landed whole (name all of "
                         "its files in one land), or replaced with "
                         "--replace",
                         date, final);
    }
  }
  if (!rc && !res->noop) {
    json_t *landed = json_object();
    char at[40];
    txf_ts_format(o->now_us, 0, 1, at);
    json_object_set_new(landed, "at", json_string(at));
    json_object_set_new(landed, "by", json_string("txnflow land"));
    json_t *from = json_array();
    for (size_t i = 0; i < l.n; i++)
      json_array_append_new(
          from, json_string(o->origins ? o->origins[i] : l.v[i].src));
    json_object_set_new(landed, "from", from);
    json_object_set_new(landed, "moved", json_boolean(o->move));
    if (fmt)
      json_object_set_new(landed, "layout", json_string("feed.format"));
    rc = txf_manifest_write_landed(stage, date, res->files, res->n_files,
                                   landed, err);
    json_decref(landed);
    if (!rc)
      rc = txf_fs_fsync_dir(stage, err);
    crash_point(o, "land-staged");
    if (!rc && txf_fs_is_dir(final)) {
      /* the commit point: one swap; the old batch is at the temp name */
      rc = txf_fs_exchange(stage, final, err);
      res->replaced = !rc && !(in_place && !have_old);
    } else if (!rc) {
      rc = txf_fs_rename(stage, final, 1, err);
    }
    crash_point(o, "land-committed");
  }
  if (!rc && o->move && !o->staged) {
    const char *marker = o->feed ? o->feed->marker : NULL;
    for (size_t i = 0; i < l.n; i++) {
      if (unlink(l.v[i].src) != 0 && errno != ENOENT)
        txf_log_warn(o->log, "%s: landed, but cannot remove it: %s", l.v[i].src,
                     strerror(errno));
      if (marker) { /* {name}'s, or the folder's one */
        char *mp = marker_path(marker, l.v[i].src);
        if (unlink(mp) != 0 && errno != ENOENT)
          txf_log_warn(o->log, "%s: cannot remove it: %s", mp, strerror(errno));
        free(mp);
      }
    }
  }
  if (stage) {
    txf_err e2;
    if (txf_fs_rmtree(stage, &e2) != 0)
      txf_log_warn(o->log, "%s", e2.msg);
  }
  txf_manifest_release(&old);
  lfiles_release(&l);
  TXF_FREE_ALL(stage, final, parent, name);
  txf_bronze_unlock_day(fd);
  return rc;
}
