/* Cross-process locks with flock(2).
 *
 * Why flock and not a pid file: the kernel drops a flock when the last
 * descriptor of the open file goes away, so a run killed with -9 (or a
 * machine that reboots) never leaves a lock behind, and no pid check can
 * race with pid reuse. "Stale-lock takeover" is then simply taking the lock.
 * The descriptor is close-on-exec so task children do not inherit it (a
 * task orphaned by a crashed runner must not keep its date locked). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "orchestrate/orchestrate.h"

char *txf_lock_date_path(const char *data_dir, txf_date d) {
  char ds[11];
  txf_date_format(d, ds);
  return txf_xasprintf("%s/locks/run-%s.lock", data_dir, ds);
}

char *txf_lock_lake_path(const char *data_dir) {
  return txf_xasprintf("%s/locks/lake.lock", data_dir);
}

int txf_lock_try(txf_lock *l, const char *path, txf_err *err) {
  l->fd = -1;
  l->path = NULL;
  char *dir = txf_xstrdup(path);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = '\0';
    int rc = txf_fs_mkdirs(dir, err);
    if (rc) {
      free(dir);
      return rc;
    }
  }
  free(dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return txf_err_errno(err, TXF_EIO, "%s: cannot open lock file", path);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    if (e == EWOULDBLOCK) {
      char buf[32] = {0};
      ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
      close(fd);
      long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
      if (pid > 0)
        return txf_err_set(err, TXF_ELOCKED, "%s is held by pid %ld", path,
                           pid);
      return txf_err_set(err, TXF_ELOCKED, "%s is held by another process",
                         path);
    }
    close(fd);
    errno = e;
    return txf_err_errno(err, TXF_EIO, "%s: flock", path);
  }
  /* Ours now: record who holds it, for the messages of those who wait. */
  char buf[32];
  int len = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)len, 0) != len) {
    /* The lock holds regardless; the pid is only for messages. */
  }
  l->fd = fd;
  l->path = txf_xstrdup(path);
  return 0;
}

void txf_lock_release(txf_lock *l) {
  if (l->fd >= 0) {
    /* Leave the file: unlinking it would let a waiter lock a dead inode
     * while a newcomer locks a fresh one. */
    if (ftruncate(l->fd, 0) != 0) { /* cosmetic */ }
    close(l->fd);
  }
  l->fd = -1;
  free(l->path);
  l->path = NULL;
}
