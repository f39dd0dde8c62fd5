#include "../../lib/unit.h"
#include "util/util.h"
#include <stdlib.h>
#include <sys/stat.h>

TEST(sha256_known_vectors) {
  char hex[65];
  txf_sha256_hex("", 0, hex);
  ASSERT_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  txf_sha256_hex("abc", 3, hex);
  ASSERT_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  unit_write_file(unit_path("f"), "abc");
  uint64_t size;
  txf_err err;
  ASSERT_OK(txf_sha256_file(unit_path("f"), hex, &size, &err), &err);
  ASSERT_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  ASSERT_EQ_U64(size, 3);
  ASSERT(txf_sha256_file(unit_path("missing"), hex, NULL, &err) == TXF_EIO);
}

TEST(fs_write_atomic_and_read) {
  txf_err err;
  const char *p = unit_path("a/b/c/file.txt");
  ASSERT_OK(txf_fs_mkdirs(unit_path("a/b/c"), &err), &err);
  ASSERT_OK(txf_fs_write_atomic(p, "one", 3, &err), &err);
  ASSERT_OK(txf_fs_write_atomic(p, "two!", 4, &err), &err);
  txf_buf b;
  txf_buf_init(&b, 0);
  ASSERT_OK(txf_fs_read_file(p, &b, &err), &err);
  ASSERT_EQ_STR(b.data, "two!");
  txf_buf_release(&b);
  txf_buf_init(&b, 2);
  ASSERT(txf_fs_read_file(p, &b, &err) == TXF_ETOOBIG);
  txf_buf_release(&b);
  /* No temp files are left behind. */
  ASSERT_OK(txf_fs_rmtree(unit_path("a/b/c/file.txt"), &err), &err);
  ASSERT_OK(txf_fs_rmtree(unit_path("a/b/c"), &err), &err);
  ASSERT(!txf_fs_exists(unit_path("a/b/c")));
}

TEST(fs_mkdirs_parent_makes_the_directory_of_a_path) {
  txf_err err;
  ASSERT_OK(txf_fs_mkdirs_parent(unit_path("p/q/file.db"), &err), &err);
  ASSERT(txf_fs_is_dir(unit_path("p/q")));
  ASSERT(!txf_fs_exists(unit_path("p/q/file.db")));
  /* A bare name, or one right under /, needs no directory. */
  ASSERT_OK(txf_fs_mkdirs_parent("file.db", &err), &err);
  ASSERT_OK(txf_fs_mkdirs_parent("/file.db", &err), &err);
  unit_write_file(unit_path("plain"), "x");
  ASSERT(txf_fs_mkdirs_parent(unit_path("plain/file.db"), &err) == TXF_EIO);
}

TEST(fs_afile_abort_leaves_nothing) {
  txf_err err;
  txf_afile af;
  ASSERT_OK(txf_afile_open(&af, unit_path("x.csv"), &err), &err);
  fputs("partial", af.fp);
  char *tmp = txf_xstrdup(af.tmp);
  txf_afile_abort(&af);
  ASSERT(!txf_fs_exists(tmp));
  ASSERT(!txf_fs_exists(unit_path("x.csv")));
  free(tmp);
}

/* Committed, deferred or not: the bytes under the final name, no temp
 * file left (a deferred commit leaves the fsyncs to the caller). */
TEST(fs_afile_commit_puts_the_file_in_place) {
  txf_err err;
  for (int defer = 0; defer < 2; defer++) {
    const char *path = unit_path(defer ? "deferred.csv" : "synced.csv");
    txf_afile af;
    ASSERT_OK(txf_afile_open(&af, path, &err), &err);
    af.defer_sync = defer;
    fputs("a,b\n1,2\n", af.fp);
    char *tmp = txf_xstrdup(af.tmp);
    ASSERT_OK(txf_afile_commit(&af, &err), &err);
    ASSERT(!txf_fs_exists(tmp));
    txf_buf b;
    txf_buf_init(&b, 0);
    ASSERT_OK(txf_fs_read_file(path, &b, &err), &err);
    ASSERT_EQ_STR(b.data, "a,b\n1,2\n");
    txf_buf_release(&b);
    free(tmp);
  }
}

TEST(fs_exchange_swaps_directories) {
  txf_err err;
  ASSERT_OK(txf_fs_mkdirs(unit_path("old"), &err), &err);
  ASSERT_OK(txf_fs_mkdirs(unit_path("new"), &err), &err);
  unit_write_file(unit_path("old/v"), "1");
  unit_write_file(unit_path("new/v"), "2");
  ASSERT_OK(txf_fs_exchange(unit_path("old"), unit_path("new"), &err), &err);
  txf_buf b;
  txf_buf_init(&b, 0);
  ASSERT_OK(txf_fs_read_file(unit_path("old/v"), &b, &err), &err);
  ASSERT_EQ_STR(b.data, "2");
  txf_buf_release(&b);
  ASSERT(txf_fs_rename(unit_path("old"), unit_path("new"), 1, &err) ==
         TXF_EEXIST);
  ASSERT_OK(txf_fs_rmtree(unit_path("new"), &err), &err);
  ASSERT_OK(txf_fs_rename(unit_path("old"), unit_path("new"), 1, &err), &err);
  ASSERT(txf_fs_is_dir(unit_path("new")));
  char *t;
  ASSERT_OK(txf_fs_mkdtemp_in(&t, unit_tmpdir(), "batch", &err), &err);
  ASSERT(txf_fs_is_dir(t));
  free(t);
}

TEST(path_join_and_abs) {
  char *p = txf_path_join("a/", "b");
  ASSERT_EQ_STR(p, "a/b");
  free(p);
  p = txf_path_join("a", "/abs");
  ASSERT_EQ_STR(p, "/abs");
  free(p);
  p = txf_path_abs("/base", "rel");
  ASSERT_EQ_STR(p, "/base/rel");
  free(p);
}
