/* File system helpers: atomic publish of files and directories.
 *
 * The recipe for "a crash leaves the old state or the new": write under a
 * temp name in the target's own directory (same file system, so rename is
 * atomic), fsync the data, rename into place, fsync the directory so the
 * rename itself is durable. Directories are swapped with renameat2's
 * RENAME_EXCHANGE, which replaces a non-empty directory in one step. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

char *txf_path_join(const char *a, const char *b) {
  size_t la = strlen(a);
  if (la == 0)
    return txf_xstrdup(b);
  if (b[0] == '/')
    return txf_xstrdup(b);
  return txf_xasprintf("%s%s%s", a, a[la - 1] == '/' ? "" : "/", b);
}

char *txf_path_abs(const char *base, const char *path) {
  if (path[0] == '/')
    return txf_xstrdup(path);
  if (base && base[0] == '/')
    return txf_path_join(base, path);
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd))
    return txf_xstrdup(path);
  if (base) {
    char *b = txf_path_join(cwd, base);
    char *r = txf_path_join(b, path);
    free(b);
    return r;
  }
  return txf_path_join(cwd, path);
}

int txf_fs_exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

int txf_fs_is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int txf_fs_mkdirs(const char *path, txf_err *err) {
  char *p = txf_xstrdup(path);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/')
      continue;
    *s = '\0';
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
      int rc = txf_err_errno(err, TXF_EIO, "cannot create directory %s", p);
      free(p);
      return rc;
    }
    *s = '/';
  }
  int rc = 0;
  if (mkdir(p, 0755) != 0 && errno != EEXIST)
    rc = txf_err_errno(err, TXF_EIO, "cannot create directory %s", p);
  else if (!txf_fs_is_dir(p))
    rc = txf_err_set(err, TXF_EIO, "%s exists and is not a directory", p);
  free(p);
  return rc;
}

int txf_fs_mkdirs_parent(const char *path, txf_err *err) {
  const char *slash = strrchr(path, '/');
  if (!slash || slash == path)
    return 0;
  char *dir = txf_xstrndup(path, (size_t)(slash - path));
  int rc = txf_fs_mkdirs(dir, err);
  free(dir);
  return rc;
}

int txf_fs_fsync_dir(const char *path, txf_err *err) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return txf_err_errno(err, TXF_EIO, "cannot open directory %s", path);
  int rc = 0;
  if (fsync(fd) != 0 && errno != EINVAL)
    rc = txf_err_errno(err, TXF_EIO, "fsync %s", path);
  close(fd);
  return rc;
}

static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    return txf_xstrdup(".");
  if (slash == path)
    return txf_xstrdup("/");
  return txf_xstrndup(path, (size_t)(slash - path));
}

int txf_fs_read_file(const char *path, txf_buf *b, txf_err *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return txf_err_errno(err, TXF_EIO, "%s", path);
  for (;;) {
    if (txf_buf_grow(b, 65536)) {
      /* Try a smaller read before declaring the file too big. */
      if (b->max && b->len < b->max && txf_buf_grow(b, b->max - b->len) == 0) {
        ssize_t r = read(fd, b->data + b->len, b->max - b->len);
        if (r > 0)
          b->len += (size_t)r;
        char extra;
        if (r >= 0 && read(fd, &extra, 1) == 0) {
          b->data[b->len] = '\0';
          close(fd);
          return 0;
        }
      }
      close(fd);
      return txf_err_set(err, TXF_ETOOBIG, "%s: larger than %zu bytes", path,
                         b->max);
    }
    ssize_t r = read(fd, b->data + b->len, b->cap - b->len - 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      int rc = txf_err_errno(err, TXF_EIO, "%s", path);
      close(fd);
      return rc;
    }
    if (r == 0)
      break;
    b->len += (size_t)r;
  }
  if (b->data)
    b->data[b->len] = '\0';
  else
    (void)txf_buf_append(b, "", 0);
  close(fd);
  return 0;
}

int txf_afile_open(txf_afile *af, const char *path, txf_err *err) {
  memset(af, 0, sizeof *af);
  char *dir = dir_of(path);
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  char *tmpl = txf_xasprintf("%s/.%s.tmp-XXXXXX", dir, base);
  free(dir);
  int fd = mkostemp(tmpl, O_CLOEXEC);
  if (fd < 0) {
    int rc = txf_err_errno(err, TXF_EIO, "cannot create temp file for %s",
                           path);
    free(tmpl);
    return rc;
  }
  fchmod(fd, 0644);
  af->fp = fdopen(fd, "w");
  if (!af->fp) {
    int rc = txf_err_errno(err, TXF_EIO, "fdopen %s", tmpl);
    close(fd);
    unlink(tmpl);
    free(tmpl);
    return rc;
  }
  af->tmp = tmpl;
  af->path = txf_xstrdup(path);
  return 0;
}

static void afile_free(txf_afile *af) {
  free(af->tmp);
  free(af->path);
  af->tmp = af->path = NULL;
  af->fp = NULL;
}

int txf_afile_commit(txf_afile *af, txf_err *err) {
  int rc = 0;
  if (fflush(af->fp) != 0 || ferror(af->fp))
    rc = txf_err_errno(err, TXF_EIO, "write %s", af->path);
  else if (af->defer_sync) /* the disk starts now; the caller waits */
    (void)sync_file_range(fileno(af->fp), 0, 0, SYNC_FILE_RANGE_WRITE);
  else if (fsync(fileno(af->fp)) != 0)
    rc = txf_err_errno(err, TXF_EIO, "fsync %s", af->path);
  if (fclose(af->fp) != 0 && !rc)
    rc = txf_err_errno(err, TXF_EIO, "close %s", af->path);
  af->fp = NULL;
  /* Deferred: the caller's sync makes the name durable with the bytes
   * (a syncfs commits the directory too). A directory fsync here waits
   * for a journal commit that, on ext4 (data=ordered), first writes every
   * block of the new file: 80 ms for a 270 MB partition, on the thread
   * that bounds clean's partitions phase. */
  if (!rc && af->defer_sync && rename(af->tmp, af->path) != 0)
    rc = txf_err_errno(err, TXF_EIO, "rename %s -> %s", af->tmp, af->path);
  else if (!rc && !af->defer_sync)
    rc = txf_fs_rename(af->tmp, af->path, 0, err);
  if (rc)
    unlink(af->tmp);
  afile_free(af);
  return rc;
}

void txf_afile_abort(txf_afile *af) {
  if (af->fp)
    fclose(af->fp);
  if (af->tmp)
    unlink(af->tmp);
  afile_free(af);
}

int txf_fs_write_atomic(const char *path, const void *data, size_t len,
                        txf_err *err) {
  txf_afile af;
  int rc = txf_afile_open(&af, path, err);
  if (rc)
    return rc;
  if (len && fwrite(data, 1, len, af.fp) != len) {
    rc = txf_err_errno(err, TXF_EIO, "write %s", path);
    txf_afile_abort(&af);
    return rc;
  }
  return txf_afile_commit(&af, err);
}

static int sync_parents(const char *a, const char *b, txf_err *err) {
  char *da = dir_of(a), *db = dir_of(b);
  int rc = txf_fs_fsync_dir(db, err);
  if (!rc && strcmp(da, db) != 0)
    rc = txf_fs_fsync_dir(da, err);
  free(da);
  free(db);
  return rc;
}

int txf_fs_rename(const char *from, const char *to, int noreplace,
                  txf_err *err) {
  int r = noreplace ? renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE)
                    : rename(from, to);
  if (r != 0) {
    if (errno == EEXIST || errno == ENOTEMPTY)
      return txf_err_set(err, TXF_EEXIST, "%s already exists", to);
    return txf_err_errno(err, TXF_EIO, "rename %s -> %s", from, to);
  }
  return sync_parents(from, to, err);
}

int txf_fs_exchange(const char *a, const char *b, txf_err *err) {
  if (renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0)
    return txf_err_errno(err, TXF_EIO, "exchange %s <-> %s", a, b);
  return sync_parents(a, b, err);
}

static int rmtree_at(int at, const char *name, const char *shown,
                     txf_err *err) {
  if (unlinkat(at, name, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR && errno != EPERM)
    return txf_err_errno(err, TXF_EIO, "cannot remove %s", shown);
  int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                   O_CLOEXEC);
  if (fd < 0)
    return txf_err_errno(err, TXF_EIO, "cannot open %s", shown);
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return txf_err_errno(err, TXF_EIO, "cannot read %s", shown);
  }
  int rc = 0;
  struct dirent *de;
  while (!rc && (de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    rc = rmtree_at(dirfd(d), de->d_name, shown, err);
  }
  closedir(d);
  if (!rc && unlinkat(at, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
    rc = txf_err_errno(err, TXF_EIO, "cannot remove %s", shown);
  return rc;
}

int txf_fs_rmtree(const char *path, txf_err *err) {
  return rmtree_at(AT_FDCWD, path, path, err);
}

int txf_fs_mkdtemp_in(char **out, const char *dir, const char *prefix,
                      txf_err *err) {
  char *tmpl = txf_xasprintf("%s/.%s.tmp-XXXXXX", dir, prefix);
  if (!mkdtemp(tmpl)) {
    int rc = txf_err_errno(err, TXF_EIO, "cannot create temp dir in %s", dir);
    free(tmpl);
    *out = NULL;
    return rc;
  }
  chmod(tmpl, 0755);
  *out = tmpl;
  return 0;
}

int txf_fs_max_numbered(const char *dir, const char *prefix, int64_t *max,
                        txf_err *err) {
  *max = 0;
  char **names;
  size_t n;
  int rc = txf_fs_list(dir, "", &names, &n, err);
  size_t pl = strlen(prefix);
  for (size_t i = 0; i < n; i++) {
    const char *d = names[i] + pl;
    if (!rc && !strncmp(names[i], prefix, pl) && *d &&
        strspn(d, "0123456789") == strlen(d)) {
      int64_t v = strtoll(d, NULL, 10);
      if (v > *max)
        *max = v;
    }
    free(names[i]);
  }
  free(names);
  return rc;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int txf_fs_list(const char *dir, const char *suffix, char ***names, size_t *n,
                txf_err *err) {
  *names = NULL;
  *n = 0;
  DIR *d = opendir(dir);
  if (!d)
    return errno == ENOENT ? 0
                           : txf_err_errno(err, TXF_EIO, "%s: cannot list",
                                           dir);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || !txf_str_has_suffix(e->d_name, suffix))
      continue;
    *names = txf_xrealloc(*names, (*n + 1) * sizeof **names);
    (*names)[(*n)++] = txf_xstrdup(e->d_name);
  }
  closedir(d);
  if (*n)
    qsort(*names, *n, sizeof **names, cmp_name);
  return 0;
}
