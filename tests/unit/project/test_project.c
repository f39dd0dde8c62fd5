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
  /* a YAML syntax error names the enclosing key */
  expect_error("name: x\ntasks:\n  models:\n    retries: [1, 2\n  clean: {}\n",
               "txnflow.yml:5:8: while parsing a flow sequence did not find "
               "expected ',' or ']' (in 'tasks.models.retries')");
  expect_error("publish:\n  s3:\n    bucket: lake\n    region us-east-1\n"
               "  x: 1\n",
               ":5:3: while scanning a simple key could not find expected "
               "':' (in 'publish.s3')");
  expect_error("tasks:\n  - a\n  - b: c: d\n",
               ":3:9: mapping values are not allowed in this context (in "
               "'tasks[1]')");
  /* checked on load, not only when the scheduler starts */
  expect_error("name: x\nschedule: \"99 6 * * *\"\n",
               "txnflow.yml:2:11: key 'schedule': bad minute field '99' in "
               "'99 6 * * *'");
  expect_error("schedule: 0 6 * *\n",
               ":1:11: key 'schedule': '0 6 * *': expected 5 fields");
  expect_error("schedule: \"@dialy\"\n", ":1:11: key 'schedule': '@dialy'");
  expect_error("data_dir: \"\"\n",
               ":1:11: key 'data_dir': must not be empty");
  expect_error("name: ''\n", ":1:7: key 'name': must not be empty");
  expect_error("profile: [a]\n", ":1:10: key 'profile': expected a string");
  expect_error("profile: \"\"\n", ":1:10: key 'profile': must not be empty");
}

/* Ranges are checked on load, so every command reports them, not only
 * `run` (issue 16). */
TEST(project_checks_ranges_on_load) {
  expect_error("", "txnflow.yml:1:1: the file is empty");
  expect_error("# just a comment\n", "txnflow.yml:1:1: the file is empty");
  expect_error("retries: 99999999999999999999999\n",
               ":1:10: key 'retries': must be 0..100, got "
               "'99999999999999999999999'");
  expect_error("retries: -1\n", ":1:10: key 'retries': must be 0..100");
  expect_error("retries: 2.5\n",
               ":1:10: key 'retries': expected an integer 0..100, got '2.5'");
  expect_error("timeout: 99999999999999999d\n",
               ":1:10: key 'timeout': 99999999999999999d is out of range "
               "(at most 365d)");
  expect_error("retry_delay: -5s\n",
               ":1:14: key 'retry_delay': -5s is negative");
  expect_error("max_retry_delay: soon\n",
               ":1:18: key 'max_retry_delay': expected a duration like 30s");
  expect_error("retry_backoff: 0.5\n",
               ":1:16: key 'retry_backoff': expected a factor 1..100");
  expect_error("tasks:\n  clean:\n    retries: -1\n",
               ":3:14: key 'retries': must be 0..100");
  expect_error("tasks:\n  clean:\n    timeout: -1m\n",
               ":3:14: key 'timeout': -1m is negative");
  expect_error("feed:\n  kind: landed\n  poke_interval: 400d\n",
               ":3:18: key 'poke_interval': 400d is out of range");
  expect_error("data_dir: /nonexistent/x\n",
               ":1:11: key 'data_dir': /nonexistent does not exist (create "
               "it first, or fix the path)");
  ASSERT(!txf_fs_exists("/nonexistent"));
  /* a data dir the project will create is fine: its parent exists */
  unit_write_file(unit_path("txnflow.yml"), "data_dir: lake/x\n");
  txf_project *p = NULL;
  txf_err err;
  ASSERT(txf_project_load(&p, unit_tmpdir(), &err) == TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "key 'data_dir': ");
  ASSERT_CONTAINS(err.msg, "/lake does not exist");
  unit_write_file(unit_path("txnflow.yml"), "data_dir: lake\n");
  ASSERT_OK(txf_project_load(&p, unit_tmpdir(), &err), &err);
  txf_project_free(p);
  unit_write_file(unit_path("txnflow.yml"), "data_dir: txnflow.yml/x\n");
  ASSERT(txf_project_load(&p, unit_tmpdir(), &err) == TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "is not a directory");
}

/* The duration of "k: TEXT" (moved here with the parser, from
 * orch_duration_parse_units); returns the error code. */
static int duration_of(const char *text, int64_t *us) {
  char *yml = txf_xasprintf("k: %s\n", text);
  txf_yaml_doc *doc = NULL;
  txf_err err;
  ASSERT_OK(txf_yaml_load_string(&doc, "t.yml", yml, strlen(yml), &err), &err);
  int rc = txf_yaml_get_duration(doc, txf_yaml_root(doc), "k", -7, us, &err);
  txf_yaml_free(doc);
  free(yml);
  return rc;
}

TEST(project_duration_units) {
  int64_t us;
  ASSERT_OK(duration_of("100ms", &us), NULL);
  ASSERT_EQ_I64(us, 100000);
  ASSERT_OK(duration_of("30s", &us), NULL);
  ASSERT_EQ_I64(us, 30000000);
  ASSERT_OK(duration_of("2", &us), NULL);
  ASSERT_EQ_I64(us, 2000000);
  ASSERT_OK(duration_of("1.5m", &us), NULL);
  ASSERT_EQ_I64(us, 90000000);
  ASSERT_OK(duration_of("2h", &us), NULL);
  ASSERT_EQ_I64(us, INT64_C(7200000000));
  ASSERT_OK(duration_of("365d", &us), NULL);
  ASSERT_EQ_I64(us, TXF_YAML_MAX_DURATION_US);
  ASSERT(duration_of("\"\"", &us) != 0);
  ASSERT(duration_of("5 parsecs", &us) != 0);
  ASSERT(duration_of("-1s", &us) != 0);
  ASSERT(duration_of("10y", &us) != 0);
  ASSERT(duration_of("366d", &us) != 0);
  ASSERT(duration_of("nan", &us) != 0);
  ASSERT(duration_of("[1]", &us) != 0);
  ASSERT_OK(duration_of("~", &us), NULL); /* absent: the default */
  ASSERT_EQ_I64(us, -7);
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
  ASSERT_OK(txf_project_init(dir, NULL, 0, &err), &err);
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
  ASSERT(txf_project_init(dir, NULL, 0, &err) == TXF_EEXIST);
}

/* Copy GOOD (N bytes) into BUF (N + 64 bytes) with 1-4 random edits
 * (xorshift state *X): special characters, random bytes, truncation,
 * insertion. Returns the new length. */
static size_t mutate(char *buf, const char *good, size_t n, int iter,
                     uint64_t *xp) {
  static const char specials[] = ":-[]{}&*!|>'\"%@`#,?\n\t \\";
  uint64_t x = *xp;
  memcpy(buf, good, n);
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
  *xp = x;
  return len;
}

/* Mutate a valid file thousands of ways; the loader must either load it or
 * return a config error, never crash (this runs under ASan/UBSan). */
TEST(project_loader_survives_mutations) {
  size_t n = sizeof good_yml - 1;
  char *buf = malloc(n + 64);
  uint64_t x = 0x9e3779b97f4a7c15u;
  int loaded = 0, rejected = 0;
  for (int iter = 0; iter < 3000; iter++) {
    size_t len = mutate(buf, good_yml, n, iter, &x);
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

/* ---- profiles.yml */

static const char good_profiles[] =
    "t:\n"
    "  target: dev\n"
    "  outputs:\n"
    "    dev:\n"
    "      type: duckdb\n"
    "      path: data/warehouse.duckdb\n"
    "      schema: main\n"
    "      threads: 2\n"
    "    pg:\n"
    "      type: postgres\n"
    "      host: 127.0.0.1\n"
    "      port: 5432\n"
    "      user: txnflow\n"
    "      password: \"{{ env_var('TXNFLOW_PG_PASSWORD') }}\"\n"
    "      dbname: txnflow\n"
    "      schema: analytics\n"
    "      sslmode: verify-full\n"
    "    rs: {type: redshift, host: h, port: \"{{ env_var('RS_PORT') }}\", "
    "threads: 4, connect_timeout: 10}\n";

/* Load txnflow.yml YML and profiles.yml PROF, find output TARGET; returns
 * the rc with ERR set. *NAME gets the output's name (copied to BUF). */
static int find_output(const char *yml, const char *prof, const char *target,
                       char *name, size_t cap, txf_err *err) {
  unit_write_file(unit_path("txnflow.yml"), yml);
  unit_write_file(unit_path("profiles.yml"), prof);
  txf_err_clear(err);
  txf_project *p = NULL;
  int rc = txf_project_load(&p, unit_tmpdir(), err);
  if (rc)
    unit_fail(__FILE__, __LINE__, "txnflow.yml: %s", err->msg);
  txf_yaml_doc *doc = NULL;
  rc = txf_yaml_load_file(&doc, unit_path("profiles.yml"), err);
  const txf_yaml_node *o = NULL;
  const char *n = NULL;
  if (!rc)
    rc = txf_profile_find(doc, p, target, &o, &n, err);
  if (!rc)
    snprintf(name, cap, "%s/%s", n, txf_profile_type(o));
  txf_yaml_free(doc);
  txf_project_free(p);
  return rc;
}

static void profile_error(const char *prof, const char *want) {
  txf_err err;
  char name[64];
  int rc = find_output("name: t\n", prof, NULL, name, sizeof name, &err);
  if (rc != TXF_ECONFIG)
    unit_fail(__FILE__, __LINE__, "want config error '%s', got %d: %s", want,
              rc, err.msg);
  ASSERT_CONTAINS(err.msg, "profiles.yml:");
  ASSERT_CONTAINS(err.msg, want);
}

TEST(profile_find_picks_the_target) {
  txf_err err;
  char name[64];
  ASSERT_OK(find_output("name: t\n", good_profiles, NULL, name, sizeof name,
                        &err),
            &err);
  ASSERT_EQ_STR(name, "dev/duckdb");
  ASSERT_OK(find_output("name: t\n", good_profiles, "pg", name, sizeof name,
                        &err),
            &err);
  ASSERT_EQ_STR(name, "pg/postgres");
  ASSERT_OK(find_output("name: x\nprofile: t\n", good_profiles, "rs", name,
                        sizeof name, &err),
            &err);
  ASSERT_EQ_STR(name, "rs/redshift");
  /* no target: and no type: mean dev and duckdb; dbt's top-level config:
   * is not a profile */
  ASSERT_OK(find_output("name: t\n",
                        "config: {send_anonymous_usage_stats: false}\n"
                        "t:\n  outputs:\n    dev: {path: a.duckdb}\n",
                        NULL, name, sizeof name, &err),
            &err);
  ASSERT_EQ_STR(name, "dev/duckdb");
}

TEST(profile_errors_name_file_line_and_key) {
  profile_error("t:\n  targt: dev\n  outputs:\n    dev: {type: duckdb}\n",
                "profiles.yml:2:3: unknown key 'targt' in profile 't' (did "
                "you mean 'target'?)");
  profile_error("t:\n  outputs:\n    dev:\n      type: duckdb\n"
                "      pth: /tmp/x.duckdb\n",
                "profiles.yml:5:7: unknown key 'pth' in t.outputs.dev (did "
                "you mean 'path'?)");
  profile_error("t:\n  outputs:\n    dev:\n      path: [a]\n",
                ":4:13: key 't.outputs.dev.path': expected a value, got a "
                "list");
  profile_error("t:\n  outputs:\n    dev:\n      path:\n",
                ":4:7: key 't.outputs.dev.path': expected a value, got "
                "nothing");
  profile_error("t:\n  target: dev\n  outputs: 3\n",
                ":3:12: key 't.outputs': expected a map of outputs");
  profile_error("t:\n  target: dev\n", ":1:1: profile 't': missing key "
                                       "'outputs'");
  profile_error("t:\n  outputs:\n    dev:\n      threads: lots\n",
                ":4:16: key 't.outputs.dev.threads': expected an integer "
                "1..64, got 'lots'");
  profile_error("t:\n  outputs:\n    dev: {threads: 0}\n",
                "key 't.outputs.dev.threads': expected an integer 1..64, got "
                "'0'");
  profile_error("t:\n  target: prd\n  outputs:\n    prod: {type: duckdb}\n",
                ":2:11: key 't.target': profile 't' has no target 'prd' (did "
                "you mean 'prod'?)");
  profile_error("other:\n  outputs: {dev: {}}\n",
                "profiles.yml:1:1: no profile 't' at the top level");
  profile_error("t:\n", ":1:1: key 't': expected a map (target, outputs), "
                        "got nothing");
  profile_error("- t\n", ":1:1: expected a map of profiles");
  profile_error("t:\n  outputs:\n    dev:\n",
                ":3:5: key 't.outputs.dev': expected a map");
  profile_error("t:\n  outputs:\n    dev: {type: duckbd}\n",
                ":3:17: key 't.outputs.dev.type': expected duckdb, postgres "
                "or redshift, got 'duckbd' (did you mean 'duckdb'?)");
  /* postgres and redshift keys */
  profile_error("t:\n  outputs:\n    dev: {type: postgres, sslmod: require}\n",
                ":3:27: unknown key 'sslmod' in t.outputs.dev (did you mean "
                "'sslmode'?)");
  profile_error("t:\n  outputs:\n    dev: {type: postgres, sslmode: verify}\n",
                "key 't.outputs.dev.sslmode': expected disable, allow, "
                "prefer, require, verify-ca or verify-full, got 'verify'");
  profile_error("t:\n  outputs:\n    dev: {type: redshift, port: 54321x}\n",
                ":3:33: key 't.outputs.dev.port': expected an integer "
                "1..65535, got '54321x'");
  profile_error("t:\n  outputs:\n    dev: {type: redshift, host: [a, b]}\n",
                "key 't.outputs.dev.host': expected a value, got a list");
  profile_error("t:\n  outputs:\n    dev: {type: postgres, dbname: a, "
                "database: b}\n",
                "key 't.outputs.dev.database': 'database' and 'dbname' are "
                "the same setting");
  profile_error("t:\n  outputs:\n    dev: {type: postgres, path: x}\n",
                "unknown key 'path' in t.outputs.dev");
  profile_error("t:\n  outputs:\n    dev: {type: duckdb, host: x}\n",
                "unknown key 'host' in t.outputs.dev");
  /* a password in the file is refused in any output, and never echoed */
  txf_err err;
  char name[64];
  ASSERT(find_output("name: t\n",
                     "t:\n  outputs:\n    dev: {type: duckdb}\n"
                     "    pg: {type: postgres, password: hunter2}\n",
                     NULL, name, sizeof name, &err) == TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, ":4:36: key 't.outputs.pg.password': write {{ "
                           "env_var('NAME') }}");
  ASSERT(strstr(err.msg, "hunter2") == NULL);
  /* --target names the closest output */
  ASSERT(find_output("name: t\n", good_profiles, "pgg", name, sizeof name,
                     &err) == TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, ":3:3: key 't.outputs': profile 't' has no target "
                           "'pgg' (did you mean 'pg'?)");
  /* profile: in txnflow.yml names one that is not there: the error points
   * at txnflow.yml */
  ASSERT(find_output("name: t\nprofile: tt\n", good_profiles, NULL, name,
                     sizeof name, &err) == TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "txnflow.yml:2:10: key 'profile': ");
  ASSERT_CONTAINS(err.msg, "profiles.yml has no profile 'tt' (did you mean "
                           "'t'?)");
}

/* The profiles.yml checker on thousands of mutations of a valid file: an
 * output or a config error with the file's name, never a crash (ASan). */
TEST(profile_loader_survives_mutations) {
  unit_write_file(unit_path("txnflow.yml"), "name: t\n");
  txf_project *p = NULL;
  txf_err err;
  ASSERT_OK(txf_project_load(&p, unit_tmpdir(), &err), &err);
  size_t n = sizeof good_profiles - 1;
  char *buf = malloc(n + 64);
  uint64_t x = 0x2545f4914f6cdd1du;
  int found = 0, rejected = 0;
  for (int iter = 0; iter < 3000; iter++) {
    size_t len = mutate(buf, good_profiles, n, iter, &x);
    txf_yaml_doc *doc = NULL;
    int rc = txf_yaml_load_string(&doc, "profiles.yml", buf, len, &err);
    const txf_yaml_node *o = NULL;
    const char *name = NULL;
    if (!rc)
      rc = txf_profile_find(doc, p, iter % 2 ? "pg" : NULL, &o, &name, &err);
    if (rc == 0) {
      ASSERT(o && name && txf_yaml_get(txf_yaml_get(txf_yaml_path(
                               txf_yaml_root(doc), "t.outputs"),
                           name), "type") == txf_yaml_get(o, "type"));
      found++;
    } else {
      if (rc != TXF_ECONFIG)
        unit_fail(__FILE__, __LINE__, "rc %d: %s", rc, err.msg);
      ASSERT_CONTAINS(err.msg, "yml:");
      rejected++;
    }
    txf_yaml_free(doc);
  }
  free(buf);
  txf_project_free(p);
  ASSERT(found > 0 && rejected > 0);
}
