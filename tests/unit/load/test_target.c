#include "../../lib/unit.h"
#include "../project/projtest.h"
#include "load/load.h"
#include <stdlib.h>

/* txf_load_target_resolve on P's files: txnflow.yml YML, profiles.yml PROF. */
static int load_target(const char *yml, const char *prof, const char *target,
                       txf_target *t, txf_err *err) {
  txf_project *p = projt_load(yml, prof);
  txf_err_clear(err);
  int rc = txf_load_target_resolve(t, p, target, err);
  txf_project_free(p);
  return rc;
}

static const char *val_of(const txf_target *t, const char *key) {
  for (size_t i = 0; t->keys && t->keys[i]; i++)
    if (!strcmp(t->keys[i], key))
      return t->vals[i];
  return NULL;
}

TEST(warehouse_target_resolves_env_vars) {
  setenv("TXF_UNIT_PGPW", "s3cret", 1);
  unsetenv("TXF_UNIT_PGHOST");
  txf_target t;
  txf_err err;
  ASSERT_OK(load_target("name: w\n",
                        "w:\n  outputs:\n    dev: {type: duckdb}\n"
                        "    rs:\n      type: redshift\n"
                        "      host: \"{{ env_var('TXF_UNIT_PGHOST', "
                        "'db.example') }}\"\n"
                        "      port: 5439\n      database: dev\n"
                        "      password: \"{{ env_var('TXF_UNIT_PGPW') }}\"\n"
                        "      threads: 4\n      role: loader\n",
                        "rs", &t, &err),
            &err);
  ASSERT_EQ_STR(t.name, "rs");
  ASSERT(t.is_redshift);
  ASSERT_EQ_STR(t.schema, "public");
  ASSERT_EQ_STR(val_of(&t, "host"), "db.example");
  ASSERT_EQ_STR(val_of(&t, "port"), "5439");
  ASSERT_EQ_STR(val_of(&t, "dbname"), "dev");
  ASSERT_EQ_STR(val_of(&t, "password"), "s3cret");
  ASSERT(val_of(&t, "threads") == NULL && val_of(&t, "role") == NULL);
  txf_target_release(&t);
  unsetenv("TXF_UNIT_PGPW");
}

TEST(warehouse_target_errors_name_file_line_and_key) {
  txf_target t;
  txf_err err;
  /* a literal password, in the output used or another: never echoed */
  ASSERT(load_target("name: w\n",
                     "w:\n  outputs:\n    pg: {type: postgres, password: "
                     "hunter2}\n",
                     "pg", &t, &err) == TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "profiles.yml:3:36: key 'w.outputs.pg.password': "
                           "write {{ env_var('NAME') }}");
  ASSERT(strstr(err.msg, "hunter2") == NULL);
  ASSERT(load_target("name: w\n",
                     "w:\n  outputs:\n    pg: {type: postgres, hots: h}\n",
                     "pg", &t, &err) == TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, ":3:26: unknown key 'hots' in w.outputs.pg (did "
                           "you mean 'host'?)");
  unsetenv("TXF_UNIT_NOPE");
  ASSERT(load_target("name: w\n",
                     "w:\n  outputs:\n    pg: {type: postgres, password: \"{{ "
                     "env_var('TXF_UNIT_NOPE') }}\"}\n",
                     "pg", &t, &err) == TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, ":3:36: key 'w.outputs.pg.password': environment "
                           "variable TXF_UNIT_NOPE is not set");
  /* a duckdb output cannot take a warehouse load */
  ASSERT(load_target("name: w\n", "w:\n  outputs:\n    dev: {type: duckdb}\n",
                     "dev", &t, &err) == TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, ":3:17: output 'dev': type must be postgres or "
                           "redshift");
  ASSERT(load_target("name: w\n", "w:\n  outputs:\n    pg: {type: postgres}\n",
                     "gp", &t, &err) == TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "has no target 'gp' (did you mean 'pg'?)");
}
