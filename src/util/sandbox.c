/* A kernel guard for read-only work: Landlock (Linux 5.13 and later; TCP
 * rules from 6.7). Used by `txnflow sql` without --write, so that even
 * what DuckDB's own settings miss cannot write a file or open a
 * connection. The kernel's ABI numbers and flags are spelled out here
 * because the installed headers may be older than the kernel. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/util.h"

#if defined(__linux__) && defined(SYS_landlock_create_ruleset)

/* include/uapi/linux/landlock.h */
struct ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net; /* ABI 4 */
  uint64_t scoped;             /* ABI 6 */
};
struct path_beneath_attr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));
#define RULESET_VERSION (1U << 0)
#define RULE_PATH_BENEATH 1
#define FS_WRITE_FILE (1ULL << 1)
#define FS_REMOVE_DIR (1ULL << 4)
#define FS_REMOVE_FILE (1ULL << 5)
#define FS_MAKE_CHAR (1ULL << 6)
#define FS_MAKE_DIR (1ULL << 7)
#define FS_MAKE_REG (1ULL << 8)
#define FS_MAKE_SOCK (1ULL << 9)
#define FS_MAKE_FIFO (1ULL << 10)
#define FS_MAKE_BLOCK (1ULL << 11)
#define FS_MAKE_SYM (1ULL << 12)
#define FS_REFER (1ULL << 13)    /* ABI 2 */
#define FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#define NET_BIND_TCP (1ULL << 0)
#define NET_CONNECT_TCP (1ULL << 1)
#define SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)

int txf_sandbox_enter(const char *writable_dir, txf_err *err) {
  long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, RULESET_VERSION);
  if (abi < 1)
    return txf_err_set(err, TXF_EUNSUPPORTED, "the kernel has no Landlock (%s)",
                       strerror(errno));
  /* Reading and executing stay allowed; every way of changing the file
   * system the ABI knows is handled, hence denied but beneath
   * WRITABLE_DIR. */
  uint64_t fs = FS_WRITE_FILE | FS_REMOVE_DIR | FS_REMOVE_FILE | FS_MAKE_CHAR |
                FS_MAKE_DIR | FS_MAKE_REG | FS_MAKE_SOCK | FS_MAKE_FIFO |
                FS_MAKE_BLOCK | FS_MAKE_SYM;
  if (abi >= 2)
    fs |= FS_REFER;
  if (abi >= 3)
    fs |= FS_TRUNCATE;
  struct ruleset_attr attr = {fs, 0, 0};
  size_t size = offsetof(struct ruleset_attr, handled_access_net);
  if (abi >= 4) {
    attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP;
    size = offsetof(struct ruleset_attr, scoped);
  }
  if (abi >= 6) {
    attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET;
    size = sizeof attr;
  }
  int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
  if (rs < 0)
    return txf_err_errno(err, TXF_EIO, "landlock: cannot create a ruleset");
  int rc = 0;
  if (writable_dir) {
    int dfd = open(writable_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct path_beneath_attr pb = {fs, dfd};
    if (dfd < 0 ||
        syscall(SYS_landlock_add_rule, rs, RULE_PATH_BENEATH, &pb, 0) != 0)
      rc = txf_err_errno(err, TXF_EIO, "landlock: %s", writable_dir);
    if (dfd >= 0)
      close(dfd);
  }
  /* Both calls act on the calling thread only (and what it starts). */
  if (!rc && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    rc = txf_err_errno(err, TXF_EIO, "prctl(PR_SET_NO_NEW_PRIVS)");
  if (!rc && syscall(SYS_landlock_restrict_self, rs, 0) != 0)
    rc = txf_err_errno(err, TXF_EIO, "landlock: cannot restrict");
  close(rs);
  return rc;
}

#else

int txf_sandbox_enter(const char *writable_dir, txf_err *err) {
  (void)writable_dir;
  return txf_err_set(err, TXF_EUNSUPPORTED, "no Landlock on this system");
}

#endif
