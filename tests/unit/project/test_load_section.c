/* The warehouse load's section (load:, or publish.warehouse) and the
 * silver table the models find through it. */
#include "projtest.h"
#include <stdlib.h>

static int read_section(const char *yml, txf_project_load_section *ls,
                        txf_err *err) {
  txf_project *p = projt_load(yml, NULL);
  txf_err_clear(err);
  int rc = txf_project_load_section_read(ls, p, err);
  /* the strings are the project's: keep what the test looks at */
  static char target[64], table[64], role[64];
  snprintf(target, sizeof target, "%s", ls->target ? ls->target : "(null)");
  snprintf(table, sizeof table, "%s", ls->table ? ls->table : "(null)");
  snprintf(role, sizeof role, "%s", ls->iam_role ? ls->iam_role : "(null)");
  ls->target = target;
  ls->table = table;
  ls->iam_role = role;
  txf_project_free(p);
  return rc;
}

TEST(load_section_both_spellings_read_alike) {
  txf_project_load_section ls;
  txf_err err;
  ASSERT_OK(read_section("name: t\n", &ls, &err), &err);
  ASSERT(!ls.configured && ls.where == NULL);
  ASSERT_EQ_STR(ls.table, "silver_transactions");
  ASSERT_OK(read_section("name: t\nload: {target: pg, add_columns: true}\n",
                         &ls, &err),
            &err);
  ASSERT(ls.configured && ls.add_columns);
  ASSERT_EQ_STR(ls.where, "load");
  ASSERT_EQ_STR(ls.target, "pg");
  ASSERT_EQ_STR(ls.table, "silver_transactions");
  ASSERT_EQ_STR(ls.iam_role, "(null)");
  ASSERT_OK(read_section("name: t\npublish:\n  warehouse: {target: rs, "
                         "table: st, iam_role: arn}\n",
                         &ls, &err),
            &err);
  ASSERT(ls.configured && !ls.add_columns);
  ASSERT_EQ_STR(ls.where, "publish.warehouse");
  ASSERT_EQ_STR(ls.target, "rs");
  ASSERT_EQ_STR(ls.table, "st");
  ASSERT_EQ_STR(ls.iam_role, "arn");
  /* publish.s3 alone is no load */
  ASSERT_OK(read_section("name: t\npublish:\n  s3: {bucket: b}\n", &ls, &err),
            &err);
  ASSERT(!ls.configured);
}

TEST(load_section_errors_name_the_place) {
  txf_project_load_section ls;
  txf_err err;
  ASSERT_EQ_I64(read_section("name: t\npublish:\n  warehouse: {target: pg}\n"
                             "load: {target: pg}\n",
                             &ls, &err),
                TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "txnflow.yml:4:7: key 'load': the warehouse load "
                           "is configured twice, here and as "
                           "publish.warehouse (line 3");
  ASSERT_EQ_I64(
      read_section("name: t\nload: {target: pg, tabel: x}\n", &ls, &err),
      TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "tabel");
  ASSERT_CONTAINS(err.msg, "'table'"); /* the closest known key */
  ASSERT_EQ_I64(read_section("name: t\npublish:\n  warehouse: {add_columns: "
                             "maybe}\n",
                             &ls, &err),
                TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "add_columns");
  ASSERT_EQ_I64(read_section("name: t\nload: pg\n", &ls, &err), TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "key 'load': expected a map");
}

TEST(load_section_names_the_silver_table_for_models) {
  static const char prof[] =
      "t:\n  outputs:\n    pg: {type: postgres, host: h, schema: marts}\n"
      "    lake: {type: postgres, host: h, schema: raw}\n";
  txf_project *p =
      projt_load("name: t\nload: {target: lake, table: silver_tx}\n", prof);
  txf_target t;
  txf_err err;
  txf_target_opts o = {.target = "pg", .app_name = "unit"};
  ASSERT_OK(txf_target_resolve(&t, p, &o, &err), &err);
  ASSERT_EQ_STR(t.schema, "marts");
  ASSERT_EQ_STR(t.silver_schema, "raw");
  ASSERT_EQ_STR(t.silver_table, "silver_tx");
  txf_target_release(&t);
  txf_project_free(p);
  /* a load into another profile's output: T's own schema */
  p = projt_load("name: t\nload: {target: elsewhere}\n", prof);
  ASSERT_OK(txf_target_resolve(&t, p, &o, &err), &err);
  ASSERT_EQ_STR(t.silver_schema, "marts");
  ASSERT_EQ_STR(t.silver_table, "silver_transactions");
  txf_target_release(&t);
  txf_project_free(p);
  /* a bad load section is the models' error too */
  p = projt_load("name: t\nload: {target: lake}\npublish: {warehouse: "
                 "{target: lake}}\n",
                 prof);
  ASSERT_EQ_I64(txf_target_resolve(&t, p, &o, &err), TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "configured twice");
  txf_project_free(p);
}
