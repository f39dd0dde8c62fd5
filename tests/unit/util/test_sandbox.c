#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../lib/unit.h"
#include "util/util.h"

typedef struct probe {
  const char *inside, *outside;
  int port;
  int rc;            /* txf_sandbox_enter's */
  int wrote_inside;  /* 1: created a file beneath the writable dir */
  int outside_errno; /* creating a file elsewhere: errno (0: it worked) */
  int connect_errno; /* TCP connect to PORT: errno (0: it worked) */
} probe;

static void *run_probe(void *arg) {
  probe *p = arg;
  txf_err err;
  p->rc = txf_sandbox_enter(p->inside, &err);
  if (p->rc)
    return NULL;
  char *in = txf_path_join(p->inside, "ok.txt");
  FILE *f = fopen(in, "w");
  p->wrote_inside = f != NULL;
  if (f)
    fclose(f);
  free(in);
  f = fopen(p->outside, "w");
  p->outside_errno = f ? 0 : errno;
  if (f)
    fclose(f);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)p->port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  p->connect_errno =
      connect(s, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : errno;
  close(s);
  return NULL;
}

/* The guard of read-only sessions: beneath the writable dir files may be
 * made, elsewhere not; TCP connections fail (on kernels with Landlock's
 * network rules); the main thread is untouched. */
TEST(sandbox_denies_writes_and_connections_to_its_thread) {
  char *inside = txf_path_join(unit_tmpdir(), "spill");
  txf_err err;
  ASSERT_OK(txf_fs_mkdirs(inside, &err), &err);
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  ASSERT(bind(ls, (struct sockaddr *)&a, sizeof a) == 0);
  ASSERT(listen(ls, 4) == 0);
  ASSERT(getsockname(ls, (struct sockaddr *)&a, &al) == 0);
  probe p = {inside, unit_path("outside.txt"), ntohs(a.sin_port), 0, 0, 0, 0};
  pthread_t t;
  ASSERT(pthread_create(&t, NULL, run_probe, &p) == 0);
  pthread_join(t, NULL);
  if (p.rc == TXF_EUNSUPPORTED) {
    printf("skipped: no Landlock on this kernel\n");
  } else {
    ASSERT_EQ_I64(p.rc, 0);
    ASSERT_EQ_I64(p.wrote_inside, 1);
    ASSERT_EQ_I64(p.outside_errno, EACCES);
    ASSERT(!txf_fs_exists(unit_path("outside.txt")));
    /* ABI 4 (Linux 6.7) and later: no TCP */
    ASSERT(p.connect_errno == EACCES || p.connect_errno == 0);
  }
  /* this thread may still write */
  unit_write_file(unit_path("main.txt"), "x");
  close(ls);
  free(inside);
}
