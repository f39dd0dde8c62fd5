#include "projtest.h"
#include <stdlib.h>

/* txf_target_resolve on P's files: txnflow.yml YML, profiles.yml PROF
 * (NULL: none). */
static int resolve(const char *yml, const char *prof, const txf_target_opts *o,
                   txf_target *t, txf_err *err) {
  txf_project *p = projt_load(yml, prof);
  txf_err_clear(err);
  int rc = txf_target_resolve(t, p, o, err);
  txf_project_free(p);
  return rc;
}

TEST(target_without_profiles_is_the_default_warehouse) {
  txf_target t;
  txf_err err;
  txf_target_opts o = {.data_dir = "/lake", .home = unit_tmpdir()};
  ASSERT_OK(resolve("name: t\n", NULL, &o, &t, &err), &err);
  ASSERT_EQ_STR(t.name, "dev");
  ASSERT_EQ_STR(t.type, "duckdb");
  ASSERT_EQ_STR(t.path, "/lake/warehouse.duckdb");
  ASSERT_EQ_STR(t.schema, "main");
  ASSERT(t.keys == NULL && t.threads == 0);
  txf_target_release(&t);
  /* the warehouse load needs the project's own profiles.yml */
  o.warehouse_load = 1;
  ASSERT(resolve("name: t\n", NULL, &o, &t, &err) == TXF_ENOTFOUND);
  ASSERT_CONTAINS(err.msg, "profiles.yml: no such file");
}

TEST(target_postgres_keys_and_the_silver_table) {
  setenv("TXF_UNIT_TGT_PW", "pw", 1);
  setenv("TXF_UNIT_TGT_SCHEMA", "lake", 1);
  static const char prof[] =
      "t:\n  outputs:\n    dev: {path: ':memory:', threads: 3}\n"
      "    pg:\n      type: postgres\n      host: h\n      database: d\n"
      "      password: \"{{ env_var('TXF_UNIT_TGT_PW') }}\"\n"
      "      schema: analytics\n      threads: 2\n"
      "    load:\n      type: postgres\n      host: h\n"
      "      schema: \"{{ env_var('TXF_UNIT_TGT_SCHEMA') }}\"\n";
  txf_target t;
  txf_err err;
  txf_target_opts o = {.target = "pg", .app_name = "unit"};
  ASSERT_OK(resolve("name: t\npublish:\n  warehouse: {target: load, table: "
                    "st}\n",
                    prof, &o, &t, &err),
            &err);
  ASSERT_EQ_STR(t.type, "postgres");
  ASSERT(!t.is_redshift && t.path == NULL && t.threads == 0);
  ASSERT_EQ_STR(t.schema, "analytics");
  const char *want[][2] = {{"host", "h"},
                           {"dbname", "d"},
                           {"password", "pw"},
                           {"application_name", "unit"}};
  for (size_t i = 0; i < TXF_ARRAY_LEN(want); i++) {
    ASSERT(t.keys[i] != NULL);
    ASSERT_EQ_STR(t.keys[i], want[i][0]);
    ASSERT_EQ_STR(t.vals[i], want[i][1]);
  }
  ASSERT(t.keys[TXF_ARRAY_LEN(want)] == NULL);
  /* the table the warehouse load fills, in its target's schema */
  ASSERT_EQ_STR(t.silver_schema, "lake");
  ASSERT_EQ_STR(t.silver_table, "st");
  txf_target_release(&t);
  /* the warehouse load itself does not look there */
  o.warehouse_load = 1;
  ASSERT_OK(resolve("name: t\npublish:\n  warehouse: {target: load}\n", prof,
                    &o, &t, &err),
            &err);
  ASSERT(t.silver_schema == NULL && t.silver_table == NULL);
  txf_target_release(&t);
  /* a duckdb output: its rendered threads and path */
  o.warehouse_load = 0;
  o.target = NULL;
  ASSERT_OK(resolve("name: t\n", prof, &o, &t, &err), &err);
  ASSERT_EQ_STR(t.name, "dev");
  ASSERT(t.path == NULL && t.threads == 3);
  ASSERT_EQ_STR(t.schema, "main");
  txf_target_release(&t);
  unsetenv("TXF_UNIT_TGT_PW");
  unsetenv("TXF_UNIT_TGT_SCHEMA");
}

/* dbt-duckdb's settings: a map of DuckDB settings, values rendered; a name
 * that is not one, or a value that is a map, is refused where it stands. */
TEST(target_duckdb_settings) {
  setenv("TXF_UNIT_TGT_MEM", "3GB", 1);
  static const char prof[] =
      "t:\n  outputs:\n    dev:\n      path: ':memory:'\n      settings:\n"
      "        memory_limit: \"{{ env_var('TXF_UNIT_TGT_MEM') }}\"\n"
      "        preserve_insertion_order: false\n";
  txf_target t;
  txf_err err;
  txf_target_opts o = {.app_name = "unit"};
  ASSERT_OK(resolve("name: t\n", prof, &o, &t, &err), &err);
  ASSERT(t.settings != NULL);
  ASSERT_EQ_STR(t.settings[0], "memory_limit");
  ASSERT_EQ_STR(t.settings[1], "3GB");
  ASSERT_EQ_STR(t.settings[2], "preserve_insertion_order");
  ASSERT_EQ_STR(t.settings[3], "false");
  ASSERT(t.settings[4] == NULL);
  txf_target_release(&t);
  ASSERT(resolve("name: t\n",
                 "t:\n  outputs:\n    dev:\n      settings:\n"
                 "        'memory limit': 2GB\n",
                 &o, &t, &err) == TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "'memory limit' is not a DuckDB setting name");
  ASSERT(resolve("name: t\n",
                 "t:\n  outputs:\n    dev:\n      settings: 2GB\n", &o, &t,
                 &err) == TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "expected a map of DuckDB settings");
}
