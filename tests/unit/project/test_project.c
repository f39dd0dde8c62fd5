#include "../../lib/unit.h"
#include "project/project.h"
#include <stdlib.h>

static const char good_yml[] =
    "name: cards\n"
    "timezone: Asia/Seoul\n"
    "data_dir: lake\n"
    "feed:\n"
    "  kind: synthetic\n"
    "  rows: 1000\n"
    "  seed: 7\n"
    "schedule: \"0 6 * * *\"\n"
    "sla: \"08:00\"\n"
    "start_date: 2025-09-01\n"
    "catchup: false\n"
    "vars: {a: [1, 2, {b: c}]}\n";

TEST(project_load_reads_every_key) {
  unit_write_file(unit_path("txnflow.yml"), good_yml);
  txf_project *p;
  txf_err err;
  ASSERT_OK(txf_project_load(&p, unit_tmpdir(), &err), &err);
  ASSERT_EQ_STR(p->name, "cards");
  ASSERT_EQ_STR(p->timezone, "Asia/Seoul");
  ASSERT(txf_str_has_suffix(p->data_dir, "/lake"));
  ASSERT(p->data_dir[0] == '/');
  ASSERT_EQ_STR(p->feed, "synthetic");
  ASSERT_EQ_I64(p->feed_rows, 1000);
  ASSERT_EQ_I64(p->feed_seed, 7);
  ASSERT_EQ_STR(p->sla, "08:00");
  ASSERT_EQ_STR(p->start_date, "2025-09-01");
  ASSERT_EQ_I64(p->catchup, 0);
  const txf_yaml_node *v = txf_yaml_path(txf_yaml_root(p->doc), "vars.a");
  ASSERT(v && txf_yaml_kind(v) == TXF_YAML_SEQ && txf_yaml_len(v) == 3);
  ASSERT_EQ_STR(txf_yaml_str(txf_yaml_get(txf_yaml_at(v, 2), "b")), "c");
  txf_project_free(p);
}

static void expect_error(const char *yml, const char *want) {
  unit_write_file(unit_path("txnflow.yml"), yml);
  txf_project *p = NULL;
  txf_err err;
  txf_err_clear(&err);
  int rc = txf_project_load(&p, unit_tmpdir(), &err);
  if (rc != TXF_ECONFIG)
    unit_fail(__FILE__, __LINE__, "want config error '%s', got %d: %s", want,
              rc, err.msg);
  ASSERT(p == NULL);
  ASSERT_CONTAINS(err.msg, "txnflow.yml:");
  ASSERT_CONTAINS(err.msg, want);
}

TEST(project_errors_name_file_line_and_key) {
  expect_error("name: x\ntimzone: UTC\n",
               "txnflow.yml:2:1: unknown key 'timzone' in the top level (did "
               "you mean 'timezone'?)");
  expect_error("name: x\ntimezone: Mars/Base\n",
               ":2:11: key 'timezone': unknown time zone 'Mars/Base'");
  expect_error("catchup: maybe\n", ":1:10: key 'catchup': expected true or "
                                   "false, got 'maybe'");
  expect_error("sla: 25:00\n", "key 'sla': expected HH:MM");
  expect_error("start_date: 2025-02-30\n", "key 'start_date'");
  expect_error("feed:\n  kind: synthetic\n  rows: lots\n",
               ":3:9: key 'rows': expected an integer, got 'lots'");
  expect_error("feed:\n  kindd: landed\n", "unknown key 'kindd' in feed");
  expect_error("feed: ftp\n", "expected 'synthetic' or 'landed'");
  expect_error("name: [unclosed\n", "txnflow.yml:2:1:");
  expect_error("a: 1\na: 2\n", "duplicate key 'a'");
  expect_error("x: &anchor 1\ny: *anchor\n", "anchors are not supported");
  expect_error("- just\n- a list\n", "expected a map");
  expect_error("name: {a: 1}\n", "key 'name': expected a string, got a map");
}

TEST(project_missing_is_not_found) {
  txf_project *p;
  txf_err err;
  ASSERT(txf_project_load(&p, unit_tmpdir(), &err) == TXF_ENOTFOUND);
  ASSERT_CONTAINS(err.msg, "no txnflow.yml");
}

TEST(project_init_scaffolds_a_loadable_project) {
  txf_err err;
  const char *dir = unit_path("My-Cards");
  ASSERT_OK(txf_project_init(dir, NULL, &err), &err);
  ASSERT(txf_fs_is_dir(unit_path("My-Cards/models")));
  ASSERT(txf_fs_is_dir(unit_path("My-Cards/seeds")));
  ASSERT(txf_fs_is_dir(unit_path("My-Cards/tests")));
  ASSERT(txf_fs_exists(unit_path("My-Cards/profiles.yml")));
  txf_project *p;
  ASSERT_OK(txf_project_load(&p, dir, &err), &err);
  ASSERT_EQ_STR(p->name, "my_cards");
  ASSERT_EQ_STR(p->timezone, "Asia/Seoul");
  ASSERT(txf_str_has_suffix(p->data_dir, "/My-Cards/data"));
  ASSERT_EQ_STR(p->feed, "synthetic");
  txf_project_free(p);
  txf_yaml_doc *prof;
  ASSERT_OK(txf_yaml_load_file(&prof, unit_path("My-Cards/profiles.yml"), &err),
            &err);
  ASSERT_EQ_STR(txf_yaml_str(txf_yaml_path(txf_yaml_root(prof),
                                           "my_cards.outputs.dev.type")),
                "duckdb");
  txf_yaml_free(prof);
  /* A second init into a non-empty dir refuses and changes nothing. */
  ASSERT(txf_project_init(dir, NULL, &err) == TXF_EEXIST);
}

/* Mutate a valid file thousands of ways; the loader must either load it or
 * return a config error, never crash (this runs under ASan/UBSan). */
TEST(project_loader_survives_mutations) {
  size_t n = sizeof good_yml - 1;
  char *buf = malloc(n + 64);
  uint64_t x = 0x9e3779b97f4a7c15u;
  const char specials[] = ":-[]{}&*!|>'\"%@`#,?\n\t \\";
  int loaded = 0, rejected = 0;
  for (int iter = 0; iter < 3000; iter++) {
    memcpy(buf, good_yml, n);
    size_t len = n;
    int edits = 1 + iter % 4;
    for (int e = 0; e < edits; e++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      size_t pos = (size_t)(x % len);
      switch ((x >> 32) % 4) {
      case 0:
        buf[pos] = specials[(x >> 40) % (sizeof specials - 1)];
        break;
      case 1:
        buf[pos] = (char)(x >> 48);
        break;
      case 2:
        len = pos ? pos : 1; /* truncate */
        break;
      default:
        memmove(buf + pos + 1, buf + pos, len - pos);
        buf[pos] = specials[(x >> 40) % (sizeof specials - 1)];
        len++;
        break;
      }
    }
    FILE *f = fopen(unit_path("txnflow.yml"), "wb");
    fwrite(buf, 1, len, f);
    fclose(f);
    txf_project *p = NULL;
    txf_err err;
    int rc = txf_project_load(&p, unit_tmpdir(), &err);
    if (rc == 0) {
      loaded++;
      txf_project_free(p);
    } else {
      if (rc != TXF_ECONFIG)
        unit_fail(__FILE__, __LINE__, "rc %d: %s", rc, err.msg);
      ASSERT_CONTAINS(err.msg, "txnflow.yml:");
      rejected++;
    }
  }
  free(buf);
  ASSERT(loaded > 0 && rejected > 0);
}
