/* The two copies of a DuckDB warehouse (warehouse.h): the link readers
 * open, the lock writers take, a copy brought up to the published one by
 * replaying the last session's log, and the swap.
 *
 * Each copy holds its own state in schema _txnflow_copies (its own: the
 * models' working schema _txnflow is emptied by each build):
 *   copy_state(seq, dirty)  the publish it holds (0: none yet); dirty while
 *                           a session writes it (a crash leaves it so)
 *   copy_log(seq, ord, how, schema_name, ident, keys, old_rel, new_rel,
 *            order_by, select_sql)
 *                           how the session that published SEQ changed it
 *                           (how: copy, view, delta, all)
 * A copy at SEQ - 1, not dirty, reaches SEQ by SEQ's log; anything else
 * (a first session, a crash, `all`) takes a copy of the file. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "duck/duck.h"
#include "warehouse/warehouse.h"

#define SCHEMA TXF_WH_SCHEMA
#define PUB "txf_published" /* the published copy, attached read-only */
/* beside a copy while patch_file makes it equal to the published one */
#define PATCHING ".patching"

typedef struct note {
  char *how; /* copy | view | delta | all */
  char *schema, *ident, *keys, *old_rel, *new_rel, *order_by, *select_sql;
} note;

struct txf_wh {
  char *path; /* what readers open: the link */
  char *copy; /* the copy this session writes */
  char *lock_path;
  int lock_fd;
  int64_t base; /* the publish the copy was brought to */
  int recorded; /* the publish is in the copy, checkpointed (txf_wh_record) */
  note *notes;
  size_t n_notes;
  const txf_logger *log; /* debug lines (each note replayed), or NULL */
};

/* ------------------------------------------------------------ small parts */

static char *sibling(const char *path, const char *suffix) {
  return txf_xasprintf("%s%s", path, suffix);
}

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

static char *dir_of(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? txf_xstrndup(path, (size_t)(s - path)) : txf_xstrdup(".");
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Remove PATH, its WAL and its patch mark (patch_file), if there. */
static int remove_db(const char *path, txf_err *err) {
  char *wal = sibling(path, ".wal"), *mark = sibling(path, PATCHING);
  int rc = 0;
  if (unlink(path) && errno != ENOENT)
    rc = txf_err_errno(err, TXF_EIO, "remove %s", path);
  if (!rc && unlink(wal) && errno != ENOENT)
    rc = txf_err_errno(err, TXF_EIO, "remove %s", wal);
  if (!rc && unlink(mark) && errno != ENOENT)
    rc = txf_err_errno(err, TXF_EIO, "remove %s", mark);
  TXF_FREE_ALL(wal, mark);
  return rc;
}

/* Make the link PATH point to TARGET (a name in its directory) with one
 * rename: readers see the old target or the new. */
static int link_to(const char *path, const char *target, txf_err *err) {
  char *tmp = sibling(path, ".link-tmp");
  (void)unlink(tmp);
  int rc = 0;
  if (symlink(target, tmp))
    rc = txf_err_errno(err, TXF_EIO, "symlink %s", tmp);
  else if (rename(tmp, path))
    rc = txf_err_errno(err, TXF_EIO, "rename %s to %s", tmp, path);
  free(tmp);
  if (!rc) {
    char *dir = dir_of(path);
    rc = txf_fs_fsync_dir(dir, err);
    free(dir);
  }
  return rc;
}

/* FROM's bytes into TO, through TO.tmp and a rename (TO's WAL removed
 * first: it belonged to what TO held). */
static int copy_new(const char *from, const char *to, txf_err *err) {
  char *tmp = sibling(to, ".tmp");
  int in = open(from, O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    free(tmp);
    return txf_err_errno(err, TXF_EIO, "open %s", from);
  }
  int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int rc = 0;
  if (out < 0) {
    rc = txf_err_errno(err, TXF_EIO, "create %s", tmp);
  } else {
    for (;;) {
      ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
      if (n == 0)
        break;
      if (n > 0)
        continue;
      if (errno == EINTR)
        continue;
      if (errno != EXDEV && errno != ENOSYS && errno != EINVAL) {
        rc = txf_err_errno(err, TXF_EIO, "copy %s to %s", from, tmp);
        break;
      }
      /* no copy_file_range here: plain reads and writes */
      static char buf[1 << 20]; /* GLOBAL: a copy buffer, one at a time */
      ssize_t r;
      while (!rc && (r = read(in, buf, sizeof buf)) != 0) {
        if (r < 0 && errno == EINTR)
          continue;
        if (r < 0 || write(out, buf, (size_t)r) != r)
          rc = txf_err_errno(err, TXF_EIO, "copy %s to %s", from, tmp);
      }
      break;
    }
    if (!rc && fsync(out))
      rc = txf_err_errno(err, TXF_EIO, "fsync %s", tmp);
    if (close(out) && !rc)
      rc = txf_err_errno(err, TXF_EIO, "close %s", tmp);
  }
  close(in);
  if (!rc)
    rc = remove_db(to, err);
  if (!rc && rename(tmp, to))
    rc = txf_err_errno(err, TXF_EIO, "rename %s to %s", tmp, to);
  if (rc)
    (void)unlink(tmp);
  free(tmp);
  return rc;
}

/* Take the write lock DuckDB takes on the file FD (a POSIX lock on the
 * whole of it): 1 when taken, 0 when a reader holds its shared one (one
 * that opened this copy while it was the published one), else -1 with
 * errno. (POSIX locks are the process's: a DuckDB handle of this process
 * on the file would not count, and closing FD would drop its lock; none is
 * open during txf_wh_begin, warehouse.h.) */
static int try_lock(int fd) {
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
  if (fcntl(fd, F_SETLK, &fl) == 0)
    return 1;
  return errno == EACCES || errno == EAGAIN ? 0 : -1;
}

/* LEN bytes of BUF at OFF of FD, whatever the writes take; -1 with errno
 * on an error. */
static int pwrite_all(int fd, const char *buf, size_t len, off_t off) {
  while (len > 0) {
    ssize_t n = pwrite(fd, buf, len, off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (n == 0)
        errno = EIO;
      return -1;
    }
    buf += n;
    len -= (size_t)n;
    off += n;
  }
  return 0;
}

/* Up to LEN bytes at OFF of FD into BUF, fewer only at its end: the count,
 * or -1 with errno. */
static ssize_t pread_full(int fd, char *buf, size_t len, off_t off) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = pread(fd, buf + got, len - got, off + (off_t)got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    if (n == 0)
      break;
    got += (size_t)n;
  }
  return (ssize_t)got;
}

/* Compare and write PATCH_UNIT bytes at a time, read PATCH_READ at a
 * time; a file of patch_split bytes or more in two halves at once. */
#define PATCH_UNIT (64 * 1024)
#define PATCH_READ (1024 * 1024)
static int64_t patch_split = 128 * 1024 * 1024;

void txf_wh_set_patch_split(int64_t bytes) {
  patch_split = bytes < 2 * PATCH_READ ? 2 * PATCH_READ : bytes;
}

/* One stretch [START, END) of patch_file's work: IN's bytes written over
 * OUT's where they differ. */
typedef struct {
  const char *from, *to;
  int in, out;
  off_t start, end;
  int64_t written;
  int rc;
  txf_err err;
} patch_part;

static void *patch_range(void *arg) {
  patch_part *p = arg;
  char *x = txf_xmalloc(PATCH_READ), *y = txf_xmalloc(PATCH_READ);
  for (off_t off = p->start; !p->rc && off < p->end;) {
    size_t want = (size_t)(p->end - off < PATCH_READ ? p->end - off
                                                     : PATCH_READ);
    ssize_t n = pread_full(p->in, x, want, off);
    ssize_t m = n > 0 ? pread_full(p->out, y, (size_t)n, off) : 0;
    if (n <= 0) {
      p->rc = n ? txf_err_errno(&p->err, TXF_EIO, "read %s", p->from)
                : txf_err_set(&p->err, TXF_EIO, "%s shrank while copied",
                              p->from);
      break;
    }
    if (m < 0) {
      p->rc = txf_err_errno(&p->err, TXF_EIO, "read %s", p->to);
      break;
    }
    /* (TO's bytes there: fewer at its end) */
    for (ssize_t u = 0; !p->rc && u < n; u += PATCH_UNIT) {
      size_t len = (size_t)(n - u < PATCH_UNIT ? n - u : PATCH_UNIT);
      if (u + (ssize_t)len <= m && !memcmp(x + u, y + u, len))
        continue;
      if (pwrite_all(p->out, x + u, len, off + u))
        p->rc = txf_err_errno(&p->err, TXF_EIO, "write %s", p->to);
      else
        p->written += (int64_t)len;
    }
    off += n;
  }
  free(x);
  free(y);
  return NULL;
}

/* FROM's bytes into TO, an existing file, in place: only the stretches
 * that differ are written. The copy a session writes was made equal to
 * the published one when that session began, so the two differ by what
 * the last session wrote: at 1,000,000 rows a day, one block in nine of a
 * 1.5 GB warehouse (decision 1801, thirteenth round). Reading both costs
 * less than writing the whole file, and the writes (and their fsync) are
 * the day's, not the warehouse's. Every byte is compared, so TO ends
 * equal to FROM whatever it held. A mark beside TO (TO.patching) says
 * while it is neither: a crash leaves it, and the next session patches
 * the copy again before reading anything in it (prepare). *BUSY: a reader
 * holds TO (nothing done). */
static int patch_file(const char *from, const char *to, const txf_logger *lg,
                      int *busy, txf_err *err) {
  *busy = 0;
  int64_t t0 = txf_mono_us(), c0 = txf_cpu_us();
  int out = open(to, O_RDWR | O_CLOEXEC);
  if (out < 0)
    return txf_err_errno(err, TXF_EIO, "open %s", to);
  int locked = try_lock(out);
  if (locked <= 0) {
    int rc = locked ? txf_err_errno(err, TXF_EIO, "lock %s", to) : 0;
    *busy = !locked;
    close(out);
    return rc;
  }
  char *mark = sibling(to, PATCHING), *wal = sibling(to, ".wal");
  char *dir = dir_of(to);
  int in = -1, rc = 0;
  int64_t written = 0;
  int mfd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (mfd < 0)
    rc = txf_err_errno(err, TXF_EIO, "create %s", mark);
  else
    close(mfd);
  /* the WAL belonged to what TO held; its removal and the mark are made
   * durable together, before the first write */
  if (!rc && unlink(wal) && errno != ENOENT)
    rc = txf_err_errno(err, TXF_EIO, "remove %s", wal);
  if (!rc)
    rc = txf_fs_fsync_dir(dir, err);
  if (!rc && (in = open(from, O_RDONLY | O_CLOEXEC)) < 0)
    rc = txf_err_errno(err, TXF_EIO, "open %s", from);
  struct stat st = {0};
  if (!rc && fstat(in, &st))
    rc = txf_err_errno(err, TXF_EIO, "stat %s", from);
  if (!rc) {
    /* two halves at once: reading both files is most of the cost (the
     * kernel's copies out of the page cache), on both cores */
    off_t half = st.st_size >= patch_split
                     ? (st.st_size / 2 / PATCH_READ) * PATCH_READ
                     : st.st_size;
    patch_part parts[2] = {{.from = from, .to = to, .in = in, .out = out,
                            .start = 0, .end = half},
                           {.from = from, .to = to, .in = in, .out = out,
                            .start = half, .end = st.st_size}};
    pthread_t th;
    int two = half < st.st_size && !pthread_create(&th, NULL, patch_range,
                                                   &parts[1]);
    (void)patch_range(&parts[0]);
    if (two)
      (void)pthread_join(th, NULL);
    else if (half < st.st_size)
      (void)patch_range(&parts[1]);
    for (int k = 0; k < 2; k++) {
      written += parts[k].written;
      if (!rc && parts[k].rc)
        rc = txf_err_set(err, parts[k].err.code, "%s", parts[k].err.msg);
    }
  }
  int64_t t_cmp = txf_mono_us();
  if (!rc && ftruncate(out, st.st_size))
    rc = txf_err_errno(err, TXF_EIO, "truncate %s", to);
  if (!rc && fsync(out))
    rc = txf_err_errno(err, TXF_EIO, "fsync %s", to);
  if (close(out) && !rc)
    rc = txf_err_errno(err, TXF_EIO, "close %s", to);
  if (in >= 0)
    close(in);
  if (!rc && unlink(mark))
    rc = txf_err_errno(err, TXF_EIO, "remove %s", mark);
  if (!rc)
    rc = txf_fs_fsync_dir(dir, err);
  if (!rc && lg)
    txf_log_debug(lg,
                  "warehouse: copy patched: %" PRId64 " of %" PRId64
                  " bytes written (compared %.3fs, synced %.3fs, cpu %.3fs)",
                  written, (int64_t)st.st_size, (t_cmp - t0) / 1e6,
                  (txf_mono_us() - t_cmp) / 1e6, (txf_cpu_us() - c0) / 1e6);
  TXF_FREE_ALL(mark, wal, dir);
  return rc;
}

/* TO made a copy of FROM: patched in place when it is there and no reader
 * holds it, else a new file (a reader of the old one keeps it). */
static int copy_file(const char *from, const char *to, const txf_logger *lg,
                     txf_err *err) {
  int busy = 1;
  if (txf_fs_exists(to)) {
    int rc = patch_file(from, to, lg, &busy, err);
    if (rc || !busy)
      return rc;
    if (lg)
      txf_log_debug(lg, "warehouse: %s is open elsewhere: copied whole", to);
  }
  return copy_new(from, to, err);
}

/* Open PATH read-write, waiting up to WAIT_MS while a reader (or
 * anything) holds it. */
static int open_rw(txf_duck **d, const char *path, int64_t wait_ms,
                   txf_err *err) {
  int64_t until = txf_mono_us() + wait_ms * 1000;
  for (;;) {
    int rc = txf_duck_open(d, path, 0, 0, err);
    if (!rc && (rc = txf_duck_hold(*d, err))) {
      txf_duck_close(*d);
      *d = NULL;
    }
    if (rc != TXF_ELOCKED)
      return rc;
    if (txf_mono_us() >= until)
      return txf_err_wrap(err,
                          "%s is still open elsewhere after %" PRId64
                          " ms (a reader holding the copy published "
                          "before the last build: close it)",
                          path, wait_ms);
    sleep_ms(50);
  }
}

/* A debug line: WHAT took since T0 (txf_mono_us) and C0 (txf_cpu_us). */
static void step_log(const txf_logger *lg, const char *what, int64_t t0,
                     int64_t c0) {
  if (lg)
    txf_log_debug(lg, "warehouse: %s: %.3fs (cpu %.3fs)", what,
                  (double)(txf_mono_us() - t0) / 1e6,
                  (double)(txf_cpu_us() - c0) / 1e6);
}

/* Run SQL (taken: freed) on D. */
static int exec_sql(txf_duck *d, txf_err *err, char *sql) {
  int rc = txf_duck_exec(d, sql, err);
  free(sql);
  return rc;
}

/* The copy state of database DB (NULL: the main one): *SEQ, *DIRTY; 0 with
 * *KNOWN = 0 when it has none. */
static int state_of(txf_duck *d, const char *db, int64_t *seq, int *dirty,
                    int *known, txf_err *err) {
  *seq = 0;
  *dirty = 1;
  *known = 0;
  char *sql = txf_xasprintf(
      "SELECT count(*) FROM information_schema.tables WHERE table_catalog = "
      "%s AND table_schema = '" SCHEMA "' AND table_name = 'copy_state'",
      db ? "'" PUB "'" : "current_database()");
  int64_t n = 0;
  int rc = txf_duck_query_i64(d, sql, &n, err);
  free(sql);
  if (rc || !n)
    return rc;
  duckdb_result res;
  sql = txf_xasprintf("SELECT seq, dirty FROM %s%s" SCHEMA ".copy_state",
                      db ? db : "", db ? "." : "");
  rc = txf_duck_query(d, sql, &res, err);
  free(sql);
  if (rc)
    return rc;
  if (duckdb_row_count(&res) == 1) {
    *seq = duckdb_value_int64(&res, 0, 0);
    *dirty = duckdb_value_boolean(&res, 1, 0);
    *known = 1;
  }
  duckdb_destroy_result(&res);
  return 0;
}

static void note_release(note *n) {
  TXF_FREE_ALL(n->how, n->schema, n->ident, n->keys, n->old_rel, n->new_rel,
               n->order_by, n->select_sql);
}

/* The log of publish SEQ in database DB (NULL: the main one); caller
 * releases each and frees *OUT. */
static int log_of(txf_duck *d, const char *db, int64_t seq, note **out,
                  size_t *n_out, txf_err *err) {
  *out = NULL;
  *n_out = 0;
  duckdb_result res;
  char *sql = txf_xasprintf(
      "SELECT how, schema_name, ident, keys, old_rel, new_rel, order_by, "
      "select_sql FROM %s%s" SCHEMA ".copy_log WHERE seq = %" PRId64
      " ORDER BY ord",
      db ? db : "", db ? "." : "", seq);
  int rc = txf_duck_query(d, sql, &res, err);
  free(sql);
  if (rc)
    return rc;
  idx_t rows = duckdb_row_count(&res);
  note *v = txf_xcalloc(rows + 1, sizeof *v);
  for (idx_t r = 0; r < rows; r++) {
    v[r].how = txf_duck_value(&res, 0, r);
    v[r].schema = txf_duck_value(&res, 1, r);
    v[r].ident = txf_duck_value(&res, 2, r);
    v[r].keys = txf_duck_value(&res, 3, r);
    v[r].old_rel = txf_duck_value(&res, 4, r);
    v[r].new_rel = txf_duck_value(&res, 5, r);
    v[r].order_by = txf_duck_value(&res, 6, r);
    v[r].select_sql = txf_duck_value(&res, 7, r);
  }
  duckdb_destroy_result(&res);
  *out = v;
  *n_out = rows;
  return 0;
}

static void notes_free(note *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    note_release(&v[i]);
  free(v);
}

/* Drop SCHEMA.IDENT of the main database, whatever it is. */
static int drop_rel(txf_duck *d, const char *schema, const char *ident,
                    txf_err *err) {
  char *s = txf_duck_quote_str(schema), *i = txf_duck_quote_str(ident);
  char *sql = txf_xasprintf(
      "SELECT CASE WHEN table_type = 'VIEW' THEN 2 ELSE 1 END FROM "
      "information_schema.tables WHERE table_catalog = current_database() "
      "AND table_schema = %s AND table_name = %s",
      s, i);
  free(s);
  free(i);
  int64_t k = 0;
  int rc = txf_duck_query_i64(d, sql, &k, err);
  free(sql);
  if (rc == TXF_ENOTFOUND)
    return 0;
  if (rc)
    return rc;
  char *rel = txf_duck_quote_rel(schema, ident);
  rc = exec_sql(d, err,
                txf_xasprintf("DROP %s %s", k == 2 ? "VIEW" : "TABLE", rel));
  free(rel);
  return rc;
}

/* " AND ORDER_BY BETWEEN lo AND hi" over the rows delta note N's build
 * deleted (typed literals: the table is kept in that order, so DuckDB skips
 * every block outside the range by its min/max, where the delete by key
 * alone read the key column of the whole table — a cost that grew with the
 * warehouse); " AND FALSE" when none left; "" for a note without an
 * order. Caller frees *OUT. */
static int old_range(txf_duck *d, const note *n, char **out, txf_err *err) {
  *out = NULL;
  if (!n->order_by) {
    *out = txf_xstrdup("");
    return 0;
  }
  char *sql = txf_xasprintf("SELECT CAST(MIN(%s) AS VARCHAR), CAST(MAX(%s) AS "
                            "VARCHAR), typeof(MIN(%s)) FROM " PUB ".%s",
                            n->order_by, n->order_by, n->order_by, n->old_rel);
  duckdb_result res;
  int rc = txf_duck_query(d, sql, &res, err);
  free(sql);
  if (rc)
    return rc;
  char *lo = NULL, *hi = NULL, *ty = NULL;
  if (duckdb_row_count(&res) == 1) {
    lo = txf_duck_value(&res, 0, 0);
    hi = txf_duck_value(&res, 1, 0);
    ty = txf_duck_value(&res, 2, 0);
  }
  duckdb_destroy_result(&res);
  if (!lo || !hi || !ty) {
    *out = txf_xstrdup(" AND FALSE");
  } else {
    char *l = txf_duck_quote_str(lo), *h = txf_duck_quote_str(hi);
    *out = txf_xasprintf(" AND %s BETWEEN CAST(%s AS %s) AND CAST(%s AS %s)",
                         n->order_by, l, ty, h, ty);
    free(l);
    free(h);
  }
  free(lo);
  free(hi);
  free(ty);
  return 0;
}

/* The new rows of delta note N into REL (quoted), in N's order. With few
 * values of the order column (a day's fact rows: the dozen event dates
 * late arrivals reach), one INSERT per value, nothing sorted
 * (txf_duck_insert_ordered; at 10,000,000 rows a day the sorted INSERT
 * cost 40.0 s of CPU and 3.3 GB, the passes 33.4 s and 0.96 GB, decision
 * 1501, seventh round). Passes that miss rows are an error: the copy is
 * then copied whole. */
static int insert_new_rows(txf_duck *d, const char *rel, const note *n,
                           const txf_logger *lg, txf_err *err) {
  char *src = txf_xasprintf(PUB ".%s", n->new_rel);
  char *head = txf_xasprintf("INSERT INTO %s BY NAME SELECT *", rel);
  int rc =
      n->order_by
          ? txf_duck_insert_ordered(d, head, src, n->order_by,
                                    TXF_DUCK_ORDER_PASSES, lg, "warehouse", err)
          : exec_sql(d, err, txf_xasprintf("%s FROM %s", head, src));
  TXF_FREE_ALL(src, head);
  return rc;
}

/* Relation N (REL, quoted) of the published copy, copied whole, in its
 * order; a relation the build removed after noting it goes here too. */
static int copy_whole(txf_duck *d, const note *n, const char *rel,
                      txf_err *err) {
  char *qi = txf_duck_quote_str(n->ident), *qsn = txf_duck_quote_str(n->schema);
  int64_t there = 0;
  int rc = drop_rel(d, n->schema, n->ident, err);
  char *sql = txf_xasprintf("SELECT count(*) FROM information_schema.tables "
                            "WHERE table_catalog = '" PUB
                            "' AND table_schema = %s AND table_name = %s",
                            qsn, qi);
  if (!rc)
    rc = txf_duck_query_i64(d, sql, &there, err);
  free(sql);
  free(qi);
  free(qsn);
  if (!rc && there)
    rc = exec_sql(
        d, err,
        txf_xasprintf("CREATE TABLE %s AS SELECT * FROM " PUB ".%s", rel, rel));
  return rc;
}

/* Did delta note N replace at least half of its table's
 * rows? Then a copy of the published table costs less than the delete and
 * the insert: the customer models' change holds nine in ten of their rows
 * each day (every customer who paid), and deleting those left row groups
 * that the COMMIT's checkpoint rewrote (decision 1501, ninth round). */
static int mostly_changed(txf_duck *d, const note *n, int *whole,
                          txf_err *err) {
  /* (the table's rows before the change: this copy's, counted as the
   * build counts them, changes.c) */
  char *rows = txf_duck_table_rows_sql(NULL, n->schema, n->ident);
  char *sql = txf_xasprintf("SELECT CAST(2 * (SELECT count(*) FROM " PUB
                            ".%s) >= (%s) AS BIGINT)",
                            n->old_rel, rows);
  int64_t yes = 0;
  int rc = txf_duck_query_i64(d, sql, &yes, err);
  TXF_FREE_ALL(sql, rows);
  *whole = !rc && yes;
  return rc;
}

/* Replay one note N of the published copy's log on the main database. */
static int replay(txf_duck *d, const note *n, const txf_logger *lg,
                  txf_err *err) {
  /* a note this binary does not know (a later binary's): replaying the
   * others alone would leave the copy without that change, so the copy
   * cannot follow the log (a copy of the file does instead) */
  if (!n->how || !n->schema || !n->ident ||
      (strcmp(n->how, "copy") && strcmp(n->how, "view") &&
       strcmp(n->how, "delta")))
    return txf_err_set(err, TXF_ECORRUPT, "unknown note '%s' in the log",
                       n->how ? n->how : "(null)");
  char *qs = txf_duck_quote_ident(n->schema);
  char *rel = txf_duck_quote_rel(n->schema, n->ident);
  int rc =
      exec_sql(d, err, txf_xasprintf("CREATE SCHEMA IF NOT EXISTS %s", qs));
  int whole = 0;
  if (!rc && !strcmp(n->how, "delta"))
    rc = mostly_changed(d, n, &whole, err);
  if (whole && lg)
    txf_log_debug(lg,
                  "warehouse: %s: half its rows or more replaced, copied "
                  "whole",
                  rel);
  if (!rc && (whole || !strcmp(n->how, "copy"))) {
    rc = copy_whole(d, n, rel, err);
  } else if (!rc && !strcmp(n->how, "view")) {
    rc = drop_rel(d, n->schema, n->ident, err);
    if (!rc)
      rc = exec_sql(d, err,
                    txf_xasprintf("CREATE VIEW %s AS\n%s", rel, n->select_sql));
  } else if (!rc && !strcmp(n->how, "delta")) {
    /* the rows of the old keys go (IN: a semi join on the few keys, as
     * the build itself deletes them), the new rows come in, in the
     * table's order */
    int several = strchr(n->keys, ',') != NULL;
    char *range = NULL;
    rc = old_range(d, n, &range, err);
    if (!rc)
      rc = exec_sql(
          d, err,
          txf_xasprintf("DELETE FROM %s WHERE %s%s%s IN (SELECT %s FROM " PUB
                        ".%s)%s",
                        rel, several ? "(" : "", n->keys, several ? ")" : "",
                        n->keys, n->old_rel, range));
    free(range);
    if (!rc)
      rc = insert_new_rows(d, rel, n, lg, err);
  }
  if (rc)
    txf_err_wrap(err, "bringing %s up to the published copy", rel);
  free(qs);
  free(rel);
  return rc;
}

/* Is a copy of the published file PUBLISHED (a patch of the copy in
 * place: both read, what differs written) cheaper than replaying LOG (N
 * notes: the rows each writes, through DuckDB)? Measured at 1,000,000 rows
 * a day on day 36 (decision 1801, thirteenth round): a replay costs about
 * 2.2 us of CPU a row written (7.8 s for 3.5 M rows), the patch of a 1.56
 * GB copy 0.6 s (0.3 s of it the comparison, which grows with the file;
 * the writes, 180 MB, are the day's), about 0.4 ns a byte; the copy is
 * patched while the file holds fewer than COPY_BYTES_PER_ROW bytes per row
 * the replay would write: at a constant volume a day, for most of a year,
 * after which the replay, whose cost follows the day, is the cheaper.
 * TXNFLOW_WAREHOUSE_CATCHUP=replay or =copy forces either (the tests). */
#define COPY_BYTES_PER_ROW 4000
static int copy_is_cheaper(txf_duck *d, const char *published, const note *log,
                           size_t n, const txf_logger *lg) {
  const char *force = getenv("TXNFLOW_WAREHOUSE_CATCHUP");
  if (force && (!strcmp(force, "replay") || !strcmp(force, "copy")))
    return !strcmp(force, "copy");
  int64_t rows = 0;
  for (size_t i = 0; i < n; i++) {
    const note *x = &log[i];
    char *sql = NULL;
    if (!x->how || !x->schema || !x->ident)
      return 1; /* a note the replay refuses */
    if (!strcmp(x->how, "delta") && x->old_rel && x->new_rel) {
      sql = txf_xasprintf("SELECT (SELECT count(*) FROM " PUB
                          ".%s) + (SELECT count(*) FROM " PUB ".%s)",
                          x->old_rel, x->new_rel);
    } else if (!strcmp(x->how, "copy")) {
      sql = txf_duck_table_rows_sql(PUB, x->schema, x->ident);
    }
    int64_t k = 0;
    txf_err e;
    int gone = sql && txf_duck_query_i64(d, sql, &k, &e);
    free(sql);
    if (gone)
      return 1; /* a relation of the log gone: a replay cannot follow it */
    rows += k;
  }
  struct stat st;
  if (stat(published, &st))
    return 0;
  int yes = (int64_t)st.st_size < (int64_t)COPY_BYTES_PER_ROW * rows;
  if (lg)
    txf_log_debug(lg,
                  "warehouse: the log writes %" PRId64 " rows, the file holds "
                  "%" PRId64 " bytes: %s",
                  rows, (int64_t)st.st_size, yes ? "copied" : "replayed");
  return yes;
}

/* The copy's own relations its last log named (the rows of its models'
 * deltas): the other copy has read them, they go. */
static int drop_kept(txf_duck *d, txf_err *err) {
  int64_t seq;
  int dirty, known;
  int rc = state_of(d, NULL, &seq, &dirty, &known, err);
  if (rc || !known)
    return rc;
  note *v;
  size_t n;
  rc = log_of(d, NULL, seq, &v, &n, err);
  for (size_t i = 0; !rc && i < n; i++) {
    const char *rels[2] = {v[i].old_rel, v[i].new_rel};
    for (int r = 0; !rc && r < 2; r++)
      if (rels[r])
        rc =
            exec_sql(d, err, txf_xasprintf("DROP TABLE IF EXISTS %s", rels[r]));
  }
  notes_free(v, n);
  return rc;
}

static const char state_ddl[] =
    "CREATE SCHEMA IF NOT EXISTS " SCHEMA "; "
    "CREATE TABLE IF NOT EXISTS " SCHEMA ".copy_state(seq BIGINT, dirty "
    "BOOLEAN); "
    "CREATE TABLE IF NOT EXISTS " SCHEMA ".copy_log(seq BIGINT, ord INTEGER, "
    "how VARCHAR, schema_name VARCHAR, ident VARCHAR, keys VARCHAR, old_rel "
    "VARCHAR, new_rel VARCHAR, order_by VARCHAR, select_sql VARCHAR)";

/* SQL: the copy holds publish SEQ, DIRTY while a session writes it.
 * Caller frees. */
static char *state_sql(int64_t seq, int dirty) {
  return txf_xasprintf("DELETE FROM " SCHEMA ".copy_state; INSERT INTO " SCHEMA
                       ".copy_state VALUES (%" PRId64 ", %s)",
                       seq, dirty ? "true" : "false");
}

static int set_state(txf_duck *d, int64_t seq, int dirty, txf_err *err) {
  return exec_sql(d, err, state_sql(seq, dirty));
}

/* Checkpoint copy PATH, opened (held) as D, holding SEQ, DIRTY: its
 * state written again is the commit that checkpoints. */
static int checkpoint_copy(txf_duck *d, const char *path, int64_t seq,
                           int dirty, txf_err *err) {
  char *st = state_sql(seq, dirty);
  char *sql = txf_xasprintf("BEGIN TRANSACTION; %s; COMMIT", st);
  int rc = txf_duck_checkpoint_held(d, path, sql, err);
  TXF_FREE_ALL(st, sql);
  return rc;
}

/* Mark the copy at SEQ as being written (a crash leaves it so). Its two
 * tables are made again whole first: they are written by DELETE and
 * INSERT (a commit DuckDB checkpoints beside the hold, where an UPDATE's
 * is not), and a held checkpoint never vacuums, so each write left a row
 * group of deleted rows that every first read after an open loaded again
 * (copy_state: 90 row groups for its one row after a month, 0.13 to 0.18
 * s a read, growing by three a session; decision 1801, seventeenth
 * round). */
static int mark_dirty(txf_duck *d, int64_t seq, txf_err *err) {
  int rc = txf_duck_exec(d, state_ddl, err);
  if (!rc)
    rc = txf_duck_exec(d,
                       "CREATE OR REPLACE TABLE " SCHEMA ".copy_log AS "
                       "SELECT * FROM " SCHEMA ".copy_log; "
                       "CREATE OR REPLACE TABLE " SCHEMA ".copy_state("
                       "seq BIGINT, dirty BOOLEAN)",
                       err);
  if (!rc)
    rc = set_state(d, seq, 1, err);
  return rc;
}

/* ------------------------------------------------------------ sessions */

static int lock_take(txf_wh *w, txf_err *err) {
  w->lock_fd = open(w->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (w->lock_fd < 0)
    return txf_err_errno(err, TXF_EIO, "open %s", w->lock_path);
  if (flock(w->lock_fd, LOCK_EX | LOCK_NB)) {
    int e = errno;
    char pid[32] = "";
    ssize_t n = pread(w->lock_fd, pid, sizeof pid - 1, 0);
    pid[n > 0 ? n : 0] = '\0';
    pid[strcspn(pid, "\n")] = '\0';
    close(w->lock_fd);
    w->lock_fd = -1;
    if (e == EWOULDBLOCK)
      return txf_err_set(err, TXF_ELOCKED,
                         "%s is being written by another process (pid %s "
                         "holds %s): one build at a time",
                         w->path, pid[0] ? pid : "?", w->lock_path);
    errno = e;
    return txf_err_errno(err, TXF_EIO, "lock %s", w->lock_path);
  }
  char pid[32];
  int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
  if (ftruncate(w->lock_fd, 0) == 0 &&
      pwrite(w->lock_fd, pid, (size_t)len, 0) == len) {
    /* the pid is for messages only */
  }
  return 0;
}

static void session_free(txf_wh *w) {
  if (!w)
    return;
  if (w->lock_fd >= 0)
    close(w->lock_fd); /* releases the flock */
  notes_free(w->notes, w->n_notes);
  TXF_FREE_ALL(w->path, w->copy, w->lock_path, w);
}

/* D, the copy's handle (held) at publish SEQ, into *KEEP when the caller
 * takes it (KEEP not NULL): the published copy detached (ATTACHED: it was
 * attached), and not checkpointed: the session's commits checkpoint beside
 * the hold, and what the catch-up committed is in the WAL until then. A
 * second open of the copy and the checkpoint here cost what the warehouse
 * held (0.3 s and 0.2 s at 2.2 GB; decision 1801, eighteenth round). Else
 * D is checkpointed (a failure only logged: the close checkpoints) and
 * closed. */
static void hand_over(txf_wh *w, txf_duck *d, int64_t seq, int attached,
                      txf_duck **keep, const char *what) {
  int64_t t0 = txf_mono_us(), c0 = txf_cpu_us();
  txf_err e;
  if (keep && (!attached || !txf_duck_exec(d, "DETACH " PUB, &e))) {
    *keep = d;
    step_log(w->log, "caught-up copy kept open for the session", t0, c0);
    return;
  }
  /* checkpointed beside the hold: the close then has nothing to
   * checkpoint, which it would do in full */
  if (checkpoint_copy(d, w->copy, seq, 1, &e) && w->log)
    txf_log_debug(w->log, "warehouse: %s: %s", what, e.msg);
  step_log(w->log, "caught-up copy checkpointed", t0, c0);
  t0 = txf_mono_us(), c0 = txf_cpu_us();
  txf_duck_close(d);
  step_log(w->log, "caught-up copy closed", t0, c0);
}

/* Bring the copy W writes (COPY) up to the published one (PUBLISHED, or
 * NULL when nothing is published yet) and mark it being written. KEEP
 * (or NULL): where the copy's open handle goes (hand_over). */
static int prepare(txf_wh *w, const char *published, int64_t wait_ms,
                   txf_duck **keep, txf_err *err) {
  if (!published) {
    w->base = 0;
    int rc = remove_db(w->copy, err);
    txf_duck *d = NULL;
    if (!rc)
      rc = txf_duck_open(&d, w->copy, 0, 0, err);
    if (!rc)
      rc = mark_dirty(d, 0, err);
    txf_duck_close(d);
    return rc;
  }
  /* (a copy a patch left unfinished is neither: patched again first) */
  char *mark = sibling(w->copy, PATCHING);
  int full = !txf_fs_exists(w->copy) || txf_fs_exists(mark);
  free(mark);
  txf_duck *d = NULL;
  int rc = 0;
  for (int round = 0; !rc && round < 2; round++) {
    if (full) {
      rc = copy_file(published, w->copy, w->log, err);
      if (rc)
        break;
    }
    int64_t t0 = txf_mono_us(), c0 = txf_cpu_us();
    rc = open_rw(&d, w->copy, wait_ms, err);
    step_log(w->log, "copy opened", t0, c0);
    t0 = txf_mono_us(), c0 = txf_cpu_us();
    int64_t mine = 0, pub = 0;
    int dirty = 1, known = 0, pub_dirty = 1, pub_known = 0;
    if (!rc)
      rc = state_of(d, NULL, &mine, &dirty, &known, err);
    if (full) {
      /* the published file's bytes: its state, and nothing to replay.
       * Reading that state through an ATTACH of the published file cost
       * 0.25 s at a month of 1,000,000 rows a day — most of it the first
       * read of its copy_state, whose row groups of deleted rows had
       * piled up (mark_dirty now makes it again whole) */
      pub = mine;
      pub_dirty = dirty;
      pub_known = known;
    } else {
      char *q = txf_duck_quote_str(published);
      if (!rc)
        rc = exec_sql(d, err,
                      txf_xasprintf("ATTACH %s AS " PUB " (READ_ONLY)", q));
      free(q);
      if (!rc)
        rc = state_of(d, PUB, &pub, &pub_dirty, &pub_known, err);
    }
    step_log(w->log, "states read", t0, c0);
    note *log = NULL;
    size_t n_log = 0;
    int replayable = !rc && known && !dirty && pub_known && mine + 1 == pub;
    if (replayable)
      rc = log_of(d, PUB, pub, &log, &n_log, err);
    for (size_t i = 0; replayable && i < n_log; i++)
      if (!strcmp(log[i].how, "all"))
        replayable = 0;
    t0 = txf_mono_us(), c0 = txf_cpu_us();
    if (replayable && !rc && copy_is_cheaper(d, published, log, n_log, w->log))
      replayable = 0;
    step_log(w->log, "log weighed", t0, c0);
    int same = !rc && known && !dirty && pub_known && mine == pub;
    if (!rc && (same || replayable)) {
      /* one transaction: a crash leaves the copy as it was */
      rc = txf_duck_exec(d, "BEGIN TRANSACTION", err);
      for (size_t i = 0; !rc && replayable && i < n_log; i++) {
        t0 = txf_mono_us(), c0 = txf_cpu_us();
        rc = replay(d, &log[i], w->log, err);
        char *what =
            txf_xasprintf("replayed %s %s.%s", log[i].how ? log[i].how : "?",
                          log[i].schema ? log[i].schema : "?",
                          log[i].ident ? log[i].ident : "?");
        step_log(w->log, what, t0, c0);
        free(what);
      }
      t0 = txf_mono_us(), c0 = txf_cpu_us();
      if (!rc)
        rc = drop_kept(d, err);
      if (!rc)
        rc = exec_sql(d, err, txf_xasprintf("DELETE FROM " SCHEMA ".copy_log"));
      if (!rc)
        rc = mark_dirty(d, pub, err);
      step_log(w->log, "kept rows dropped, copy marked", t0, c0);
      t0 = txf_mono_us(), c0 = txf_cpu_us();
      if (!rc)
        rc = txf_duck_exec(d, "COMMIT", err);
      step_log(w->log, "replay committed", t0, c0);
      if (rc) {
        if (txf_duck_exec(d, "ROLLBACK", &(txf_err){0})) { /* best effort */
        }
        txf_duck_close(d);
      } else {
        hand_over(w, d, pub, !full, keep, "caught-up copy");
      }
      notes_free(log, n_log);
      d = NULL;
      if (rc && replayable && !full) {
        /* a log this copy cannot follow (a relation gone that another
         * program removed, a model's rules changed under it): the copy is
         * left as it was, and a copy of the file does instead */
        rc = 0;
        full = 1;
        continue;
      }
      w->base = pub;
      return rc;
    }
    notes_free(log, n_log);
    txf_duck_close(d);
    d = NULL;
    if (rc || full)
      break;
    full = 1; /* not known to be one step behind: copy the file, once */
  }
  if (rc)
    return rc;
  /* a fresh copy of the published file: its deltas' rows were for the
   * other copy */
  rc = open_rw(&d, w->copy, wait_ms, err);
  int64_t seq = 0;
  int dirty, known;
  if (!rc)
    rc = state_of(d, NULL, &seq, &dirty, &known, err);
  if (!rc)
    rc = drop_kept(d, err);
  if (!rc && known)
    rc = exec_sql(d, err, txf_xasprintf("DELETE FROM " SCHEMA ".copy_log"));
  if (!rc)
    rc = mark_dirty(d, seq, err);
  w->base = seq;
  if (rc)
    txf_duck_close(d);
  else
    hand_over(w, d, seq, 0, keep, "copied file");
  return rc;
}

int txf_wh_begin(txf_wh **out, const char *path, int64_t wait_ms,
                 txf_err *err) {
  return txf_wh_begin_log(out, path, wait_ms, NULL, err);
}

int txf_wh_begin_log(txf_wh **out, const char *path, int64_t wait_ms,
                     const txf_logger *lg, txf_err *err) {
  return txf_wh_begin_open(out, path, wait_ms, lg, NULL, err);
}

int txf_wh_begin_open(txf_wh **out, const char *path, int64_t wait_ms,
                      const txf_logger *lg, txf_duck **keep,
                      txf_err *err) {
  *out = NULL;
  if (keep)
    *keep = NULL;
  txf_wh *w = txf_xcalloc(1, sizeof *w);
  w->lock_fd = -1;
  w->log = lg;
  w->path = txf_xstrdup(path);
  w->lock_path = sibling(path, ".lock");
  int rc = lock_take(w, err);
  char *a = sibling(path, ".a"), *b = sibling(path, ".b");
  char *published = NULL;
  struct stat st;
  if (!rc && lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
    /* a warehouse from before the copies: it becomes copy a (its WAL
     * replayed first, by an open and a close) */
    txf_duck *d = NULL;
    rc = open_rw(&d, path, wait_ms, err);
    txf_duck_close(d);
    if (!rc)
      rc = remove_db(a, err);
    if (!rc && link(path, a))
      rc = txf_err_errno(err, TXF_EIO, "link %s to %s", path, a);
    if (!rc)
      rc = link_to(path, base_name(a), err);
  }
  if (!rc && lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n < 0) {
      rc = txf_err_errno(err, TXF_EIO, "readlink %s", path);
    } else {
      target[n] = '\0';
      int is_b = !strcmp(target, base_name(b));
      if (!is_b && strcmp(target, base_name(a)))
        rc = txf_err_set(err, TXF_ECORRUPT,
                         "%s points to '%s', not to its copies %s or %s", path,
                         target, base_name(a), base_name(b));
      published = txf_xstrdup(is_b ? b : a);
      w->copy = txf_xstrdup(is_b ? a : b);
    }
  } else if (!rc && lstat(path, &st) && errno == ENOENT) {
    /* a new warehouse (or one removed to start over): what copies are
     * left beside it go */
    rc = remove_db(b, err);
    w->copy = txf_xstrdup(a);
  } else if (!rc) {
    rc = txf_err_set(err, TXF_ECORRUPT,
                     "%s is neither a DuckDB file nor a link to its copies",
                     path);
  }
  if (!rc)
    rc = prepare(w, published, wait_ms, keep, err);
  free(published);
  free(a);
  free(b);
  if (rc) {
    session_free(w);
    return txf_err_wrap(err, "warehouse %s", path);
  }
  *out = w;
  return 0;
}

const char *txf_wh_path(const txf_wh *w) { return w->copy; }

char *txf_wh_keep_rel(const char *ident) {
  return txf_duck_quote_rel(SCHEMA, ident);
}

static note *note_add(txf_wh *w, const char *how) {
  w->notes = txf_xrealloc(w->notes, (w->n_notes + 1) * sizeof *w->notes);
  note *n = &w->notes[w->n_notes++];
  memset(n, 0, sizeof *n);
  n->how = txf_xstrdup(how);
  return n;
}

/* A relation noted again replaces its earlier note. */
static void forget(txf_wh *w, const char *schema, const char *ident) {
  for (size_t i = 0; i < w->n_notes; i++) {
    note *n = &w->notes[i];
    if (n->schema && !strcmp(n->schema, schema) && !strcmp(n->ident, ident)) {
      note_release(n);
      memmove(n, n + 1, (w->n_notes - i - 1) * sizeof *n);
      w->n_notes--;
      i--;
    }
  }
}

void txf_wh_note_copy(txf_wh *w, const char *schema, const char *ident) {
  forget(w, schema, ident);
  note *n = note_add(w, "copy");
  n->schema = txf_xstrdup(schema);
  n->ident = txf_xstrdup(ident);
}

void txf_wh_note_view(txf_wh *w, const char *schema, const char *ident,
                      const char *select_sql) {
  forget(w, schema, ident);
  note *n = note_add(w, "view");
  n->schema = txf_xstrdup(schema);
  n->ident = txf_xstrdup(ident);
  n->select_sql = txf_xstrdup(select_sql);
}

void txf_wh_note_delta(txf_wh *w, const char *schema, const char *ident,
                       const char *keys, const char *old_rel,
                       const char *new_rel, const char *order_by) {
  forget(w, schema, ident);
  note *n = note_add(w, "delta");
  n->schema = txf_xstrdup(schema);
  n->ident = txf_xstrdup(ident);
  n->keys = txf_xstrdup(keys);
  n->old_rel = txf_xstrdup(old_rel);
  n->new_rel = txf_xstrdup(new_rel);
  n->order_by = order_by ? txf_xstrdup(order_by) : NULL;
}

void txf_wh_note_all(txf_wh *w) { note_add(w, "all"); }

static char *lit(const char *s) {
  return s ? txf_duck_quote_str(s) : txf_xstrdup("NULL");
}

int txf_wh_checkpoint(txf_wh *w, txf_duck *d, txf_err *err) {
  return checkpoint_copy(d, w->copy, w->base, 1, err);
}

/* The notes and the publish SEQ into the copy, opened (held) as D, in one
 * transaction, then checkpointed: whole on disk before readers are sent to
 * it. */
static int record(txf_wh *w, txf_duck *d, int64_t seq, txf_err *err) {
  int rc = txf_duck_exec(d, "BEGIN TRANSACTION", err);
  if (!rc)
    rc = txf_duck_exec(d, state_ddl, err);
  if (!rc)
    rc = exec_sql(d, err, txf_xasprintf("DELETE FROM " SCHEMA ".copy_log"));
  for (size_t i = 0; !rc && i < w->n_notes; i++) {
    const note *n = &w->notes[i];
    char *v[8] = {lit(n->how),      lit(n->schema),    lit(n->ident),
                  lit(n->keys),     lit(n->old_rel),   lit(n->new_rel),
                  lit(n->order_by), lit(n->select_sql)};
    rc = exec_sql(
        d, err,
        txf_xasprintf("INSERT INTO " SCHEMA ".copy_log VALUES (%" PRId64
                      ", %zu, %s, %s, %s, %s, %s, %s, %s, %s)",
                      seq, i, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]));
    for (int k = 0; k < 8; k++)
      free(v[k]);
  }
  if (!rc)
    rc = set_state(d, seq, 0, err);
  if (!rc)
    rc = txf_duck_exec(d, "COMMIT", err);
  else if (txf_duck_exec(d, "ROLLBACK", &(txf_err){0})) { /* best effort */
  }
  if (!rc)
    rc = checkpoint_copy(d, w->copy, seq, 0, err);
  return rc;
}

int txf_wh_record(txf_wh *w, txf_duck *d, txf_err *err) {
  int rc = record(w, d, w->base + 1, err);
  w->recorded = !rc;
  return rc;
}

int txf_wh_publish(txf_wh *w, txf_err *err) {
  int rc = 0;
  if (!w->recorded) {
    txf_duck *d = NULL;
    int64_t t0 = txf_mono_us(), c0 = txf_cpu_us();
    rc = txf_duck_open(&d, w->copy, 0, 0, err);
    if (!rc)
      rc = txf_duck_hold(d, err);
    if (!rc)
      rc = record(w, d, w->base + 1, err);
    txf_duck_close(d);
    step_log(w->log, "publish checkpointed", t0, c0);
  }
  if (!rc)
    rc = link_to(w->path, base_name(w->copy), err);
  if (rc)
    txf_err_wrap(err, "publishing %s", w->copy);
  session_free(w);
  return rc;
}

void txf_wh_abort(txf_wh *w) { session_free(w); }
