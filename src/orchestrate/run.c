/* The task runner: one attempt = one child process in its own process
 * group, output to its log file, with a timeout that kills the group. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "orchestrate/orchestrate.h"

/* How long a group gets between SIGTERM and SIGKILL. */
#define KILL_GRACE_US (2 * TXF_US_PER_S)

extern char **environ;

int txf_attempt_start(txf_attempt *a, const char *const *argv,
                      const char *const *env, const char *cwd,
                      const char *log_path, int64_t timeout_us,
                      txf_err *err) {
  memset(a, 0, sizeof *a);
  a->pid = -1;
  char *dir = txf_xstrdup(log_path);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = '\0';
  int rc = slash ? txf_fs_mkdirs(dir, err) : 0;
  free(dir);
  if (rc)
    return rc;
  int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    return txf_err_errno(err, TXF_EIO, "%s: cannot open log", log_path);
  /* Build the child's environment before fork: no allocation after. */
  size_t n_env = 0, n_extra = 0;
  while (environ[n_env])
    n_env++;
  while (env && env[n_extra])
    n_extra++;
  char **envp = txf_xcalloc(n_env + n_extra + 1, sizeof *envp);
  size_t k = 0;
  for (size_t i = 0; i < n_extra; i++)
    envp[k++] = (char *)env[i];
  for (size_t i = 0; i < n_env; i++) {
    /* An extra variable replaces the inherited one of the same name. */
    const char *eq = strchr(environ[i], '=');
    size_t nl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
    int dup = 0;
    for (size_t j = 0; j < n_extra && !dup; j++)
      dup = !strncmp(env[j], environ[i], nl) && env[j][nl] == '=';
    if (!dup)
      envp[k++] = environ[i];
  }
  envp[k] = NULL;
  pid_t parent = getpid();
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    rc = txf_err_errno(err, TXF_EIO, "fork");
    close(fd);
    free(envp);
    return rc;
  }
  if (pid == 0) {
    /* Own process group, so a timeout can kill the task and everything it
     * started; SIGKILL if the runner dies, so a crashed runner leaves no
     * task behind to race with the retry. */
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(127);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
      dup2(devnull, 0);
      if (devnull != 0)
        close(devnull);
    }
    dup2(fd, 1);
    dup2(fd, 2);
    if (cwd && chdir(cwd) != 0) {
      dprintf(2, "txnflow: cannot change to %s: %s\n", cwd, strerror(errno));
      _exit(127);
    }
    execve(argv[0], (char *const *)argv, envp);
    dprintf(2, "txnflow: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid); /* also in the parent: no race with an early kill */
  close(fd);
  free(envp);
  a->pid = pid;
  a->start_mono_us = txf_mono_us();
  a->deadline_mono_us = timeout_us > 0 ? a->start_mono_us + timeout_us : 0;
  return 0;
}

int txf_attempt_poll(txf_attempt *a) {
  if (a->done)
    return 1;
  int st;
  struct rusage ru;
  pid_t r = wait4(a->pid, &st, WNOHANG, &ru);
  if (r == a->pid) {
    a->status = st;
    a->done = 1;
    a->max_rss_kb = ru.ru_maxrss;
    a->cpu_us = (int64_t)ru.ru_utime.tv_sec * TXF_US_PER_S + ru.ru_utime.tv_usec +
                (int64_t)ru.ru_stime.tv_sec * TXF_US_PER_S + ru.ru_stime.tv_usec;
    /* The leader is gone; anything it left in its group goes too. */
    kill(-a->pid, SIGKILL);
    return 1;
  }
  if (r < 0 && errno == ECHILD) {
    a->status = 0x7f00; /* unknown: report as failure */
    a->done = 1;
    return 1;
  }
  int64_t now = txf_mono_us();
  if (a->deadline_mono_us && now >= a->deadline_mono_us && !a->timed_out) {
    a->timed_out = 1;
    kill(-a->pid, SIGTERM);
    a->kill_at_mono_us = now + KILL_GRACE_US;
  } else if (a->kill_at_mono_us && now >= a->kill_at_mono_us) {
    kill(-a->pid, SIGKILL);
    a->kill_at_mono_us = 0;
  }
  return 0;
}

void txf_attempt_kill(txf_attempt *a) {
  if (a->done || a->pid <= 0)
    return;
  kill(-a->pid, SIGTERM);
  int64_t until = txf_mono_us() + KILL_GRACE_US;
  while (!txf_attempt_poll(a)) {
    if (txf_mono_us() >= until) {
      kill(-a->pid, SIGKILL);
      until = INT64_MAX;
    }
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

int txf_attempt_outcome(const txf_attempt *a, int64_t timeout_us, char *out,
                        size_t n) {
  char d[32];
  if (a->timed_out) {
    snprintf(out, n, "timed out after %s", txf_duration_format(timeout_us, d));
    return 0;
  }
  if (WIFEXITED(a->status)) {
    int code = WEXITSTATUS(a->status);
    if (code == 0) {
      snprintf(out, n, "exit 0");
      return 1;
    }
    snprintf(out, n, "exit %d", code);
    return 0;
  }
  if (WIFSIGNALED(a->status)) {
    snprintf(out, n, "killed by signal %d (%s)", WTERMSIG(a->status),
             strsignal(WTERMSIG(a->status)));
    return 0;
  }
  snprintf(out, n, "ended abnormally (status %d)", a->status);
  return 0;
}

int txf_attempt_permanent(const txf_attempt *a) {
  if (a->timed_out || !WIFEXITED(a->status))
    return 0;
  int code = WEXITSTATUS(a->status);
  return code == TXF_EXIT_USAGE || code == TXF_EXIT_PERMANENT;
}

/* LINE (LEN bytes, no newline) reports an error: "…: error: …" (a
 * command's failure, a logged error), or a models line whose verdict is
 * ERROR or FAIL ("  ERROR  table  model x …", "  3 of 18 ERROR …"). */
static int error_line(const char *line, size_t len) {
  if (memmem(line, len, "error: ", 7))
    return 1;
  size_t i = 0;
  while (i < len && line[i] == ' ')
    i++;
  /* a progress prefix: "N of M " */
  size_t j = i;
  while (j < len && line[j] >= '0' && line[j] <= '9')
    j++;
  if (j > i && j + 4 <= len && !memcmp(line + j, " of ", 4)) {
    j += 4;
    while (j < len && line[j] >= '0' && line[j] <= '9')
      j++;
    while (j < len && line[j] == ' ')
      j++;
    i = j;
  }
  return (len - i >= 6 && !memcmp(line + i, "ERROR ", 6)) ||
         (len - i >= 5 && !memcmp(line + i, "FAIL ", 5));
}

/* LINE (LEN bytes) into OUT as the attempt's error: after "error: " when
 * it has one, blanks squeezed, cut to N - 1 bytes. */
static void tidy(const char *line, size_t len, char *out, size_t n) {
  const char *e = memmem(line, len, "error: ", 7);
  if (e) {
    len -= (size_t)(e + 7 - line);
    line = e + 7;
  }
  size_t o = 0;
  int blank = 1; /* drop leading blanks */
  for (size_t i = 0; i < len && o + 1 < n; i++) {
    char c = line[i] == '\t' ? ' ' : line[i];
    if (c == ' ' && blank)
      continue;
    blank = c == ' ';
    out[o++] = c;
  }
  while (o > 0 && out[o - 1] == ' ')
    o--;
  out[o] = '\0';
}

void txf_attempt_error_line(const char *log_path, char *out, size_t n) {
  out[0] = '\0';
  txf_buf b;
  txf_buf_init(&b, 64u << 20);
  txf_err err;
  if (!log_path || txf_fs_read_file(log_path, &b, &err) || !b.data) {
    txf_buf_release(&b);
    return;
  }
  const char *last = NULL;
  size_t last_len = 0;
  for (const char *p = b.data, *end = b.data + b.len; p < end;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (len && p[len - 1] == '\r')
      len--;
    /* the executor's own lines: the header, a timeout note */
    if (len >= 10 && !memcmp(p, "# txnflow:", 10)) {
      /* skip */
    } else if (error_line(p, len)) {
      tidy(p, len, out, n);
      txf_buf_release(&b);
      return;
    } else if (len) {
      last = p;
      last_len = len;
    }
    p = nl ? nl + 1 : end;
  }
  if (last)
    tidy(last, last_len, out, n);
  txf_buf_release(&b);
}

char *txf_attempt_log_report(const char *log_path, const char *key) {
  txf_buf b;
  txf_buf_init(&b, 64u << 20);
  txf_err err;
  char *out = NULL;
  if (log_path && txf_fs_read_file(log_path, &b, &err) == 0 && b.data) {
    for (size_t i = 0; i < b.len && !out; i++) {
      if (b.data[i] != '{' || (i > 0 && b.data[i - 1] != '\n'))
        continue;
      json_t *j =
          json_loadb(b.data + i, b.len - i, JSON_DISABLE_EOF_CHECK, NULL);
      if (json_is_object(j) && json_object_get(j, key))
        out = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
      json_decref(j);
    }
  }
  txf_buf_release(&b);
  return out;
}
