/* The commit's journal: an apply that fails part-way is undone, so the
 * lake is the previous state or the new one, never a mix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/unit.h"
#include "clean/internal.h"

static void put(const char *dir, const char *rel, const char *text) {
  char *p = txf_path_join(dir, rel);
  char *d = txf_xstrdup(p);
  *strrchr(d, '/') = '\0';
  txf_err err;
  ASSERT_OK(txf_fs_mkdirs(d, &err), &err);
  unit_write_file(p, text);
  free(d);
  free(p);
}

/* The content of DIR/REL, or "-" when it does not exist (static). */
static const char *get(const char *dir, const char *rel) {
  static char out[4][64];
  static int k;
  char *p = txf_path_join(dir, rel);
  char *o = out[k++ % 4];
  FILE *fp = fopen(p, "rb");
  free(p);
  if (!fp)
    return "-";
  size_t n = fread(o, 1, 63, fp);
  o[n] = '\0';
  fclose(fp);
  return o;
}

/* Make DIR refuse new entries: immutable for root (whom modes do not
 * stop), read-only for others. 0 if this file system cannot. */
static int lock_dir(const char *dir, int on) {
  char cmd[4200];
  if (geteuid() == 0)
    snprintf(cmd, sizeof cmd, "chattr %ci '%s' 2>/dev/null", on ? '+' : '-',
             dir);
  else
    snprintf(cmd, sizeof cmd, "chmod %s '%s'", on ? "a-w" : "u+w", dir);
  return system(cmd) == 0;
}

static int there(const char *dir, const char *rel) {
  char *p = txf_path_join(dir, rel);
  int e = txf_fs_exists(p);
  free(p);
  return e;
}

TEST(journal_apply_that_fails_midway_is_undone_and_kept) {
  const char *d = unit_tmpdir();
  txf_err err;
  put(d, "silver/a/part", "A0");
  put(d, "silver/b/part", "B0");
  put(d, "silver/c/part", "C0");
  put(d, ".clean/staging/a", "A1");
  put(d, ".clean/staging/b", "B1");
  put(d, ".clean/staging/n", "N1");
  jop ops[] = {{".clean/staging/a", "silver/a/part"},
               {NULL, "silver/c/part"},
               {".clean/staging/n", "silver/n/part"},
               {".clean/staging/b", "silver/b/part"}};
  ASSERT_OK(txf_clean_journal_check(d, ops, 4, &err), &err);
  ASSERT_OK(txf_clean_journal_write(d, "run-1", ops, 4, "null", &err), &err);
  char *bdir = txf_path_join(d, "silver/b");
  if (!lock_dir(bdir, 1)) {
    free(bdir);
    return; /* no way to make a directory refuse here */
  }
  /* The check before the commit point sees it... */
  int rc = txf_clean_journal_check(d, ops, 4, &err);
  ASSERT_EQ_I64(rc, TXF_EIO);
  ASSERT_CONTAINS(err.msg, "silver/b");
  /* ...and an apply that meets it anyway (the directory changed after the
   * check) undoes what it did. */
  int applied = 0;
  rc = txf_clean_journal_finish(d, NULL, NULL, &applied, &err);
  ASSERT(rc != 0);
  ASSERT_CONTAINS(err.msg, "undone");
  ASSERT_EQ_STR(get(d, "silver/a/part"), "A0");
  ASSERT_EQ_STR(get(d, "silver/b/part"), "B0");
  ASSERT_EQ_STR(get(d, "silver/c/part"), "C0");
  ASSERT_EQ_STR(get(d, "silver/n/part"), "-");
  ASSERT(there(d, ".clean/journal.json"));
  /* Fixed: the next attempt applies it whole. */
  ASSERT(lock_dir(bdir, 0));
  free(bdir);
  ASSERT_OK(txf_clean_journal_finish(d, NULL, NULL, &applied, &err), &err);
  ASSERT_EQ_I64(applied, 1);
  ASSERT_EQ_STR(get(d, "silver/a/part"), "A1");
  ASSERT_EQ_STR(get(d, "silver/b/part"), "B1");
  ASSERT_EQ_STR(get(d, "silver/c/part"), "-");
  ASSERT_EQ_STR(get(d, "silver/n/part"), "N1");
  ASSERT(!there(d, ".clean/undo"));
  ASSERT(!there(d, ".clean/journal.json"));
}
