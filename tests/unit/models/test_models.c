#include "../../lib/unit.h"
#include "duck/duck.h"
#include "metadata/internal.h"
#include "models/models.h"
#include <glob.h>
#include <stdlib.h>
#include <sys/stat.h>
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

/* A scratch project: FILES is a NULL-terminated list of path, content
 * pairs under the test's directory. The warehouse is in memory. */
static void write_project(const char *const *files) {
  for (size_t i = 0; files[i]; i += 2) {
    char *path = txf_path_join(unit_tmpdir(), files[i]);
    char *dir = txf_xstrdup(path);
    *strrchr(dir, '/') = 0;
    txf_err err;
    ASSERT_OK(txf_fs_mkdirs(dir, &err), &err);
    unit_write_file(path, files[i + 1]);
    free(dir);
    free(path);
  }
}

typedef struct {
  txf_project *p;
  txf_models *m;
  txf_models_opts o;
  char *data;
} proj;

static const char base_yml[] = "name: t\nprofile: t\n";
static const char mem_profile[] =
    "t:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
    "      path: ':memory:'\n";

static int open_proj(proj *pr, const char *vars, txf_err *err) {
  memset(pr, 0, sizeof *pr);
  int rc = txf_project_load(&pr->p, unit_tmpdir(), err);
  if (rc)
    return rc;
  pr->data = txf_path_join(unit_tmpdir(), "data");
  pr->o.data_dir = pr->data;
  pr->o.vars = vars;
  pr->o.home = unit_tmpdir();
  return txf_models_load(&pr->m, pr->p, &pr->o, err);
}

static void close_proj(proj *pr) {
  txf_models_free(pr->m);
  txf_project_free(pr->p);
  free(pr->data);
}

static int64_t q64(proj *pr, const char *sql) {
  txf_adapter *a;
  txf_err err;
  ASSERT_OK(txf_models_adapter(pr->m, &a, &err), &err);
  int64_t v = -1;
  ASSERT_OK(a->ops->query_i64(a, sql, &v, &err), &err);
  return v;
}

static int load_fails(const char *const *files, const char *want) {
  write_project(files);
  proj pr;
  txf_err err;
  txf_err_clear(&err);
  int rc = open_proj(&pr, NULL, &err);
  if (!rc) {
    close_proj(&pr);
    unit_fail(__FILE__, __LINE__, "load should fail with '%s'", want);
  }
  ASSERT_CONTAINS(err.msg, want);
  if (pr.p)
    txf_project_free(pr.p);
  free(pr.data);
  return rc;
}

TEST(models_cycle_is_printed) {
  const char *files[] = {"txnflow.yml", base_yml, "profiles.yml", mem_profile,
                         "models/a.sql", "select * from {{ ref('c') }}",
                         "models/b.sql", "select * from {{ ref('a') }}",
                         "models/c.sql", "select * from {{ ref('b') }}",
                         NULL};
  load_fails(files, "dependency cycle: a -> c -> b -> a");
}

TEST(models_missing_ref_names_closest) {
  const char *files[] = {"txnflow.yml", base_yml, "profiles.yml", mem_profile,
                         "models/orders.sql", "select 1 as id",
                         "models/b.sql", "select * from {{ ref('order') }}",
                         NULL};
  load_fails(files, "models/b.sql: ref('order'): no model or seed named "
                    "'order' (did you mean 'orders'?)");
}

TEST(models_template_error_has_position) {
  const char *files[] = {"txnflow.yml", base_yml, "profiles.yml", mem_profile,
                         "models/a.sql", "select\n  {{ ref('x') | nope }}",
                         NULL};
  load_fails(files, "models/a.sql:2:17: unknown filter 'nope'");
}

TEST(models_schema_entries_without_a_name) {
  static const struct {
    const char *yml, *want;
  } cases[] = {
      {"models:\n  - name: a\n    columns:\n      - description: x\n",
       "models/schema.yml:4:9: column without a 'name'"},
      {"sources:\n  - tables: [{name: t}]\n",
       "models/schema.yml:2:5: source without a 'name'"},
      {"sources:\n  - name: s\n    tables:\n      - identifier: t\n",
       "models/schema.yml:4:9: source table without a 'name'"},
  };
  for (size_t i = 0; i < TXF_ARRAY_LEN(cases); i++) {
    const char *files[] = {"txnflow.yml", base_yml, "profiles.yml", mem_profile,
                           "models/a.sql", "select 1 as id",
                           "models/schema.yml", cases[i].yml, NULL};
    load_fails(files, cases[i].want);
  }
}

static const char *const graph_files[] = {
    "txnflow.yml",
    "name: t\nprofile: t\nmodels:\n  t:\n    staging:\n"
    "      +materialized: view\n      +tags: [stg]\n",
    "profiles.yml", mem_profile,
    "models/staging/s1.sql", "select 1 as id",
    "models/staging/s2.sql", "select 2 as id",
    "models/mid.sql",
    "{{ config(materialized='table', tags=['core']) }}"
    "select * from {{ ref('s1') }} union all select * from {{ ref('s2') }}",
    "models/top.sql", "select * from {{ ref('mid') }}",
    "models/other.sql", "select 3 as id",
    NULL};

static char *selected(proj *pr, const char *sel, const char *exc) {
  txf_err err;
  ASSERT_OK(txf_models_select(pr->m, sel, exc, &err), &err);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ASSERT_OK(txf_models_ls(pr->m, f, 0, &err), &err);
  fclose(f);
  /* one line: names separated by spaces */
  for (char *p = buf; *p; p++)
    if (*p == '\n')
      *p = ' ';
  return buf;
}

TEST(models_selection_syntax) {
  write_project(graph_files);
  proj pr;
  txf_err err;
  ASSERT_OK(open_proj(&pr, NULL, &err), &err);
  char *s = selected(&pr, "mid", NULL);
  ASSERT_EQ_STR(s, "model mid ");
  free(s);
  s = selected(&pr, "+mid", NULL);
  ASSERT_EQ_STR(s, "model mid model s1 model s2 ");
  free(s);
  s = selected(&pr, "mid+", NULL);
  ASSERT_EQ_STR(s, "model mid model top ");
  free(s);
  s = selected(&pr, "tag:stg", NULL);
  ASSERT_EQ_STR(s, "model s1 model s2 ");
  free(s);
  s = selected(&pr, "path:models/staging", NULL);
  ASSERT_EQ_STR(s, "model s1 model s2 ");
  free(s);
  s = selected(&pr, "path:staging other", "s2");
  ASSERT_EQ_STR(s, "model other model s1 ");
  free(s);
  s = selected(&pr, "+top", "tag:stg");
  ASSERT_EQ_STR(s, "model mid model top ");
  free(s);
  s = selected(&pr, "s*", NULL);
  ASSERT_EQ_STR(s, "model s1 model s2 ");
  free(s);
  ASSERT(txf_models_select(pr.m, "tpo", NULL, &err) == TXF_ENOTFOUND);
  ASSERT_CONTAINS(err.msg, "no node named 'tpo' (did you mean 'top'?)");
  close_proj(&pr);
}

TEST(models_view_table_and_swap_keep_old_on_error) {
  write_project(graph_files);
  proj pr;
  txf_err err;
  ASSERT_OK(open_proj(&pr, NULL, &err), &err);
  txf_models_summary s;
  ASSERT_OK(txf_models_run(pr.m, &s, &err), &err);
  ASSERT_EQ_I64(s.n_ok, 5);
  ASSERT_EQ_I64(q64(&pr, "SELECT count(*) FROM top"), 2);
  ASSERT_EQ_I64(q64(&pr, "SELECT count(*) FROM information_schema.tables "
                         "WHERE table_name = 'mid' AND table_type = "
                         "'BASE TABLE'"),
                1);
  ASSERT_EQ_I64(q64(&pr, "SELECT count(*) FROM information_schema.tables "
                         "WHERE table_name = 's1' AND table_type = 'VIEW'"),
                1);
  /* no temp relation is left behind */
  ASSERT_EQ_I64(q64(&pr, "SELECT count(*) FROM information_schema.tables "
                         "WHERE table_name LIKE '%__txf_%'"),
                0);
  close_proj(&pr);
}

/* TXNFLOW_DUCK_PROFILE=DIR: one JSON profile per statement, each the
 * statement's own (a model's CREATE is not overwritten by the catalog
 * queries that follow it), and nothing once it is unset. */
TEST(models_duck_profile_one_file_per_statement) {
  write_project(graph_files);
  char *dir = txf_path_join(unit_tmpdir(), "prof");
  setenv("TXNFLOW_DUCK_PROFILE", dir, 1);
  proj pr;
  txf_err err;
  ASSERT_OK(open_proj(&pr, NULL, &err), &err);
  txf_models_summary s;
  ASSERT_OK(txf_models_run(pr.m, &s, &err), &err);
  unsetenv("TXNFLOW_DUCK_PROFILE");
  ASSERT_EQ_I64(s.n_ok, 5);
  char *pattern = txf_path_join(dir, "*.json");
  glob_t g;
  ASSERT_EQ_I64(glob(pattern, 0, NULL, &g), 0);
  size_t n = g.gl_pathc, n_mid = 0;
  ASSERT(n >= 2);
  for (size_t i = 0; i < n; i++) {
    txf_buf b;
    txf_buf_init(&b, 0);
    ASSERT_OK(txf_fs_read_file(g.gl_pathv[i], &b, &err), &err);
    char *text = txf_buf_take(&b, NULL);
    ASSERT_CONTAINS(text, "\"query_name\"");
    if (strstr(text, "CREATE TABLE") && strstr(text, "mid"))
      n_mid++;
    free(text);
  }
  globfree(&g);
  ASSERT(n_mid >= 1);
  /* unset: no more profiles */
  ASSERT_EQ_I64(q64(&pr, "SELECT count(*) FROM top"), 2);
  ASSERT_EQ_I64(glob(pattern, 0, NULL, &g), 0);
  ASSERT_EQ_I64((int64_t)g.gl_pathc, (int64_t)n);
  globfree(&g);
  close_proj(&pr);
  TXF_FREE_ALL(pattern, dir);
}

TEST(models_sql_error_names_model_and_skips_downstream) {
  const char *files[] = {"txnflow.yml", base_yml, "profiles.yml", mem_profile,
                         "models/bad.sql", "select nosuchcol",
                         "models/down.sql", "select * from {{ ref('bad') }}",
                         "models/ok.sql", "select 1 as x", NULL};
  write_project(files);
  proj pr;
  txf_err err;
  ASSERT_OK(open_proj(&pr, NULL, &err), &err);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  pr.o.out = f;
  txf_models_summary s;
  ASSERT(txf_models_run(pr.m, &s, &err) == TXF_ETEST);
  fclose(f);
  ASSERT_EQ_I64(s.n_ok, 1);
  ASSERT_EQ_I64(s.n_error, 1);
  ASSERT_EQ_I64(s.n_skipped, 1);
  ASSERT_CONTAINS(buf, "model bad (models/bad.sql): Binder Error");
  ASSERT_CONTAINS(buf, "nosuchcol");
  ASSERT_CONTAINS(buf, "SKIP   view        down (upstream bad did not build)");
  free(buf);
  close_proj(&pr);
}

/* The incremental model: events from a seed, new days merged by id. */
static const char incr_model[] =
    "{{ config(materialized='incremental', unique_key='id', "
    "incremental_strategy=var('strategy', 'merge')) }}\n"
    "select id, day, amount from {{ ref('events') }}\n"
    "{% if is_incremental() %}\n"
    "where day >= (select max(day) from {{ this }})\n"
    "{% endif %}";

static void incremental_equals_full_refresh(const char *strategy) {
  const char *files[] = {"txnflow.yml", base_yml, "profiles.yml", mem_profile,
                         "seeds/events.csv",
                         "id,day,amount\n1,1,10\n2,1,20\n3,2,30\n",
                         "models/fct.sql", incr_model, NULL};
  write_project(files);
  proj pr;
  txf_err err;
  char vars[64];
  snprintf(vars, sizeof vars, "{strategy: '%s'}", strategy);
  ASSERT_OK(open_proj(&pr, vars, &err), &err);
  txf_models_summary s;
  ASSERT_OK(txf_models_build(pr.m, &s, &err), &err);
  ASSERT_EQ_I64(q64(&pr, "SELECT count(*) FROM fct"), 3);
  /* day 2 gets a new version of id 3 and a new row; day 3 arrives */
  unit_write_file(unit_path("seeds/events.csv"),
                  "id,day,amount\n1,1,10\n2,1,20\n3,2,35\n4,2,40\n5,3,50\n");
  ASSERT_OK(txf_models_build(pr.m, &s, &err), &err);
  ASSERT_OK(txf_models_build(pr.m, &s, &err), &err); /* again: no change */
  ASSERT_EQ_I64(q64(&pr, "SELECT count(*) FROM fct"), 5);
  txf_adapter *a;
  ASSERT_OK(txf_models_adapter(pr.m, &a, &err), &err);
  ASSERT_OK(a->ops->exec(a, "CREATE TABLE incr_snapshot AS SELECT * FROM fct",
                         &err),
            &err);
  pr.o.full_refresh = 1;
  ASSERT_OK(txf_models_build(pr.m, &s, &err), &err);
  ASSERT_EQ_I64(q64(&pr, "SELECT count(*) FROM (SELECT * FROM incr_snapshot "
                         "EXCEPT ALL SELECT * FROM fct)"),
                0);
  ASSERT_EQ_I64(q64(&pr, "SELECT count(*) FROM (SELECT * FROM fct EXCEPT "
                         "ALL SELECT * FROM incr_snapshot)"),
                0);
  ASSERT_EQ_I64(q64(&pr, "SELECT amount FROM fct WHERE id = 3"), 35);
  close_proj(&pr);
}

TEST(models_incremental_merge_twice_equals_full_refresh) {
  incremental_equals_full_refresh("merge");
}

TEST(models_incremental_delete_insert_twice_equals_full_refresh) {
  incremental_equals_full_refresh("delete+insert");
}

TEST(models_incremental_null_unique_key_is_an_error) {
  const char *files[] = {"txnflow.yml", base_yml, "profiles.yml", mem_profile,
                         "seeds/events.csv", "id,day,amount\n1,1,10\n",
                         "models/fct.sql", incr_model, NULL};
  write_project(files);
  proj pr;
  txf_err err;
  ASSERT_OK(open_proj(&pr, NULL, &err), &err);
  txf_models_summary s;
  ASSERT_OK(txf_models_build(pr.m, &s, &err), &err);
  unit_write_file(unit_path("seeds/events.csv"),
                  "id,day,amount\n1,1,10\n,2,20\n");
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  pr.o.out = f;
  ASSERT(txf_models_build(pr.m, &s, &err) == TXF_ETEST);
  fclose(f);
  ASSERT_CONTAINS(buf, "unique_key (\"id\") is NULL in 1 new row");
  free(buf);
  /* the target kept its old rows */
  ASSERT_EQ_I64(q64(&pr, "SELECT count(*) FROM fct"), 1);
  close_proj(&pr);
}

TEST(models_ephemeral_is_inlined_as_cte) {
  const char *files[] = {
      "txnflow.yml", base_yml, "profiles.yml", mem_profile,
      "models/e1.sql",
      "{{ config(materialized='ephemeral') }}select 1 as x",
      "models/e2.sql",
      "{{ config(materialized='ephemeral') }}select x + 1 as x from "
      "{{ ref('e1') }}",
      "models/m.sql",
      "with a as (select * from {{ ref('e2') }}) select x from a", NULL};
  write_project(files);
  proj pr;
  txf_err err;
  ASSERT_OK(open_proj(&pr, NULL, &err), &err);
  txf_models_summary s;
  ASSERT_OK(txf_models_run(pr.m, &s, &err), &err);
  ASSERT_EQ_I64(q64(&pr, "SELECT x FROM m"), 2);
  ASSERT_EQ_I64(q64(&pr, "SELECT count(*) FROM information_schema.tables "
                         "WHERE table_name IN ('e1', 'e2')"),
                0);
  ASSERT_OK(txf_models_compile(pr.m, &err), &err);
  txf_buf b;
  txf_buf_init(&b, 0);
  ASSERT_OK(txf_fs_read_file(unit_path("target/compiled/models/m.sql"), &b,
                             &err),
            &err);
  ASSERT_CONTAINS(b.data, "with __dbt__cte__e1 as (\nselect 1 as x\n), "
                          "__dbt__cte__e2 as (");
  ASSERT_CONTAINS(b.data, " a as (select * from __dbt__cte__e2)");
  txf_buf_release(&b);
  close_proj(&pr);
}

static const char *const wap_files[] = {
    "txnflow.yml", base_yml, "profiles.yml", mem_profile,
    "seeds/src.csv", "id,v\n1,a\n2,b\n",
    "models/m.sql", "{{ config(materialized='table') }}select * from "
                    "{{ ref('src') }}",
    "models/schema.yml",
    "version: 2\nmodels:\n  - name: m\n    columns:\n      - name: v\n"
    "        tests:\n          - not_null\n"
    "          - accepted_values:\n              values: [a, b]\n"
    "              config: {severity: warn}\n",
    NULL};

TEST(models_build_audit_failure_keeps_old_version) {
  write_project(wap_files);
  proj pr;
  txf_err err;
  ASSERT_OK(open_proj(&pr, NULL, &err), &err);
  txf_models_summary s;
  ASSERT_OK(txf_models_build(pr.m, &s, &err), &err);
  ASSERT_EQ_I64(s.n_pass, 2);
  ASSERT_EQ_I64(q64(&pr, "SELECT count(*) FROM m"), 2);
  /* the new version has a NULL v: the audit must stop it */
  unit_write_file(unit_path("seeds/src.csv"), "id,v\n1,a\n2,b\n3,\n4,zz\n");
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  pr.o.out = f;
  ASSERT(txf_models_build(pr.m, &s, &err) == TXF_ETEST);
  fclose(f);
  pr.o.out = NULL; /* F is gone */
  ASSERT_CONTAINS(buf, "FAIL   not_null_m_v (1 failing row)");
  ASSERT_CONTAINS(buf, "model m: audit failed: test not_null_m_v found "
                       "failing rows; the previous version stays published");
  free(buf);
  ASSERT_EQ_I64(q64(&pr, "SELECT count(*) FROM m"), 2);
  ASSERT_EQ_I64(s.n_fail, 1);
  /* a warn test failing does not stop publishing */
  unit_write_file(unit_path("seeds/src.csv"), "id,v\n1,a\n2,zz\n5,zz\n");
  ASSERT_OK(txf_models_build(pr.m, &s, &err), &err);
  ASSERT_EQ_I64(s.n_warn, 1);
  ASSERT_EQ_I64(q64(&pr, "SELECT count(*) FROM m"), 3);
  close_proj(&pr);
}

TEST(models_test_results_are_stored) {
  write_project(wap_files);
  proj pr;
  txf_err err;
  txf_store *st;
  ASSERT_OK(txf_store_open(&st, unit_path("meta.db"), 0, &err), &err);
  ASSERT_OK(open_proj(&pr, NULL, &err), &err);
  pr.o.store = st;
  pr.o.invocation_id = "inv1";
  txf_models_summary s;
  ASSERT_OK(txf_models_build(pr.m, &s, &err), &err);
  unit_write_file(unit_path("seeds/src.csv"), "id,v\n1,a\n2,\n");
  ASSERT(txf_models_test(pr.m, &s, &err) == 0); /* table not rebuilt yet */
  ASSERT(txf_models_seed(pr.m, &s, &err) == 0);
  ASSERT(txf_models_run(pr.m, &s, &err) == 0);
  ASSERT(txf_models_test(pr.m, &s, &err) == TXF_ETEST);
  sqlite3_stmt *q;
  ASSERT_OK(txf_store_prepare(st,
                              "SELECT status, failures, sample_json FROM "
                              "test_results WHERE test_name = 'not_null_m_v' "
                              "ORDER BY result_id DESC LIMIT 1",
                              &q, &err),
            &err);
  ASSERT(sqlite3_step(q) == SQLITE_ROW);
  ASSERT_EQ_STR((const char *)sqlite3_column_text(q, 0), "fail");
  ASSERT_EQ_I64(sqlite3_column_int64(q, 1), 1);
  ASSERT_CONTAINS((const char *)sqlite3_column_text(q, 2), "\"id\": \"2\"");
  sqlite3_finalize(q);
  ASSERT_OK(txf_store_prepare(st,
                              "SELECT count(*) FROM model_builds WHERE "
                              "model = 'm' AND state = 'success' AND n_rows "
                              "= 2 AND invocation_id = 'inv1'",
                              &q, &err),
            &err);
  ASSERT(sqlite3_step(q) == SQLITE_ROW);
  ASSERT_EQ_I64(sqlite3_column_int64(q, 0), 2);
  sqlite3_finalize(q);
  close_proj(&pr);
  txf_store_close(st);
}

TEST(models_vars_and_silver_source) {
  const char *files[] = {
      "txnflow.yml", "name: t\nprofile: t\nvars:\n  region: kr\n",
      "profiles.yml", mem_profile,
      "models/stg.sql",
      "select count(*) as n, '{{ var('region') }}' as region,\n"
      "'{{ var('dates') | join(',') }}' as ds\n"
      "from {{ source('silver', 'transactions') }}\n"
      "where ingest_date is null or cast(txn_ts as date) in (\n"
      "{%- for d in var('dates') %}date '{{ d }}'{% if not loop.last %}, "
      "{% endif %}{% endfor %})",
      NULL};
  write_project(files);
  proj pr;
  txf_err err;
  const char *vars = "{run_date: \"2025-09-11\", dates: [\"2025-09-10\", "
                     "\"2025-09-11\"]}";
  ASSERT_OK(open_proj(&pr, vars, &err), &err);
  char *v;
  ASSERT_OK(txf_models_var_text(pr.m, "dates", &v, &err), &err);
  ASSERT_EQ_STR(v, "2025-09-10,2025-09-11");
  free(v);
  txf_models_summary s;
  /* silver is still empty: the model builds, on no rows */
  ASSERT_OK(txf_models_run(pr.m, &s, &err), &err);
  ASSERT_EQ_I64(q64(&pr, "SELECT n FROM stg"), 0);
  ASSERT_EQ_I64(q64(&pr, "SELECT count(*) FROM stg WHERE region = 'kr' AND "
                         "ds = '2025-09-10,2025-09-11'"),
                1);
  close_proj(&pr);
  /* with a partition, the source reads the Parquet files */
  char *dir = txf_path_join(unit_tmpdir(),
                            "data/silver/transactions/year=2025/month=09/day=10");
  ASSERT_OK(txf_fs_mkdirs(dir, &err), &err);
  txf_duck *d;
  ASSERT_OK(txf_duck_open(&d, NULL, 1, 0, &err), &err);
  char *sql = txf_xasprintf(
      "COPY (SELECT 't1' AS transaction_id, TIMESTAMP '2025-09-10 01:00:00' "
      "AS txn_ts, DATE '2025-09-10' AS ingest_date UNION ALL SELECT 't2', "
      "TIMESTAMP '2025-09-09 23:00:00', DATE '2025-09-10') TO "
      "'%s/part-00000.parquet' (FORMAT parquet)",
      dir);
  ASSERT_OK(txf_duck_exec(d, sql, &err), &err);
  free(sql);
  txf_duck_close(d);
  free(dir);
  ASSERT_OK(open_proj(&pr, vars, &err), &err);
  ASSERT_OK(txf_models_run(pr.m, &s, &err), &err);
  ASSERT_EQ_I64(q64(&pr, "SELECT n FROM stg"), 1);
  close_proj(&pr);
}

TEST(models_missing_var_is_an_error) {
  const char *files[] = {"txnflow.yml", base_yml, "profiles.yml", mem_profile,
                         "models/a.sql", "select '{{ var('run_date') }}' as d",
                         NULL};
  load_fails(files, "models/a.sql:1:12: required var 'run_date' is not set");
}

TEST(models_profiles_lookup_and_env_var) {
  const char *files[] = {"txnflow.yml", base_yml, "models/a.sql",
                         "select 1 as x", "dot/.dbt/profiles.yml",
                         "t:\n  target: dev\n  outputs:\n    dev:\n"
                         "      type: duckdb\n      path: \"{{ "
                         "env_var('TXF_UNIT_DB') }}\"\n",
                         NULL};
  write_project(files);
  proj pr;
  txf_err err;
  memset(&pr, 0, sizeof pr);
  ASSERT_OK(txf_project_load(&pr.p, unit_tmpdir(), &err), &err);
  pr.data = txf_path_join(unit_tmpdir(), "data");
  pr.o.data_dir = pr.data;
  char *home = txf_path_join(unit_tmpdir(), "dot");
  pr.o.home = home;
  unsetenv("TXF_UNIT_DB");
  ASSERT(txf_models_load(&pr.m, pr.p, &pr.o, &err) == TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "environment variable 'TXF_UNIT_DB' is not set");
  char *db = txf_path_join(unit_tmpdir(), "w.duckdb");
  setenv("TXF_UNIT_DB", db, 1);
  ASSERT_OK(txf_models_load(&pr.m, pr.p, &pr.o, &err), &err);
  txf_models_summary s;
  ASSERT_OK(txf_models_run(pr.m, &s, &err), &err);
  txf_models_free(pr.m);
  ASSERT(txf_fs_exists(db));
  /* an unknown target names the closest */
  pr.o.target = "deb";
  ASSERT(txf_models_load(&pr.m, pr.p, &pr.o, &err) == TXF_ECONFIG);
  ASSERT_CONTAINS(err.msg, "has no target 'deb' (did you mean 'dev'?)");
  free(db);
  free(home);
  txf_project_free(pr.p);
  free(pr.data);
}

TEST(models_seed_column_types_apply_where_the_column_exists) {
  const char *files[] = {
      "txnflow.yml",
      "name: t\nprofile: t\nseeds:\n  t:\n    +column_types: {code: varchar, "
      "rate: 'decimal(18,4)'}\n",
      "profiles.yml", mem_profile,
      "seeds/mcc.csv", "code,description\n0742,Veterinary\n5411,Grocery\n",
      "seeds/fx.csv", "currency,rate\nUSD,1385.2\n", NULL};
  write_project(files);
  proj pr;
  txf_err err;
  ASSERT_OK(open_proj(&pr, NULL, &err), &err);
  txf_models_summary s;
  ASSERT_OK(txf_models_seed(pr.m, &s, &err), &err);
  ASSERT_EQ_I64(s.n_ok, 2);
  ASSERT_EQ_I64(q64(&pr, "SELECT count(*) FROM mcc WHERE code = '0742'"), 1);
  ASSERT_EQ_I64(q64(&pr, "SELECT count(*) FROM fx WHERE typeof(rate) = "
                         "'DECIMAL(18,4)'"),
                1);
  close_proj(&pr);
}

/* --threads: independent models build at once on their own connections,
 * the output and the results are those of a one-at-a-time run, and a
 * failure stops its dependents only. */
static const char *const pool_files[] = {
    "txnflow.yml", base_yml,
    "profiles.yml",
    "t:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
    "      path: ':memory:'\n      threads: 2\n",
    "seeds/s.csv", "id\n1\n2\n3\n",
#define SLOW(n)                                                              \
  "models/" n ".sql",                                                        \
      "{{ config(materialized='table') }}\nselect s.id, '" n "' as m, "      \
      "(select sum(i % 7) from range(40000000) t(i)) as x from {{ ref('s') " \
      "}} s"
    SLOW("a"), SLOW("b"), SLOW("c"), SLOW("d"),
#undef SLOW
    "models/bad.sql", "select nosuchcol from {{ ref('s') }}",
    "models/bad_child.sql", "select * from {{ ref('bad') }}",
    "models/top.sql",
    "{{ config(materialized='table') }}\nselect m, sum(id) as n, max(x) as x "
    "from (select * from {{ ref('a') }} union all select * from {{ ref('b') "
    "}} union all select * from {{ ref('c') }} union all select * from {{ "
    "ref('d') }}) group by m",
    "models/schema.yml",
    "version: 2\nmodels:\n  - name: top\n    columns:\n      - name: m\n"
    "        tests: [unique, not_null]\n  - name: a\n    columns:\n"
    "      - name: id\n        tests:\n          - relationships: {to: "
    "ref('d'), field: id}\n",
    NULL};

/* The run's lines without their timings ("(3 rows, 0.52s)" -> "(3 rows)"). */
static char *without_times(const char *s) {
  txf_buf b;
  txf_buf_init(&b, 0);
  for (const char *p = s; *p; p++) {
    if ((*p == ' ' || *p == '(') && p[1] >= '0' && p[1] <= '9') {
      const char *q = p + 1;
      while ((*q >= '0' && *q <= '9') || *q == '.')
        q++;
      if (*q == 's' && q[1] == ')') {
        if (*p == ' ' && b.len >= 1 && b.data[b.len - 1] == ',')
          b.data[--b.len] = 0;
        else if (*p == '(' && b.len >= 1 && b.data[b.len - 1] == ' ')
          b.data[--b.len] = 0;
        p = *p == '(' ? q + 1 : q;
        continue;
      }
    }
    (void)txf_buf_putc(&b, *p);
  }
  return txf_buf_take(&b, NULL);
}

static int cmp_line(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* S's lines in sorted order: with several workers the lines print as
 * things happen, so a run's lines are a serial run's in another order. */
static char *sorted_lines(const char *s) {
  char *copy = txf_xstrdup(s);
  char **v = NULL;
  size_t n = 0;
  for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l;
       l = strtok_r(NULL, "\n", &save)) {
    v = txf_xrealloc(v, (n + 1) * sizeof *v);
    v[n++] = l;
  }
  qsort(v, n, sizeof *v, cmp_line);
  txf_buf b;
  txf_buf_init(&b, 0);
  for (size_t i = 0; i < n; i++)
    (void)txf_buf_printf(&b, "%s\n", v[i]);
  free(v);
  free(copy);
  return txf_buf_take(&b, NULL);
}

static char *pool_build(int threads, txf_store *st, txf_models_summary *s,
                        char **top) {
  proj pr;
  txf_err err;
  ASSERT_OK(open_proj(&pr, NULL, &err), &err);
  pr.o.threads = threads;
  pr.o.store = st;
  pr.o.invocation_id = threads == 1 ? "serial" : "pool";
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  pr.o.out = f;
  ASSERT(txf_models_build(pr.m, s, &err) == TXF_ETEST);
  fclose(f);
  pr.o.out = NULL;
  txf_adapter *a;
  ASSERT_OK(txf_models_adapter(pr.m, &a, &err), &err);
  ASSERT_OK(a->ops->query_json(a, "select * from top order by m", top, &err),
            &err);
  close_proj(&pr);
  char *r = without_times(buf);
  free(buf);
  return r;
}

TEST(models_threads_build_independent_nodes_at_once) {
  write_project(pool_files);
  txf_err err;
  txf_store *st;
  ASSERT_OK(txf_store_open(&st, unit_path("meta.db"), 0, &err), &err);
  txf_models_summary s1, s2;
  char *top1, *top2;
  char *out1 = pool_build(1, st, &s1, &top1);
  char *out2 = pool_build(0, st, &s2, &top2); /* 0: the profile's 2 */
  /* a failure stops its dependents only */
  ASSERT_EQ_I64(s2.n_ok, 6);
  ASSERT_EQ_I64(s2.n_error, 1);
  ASSERT_EQ_I64(s2.n_skipped, 1);
  ASSERT_EQ_I64(s2.n_pass, 3);
  ASSERT_CONTAINS(out2, "SKIP   view        bad_child (upstream bad did not "
                        "build)");
  ASSERT_CONTAINS(out2, "OK     table       top (4 rows)");
  /* one at a time, each node's lines are its START, its tests, its end */
  ASSERT_CONTAINS(out1, "START  table       top\n  PASS   unique_top_m\n"
                        "  PASS   not_null_top_m\n  8 of 8 OK     table       "
                        "top (4 rows)\n");
  /* at once, the same lines (in the order things happened), each node's
   * START before its end, and the same results */
  char *sorted1 = sorted_lines(out1), *sorted2 = sorted_lines(out2);
  ASSERT_EQ_STR(sorted2, sorted1);
  free(sorted1);
  free(sorted2);
  const char *start = strstr(out2, "START  table       top");
  const char *end = strstr(out2, "OK     table       top (4 rows)");
  ASSERT(start && end && start < end);
  ASSERT_EQ_STR(top2, top1);
  ASSERT_CONTAINS(top2, "\"n\": \"6\"");
  /* two of the slow models were building at the same time (recorded
   * start + duration overlap); one at a time, none did */
  const char *overlap =
      "SELECT count(*) FROM model_builds x JOIN model_builds y ON "
      "x.invocation_id = y.invocation_id AND x.model < y.model AND "
      "x.started_at_us < y.started_at_us + y.duration_us AND "
      "y.started_at_us < x.started_at_us + x.duration_us "
      "WHERE x.invocation_id = ? AND x.model IN ('a','b','c','d') AND "
      "y.model IN ('a','b','c','d')";
  sqlite3_stmt *q;
  int64_t n[2];
  for (int i = 0; i < 2; i++) {
    ASSERT_OK(txf_store_prepare(st, overlap, &q, &err), &err);
    sqlite3_bind_text(q, 1, i ? "pool" : "serial", -1, SQLITE_STATIC);
    ASSERT(sqlite3_step(q) == SQLITE_ROW);
    n[i] = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
  }
  ASSERT_EQ_I64(n[0], 0);
  /* (valgrind runs one thread at a time, in slices long enough for a
   * worker to finish a slow model before the other one is scheduled:
   * there the overlap is left to the plain and ASan runs) */
  if (!RUNNING_ON_VALGRIND)
    ASSERT(n[1] >= 1);
  free(out1);
  free(out2);
  free(top1);
  free(top2);
  txf_store_close(st);
}

/* profiles.yml values written as templates are checked once rendered, and
 * the error points at the value */
TEST(models_profile_templates_are_checked_after_rendering) {
  const char *files[] = {
      "txnflow.yml", base_yml, "profiles.yml",
      "t:\n  outputs:\n    dev:\n      type: duckdb\n      path: ':memory:'\n"
      "      threads: \"{{ env_var('TXF_UNIT_THREADS', '3') }}\"\n",
      NULL};
  write_project(files);
  unsetenv("TXF_UNIT_THREADS");
  proj pr;
  txf_err err;
  ASSERT_OK(open_proj(&pr, NULL, &err), &err);
  close_proj(&pr);
  setenv("TXF_UNIT_THREADS", "lots", 1);
  load_fails(files, "profiles.yml:6:16: key 't.outputs.dev.threads': "
                    "expected an integer 1..64, got 'lots'");
  unsetenv("TXF_UNIT_THREADS");
  const char *unset[] = {
      "txnflow.yml", base_yml, "profiles.yml",
      "t:\n  outputs:\n    dev:\n      type: duckdb\n"
      "      path: \"{{ env_var('TXF_UNIT_NOPE') }}\"\n",
      NULL};
  unsetenv("TXF_UNIT_NOPE");
  load_fails(unset, "profiles.yml:5:13: key 't.outputs.dev.path': "
                    "environment variable 'TXF_UNIT_NOPE' is not set");
  const char *syntax[] = {"txnflow.yml", base_yml, "profiles.yml",
                          "t:\n  outputs:\n    dev:\n      type: duckdb\n"
                          "      schema: \"{{ env_var( }}\"\n",
                          NULL};
  load_fails(syntax, "profiles.yml:5:15: key 't.outputs.dev.schema': ");
  const char *empty[] = {"txnflow.yml", base_yml, "profiles.yml",
                         "t:\n  outputs:\n    dev:\n      type: duckdb\n"
                         "      path: \"{{ env_var('TXF_UNIT_NOPE', '') }}\"\n",
                         NULL};
  load_fails(empty, "profiles.yml:5:13: key 't.outputs.dev.path': the path "
                    "is empty");
  const char *typo[] = {"txnflow.yml", base_yml, "profiles.yml",
                        "t:\n  targt: dev\n  outputs:\n    dev: {path: "
                        "':memory:'}\n",
                        NULL};
  load_fails(typo, "profiles.yml:2:3: unknown key 'targt' in profile 't' "
                   "(did you mean 'target'?)");
}

/* The models runner's profile loading (lookup, checks, env_var rendering)
 * on mutations of a valid profiles.yml: loaded or a config error naming
 * profiles.yml, never a crash (ASan). */
TEST(models_profile_loader_survives_mutations) {
  static const char good[] =
      "t:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
      "      path: \"{{ env_var('TXF_UNIT_FUZZ_DB', ':memory:') }}\"\n"
      "      schema: main\n      threads: \"{{ env_var('TXF_UNIT_X', '2') "
      "}}\"\n"
      "    pg: {type: postgres, host: h, port: 5432, password: \"{{ "
      "env_var('TXF_UNIT_X', 'pw') }}\", sslmode: disable}\n";
  const char *files[] = {"txnflow.yml", base_yml, NULL};
  write_project(files);
  unsetenv("TXF_UNIT_FUZZ_DB");
  unsetenv("TXF_UNIT_X");
  txf_project *p;
  txf_err err;
  ASSERT_OK(txf_project_load(&p, unit_tmpdir(), &err), &err);
  char *data = txf_path_join(unit_tmpdir(), "data");
  txf_models_opts o = {.data_dir = data, .home = unit_tmpdir()};
  size_t n = sizeof good - 1;
  char buf[sizeof good + 64];
  uint64_t x = 0x853c49e6748fea9bu;
  static const char specials[] = ":-[]{}'\"%#,\n (){}|";
  int loaded = 0, rejected = 0;
  for (int iter = 0; iter < 600; iter++) {
    memcpy(buf, good, n);
    size_t len = n;
    for (int e = 0; e < 1 + iter % 3; e++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      size_t pos = (size_t)(x % len);
      if ((x >> 32) % 3 == 0)
        buf[pos] = specials[(x >> 40) % (sizeof specials - 1)];
      else if ((x >> 32) % 3 == 1)
        len = pos ? pos : 1;
      else
        buf[pos] = (char)(x >> 48);
    }
    FILE *f = fopen(unit_path("profiles.yml"), "wb");
    fwrite(buf, 1, len, f);
    fclose(f);
    o.target = iter % 2 ? "pg" : NULL;
    txf_models *m = NULL;
    int rc = txf_models_load(&m, p, &o, &err);
    if (!rc) {
      loaded++;
      txf_models_free(m);
    } else {
      if (rc != TXF_ECONFIG)
        unit_fail(__FILE__, __LINE__, "rc %d: %s", rc, err.msg);
      ASSERT_CONTAINS(err.msg, "yml:");
      rejected++;
    }
  }
  txf_project_free(p);
  free(data);
  ASSERT(loaded > 0 && rejected > 0);
}

/* Compile the project in the test's directory for TARGET (--full-refresh:
 * no warehouse is asked) and return models/m.sql as compiled, or NULL with
 * ERR set. */
static char *compile_for(const char *target, txf_err *err) {
  proj pr;
  memset(&pr, 0, sizeof pr);
  int rc = txf_project_load(&pr.p, unit_tmpdir(), err);
  pr.data = txf_path_join(unit_tmpdir(), "data");
  pr.o.data_dir = pr.data;
  pr.o.home = unit_tmpdir();
  pr.o.target = target;
  pr.o.full_refresh = 1;
  if (!rc)
    rc = txf_models_load(&pr.m, pr.p, &pr.o, err);
  if (!rc)
    rc = txf_models_compile(pr.m, err);
  char *out = NULL;
  if (!rc) {
    txf_buf b;
    txf_buf_init(&b, 1 << 20);
    rc = txf_fs_read_file(unit_path("target/compiled/models/m.sql"), &b, err);
    out = rc ? NULL : txf_buf_take(&b, NULL);
    txf_buf_release(&b);
  }
  if (pr.m)
    txf_models_free(pr.m);
  txf_project_free(pr.p);
  free(pr.data);
  return out;
}

static const char dispatch_profiles[] =
    "t:\n  target: dev\n  outputs:\n"
    "    dev: {type: duckdb, path: ':memory:'}\n"
    "    pg: {type: postgres, host: example.invalid, user: u, dbname: d,"
    " password: \"{{ env_var('TXF_UNIT_PW') }}\", schema: s}\n"
    "    rs: {type: redshift, host: example.invalid, user: u, dbname: d,"
    " password: \"{{ env_var('TXF_UNIT_PW') }}\", schema: s}\n";

static const char dispatch_macros[] =
    "{% macro q(x) %}{{ return(adapter.dispatch('q')(x)) }}{% endmacro %}\n"
    "{% macro default__q(x) %}d{{ x }}{% endmacro %}\n"
    "{% macro postgres__q(x) %}p{{ x }}{% endmacro %}\n"
    "{% macro duckdb__q(x) %}k{{ x }}{% endmacro %}\n"
    "{% macro default__z() %}dz{% endmacro %}\n"
    "{% macro redshift__z() %}rz{% endmacro %}\n";

static void expect_compiled(const char *target, const char *want) {
  txf_err err;
  txf_err_clear(&err);
  char *got = compile_for(target, &err);
  if (!got)
    unit_fail(__FILE__, __LINE__, "compile for %s: %s", target, err.msg);
  if (!strstr(got, want))
    unit_fail(__FILE__, __LINE__, "compile for %s: \"%s\" lacks \"%s\"",
              target, got, want);
  free(got);
}

static void expect_compile_error(const char *target, const char *want) {
  txf_err err;
  txf_err_clear(&err);
  char *got = compile_for(target, &err);
  if (got)
    unit_fail(__FILE__, __LINE__, "compile for %s should fail, got \"%s\"",
              target, got);
  ASSERT_CONTAINS(err.msg, want);
}

TEST(models_dispatch_picks_the_targets_macro) {
  setenv("TXF_UNIT_PW", "x", 1);
  const char *files[] = {
      "txnflow.yml", base_yml, "profiles.yml", dispatch_profiles,
      "macros/m.sql", dispatch_macros, "models/m.sql",
      "select '{{ q(1) }}' as a, '{{ adapter.dispatch(\"z\")() }}' as b,\n"
      "'{{ adapter.dispatch('q', macro_namespace='t')(2) }}' as c,\n"
      "'{{ adapter.dispatch(macro_name='q', macro_namespace='other')(3) }}'"
      " as d",
      NULL};
  write_project(files);
  /* the target's type first; Redshift then tries PostgreSQL's; then the
   * default. Compiled without a server (example.invalid) */
  expect_compiled("dev", "select 'k1' as a, 'dz' as b,\n'k2' as c,\n'k3'");
  expect_compiled("pg", "select 'p1' as a, 'dz' as b,\n'p2' as c,\n'p3'");
  expect_compiled("rs", "select 'p1' as a, 'rz' as b,\n'p2' as c,\n'p3'");
}

TEST(models_dispatch_search_order_and_errors) {
  setenv("TXF_UNIT_PW", "x", 1);
  const char *files[] = {
      "txnflow.yml",
      "name: t\nprofile: t\ndispatch:\n"
      "  - macro_namespace: other\n    search_order: [other]\n",
      "profiles.yml", dispatch_profiles, "macros/m.sql", dispatch_macros,
      "models/m.sql", "select '{{ adapter.dispatch('q', 'other')(1) }}'",
      NULL};
  write_project(files);
  /* the dispatch config says where to look for 'other': not in t */
  expect_compile_error("rs",
                       "models/m.sql:1:19: adapter.dispatch('q'): no macro "
                       "for target type 'redshift' in namespace 'other'; "
                       "searched for 'other.redshift__q', 'other.postgres__q',"
                       " 'other.default__q'");
  unit_write_file(unit_path("txnflow.yml"),
                  "name: t\nprofile: t\ndispatch:\n"
                  "  - macro_namespace: other\n    search_order: [other, t]\n");
  expect_compiled("rs", "select 'p1'");
  unit_write_file(unit_path("models/m.sql"),
                  "select '{{ adapter.dispatch('nope')() }}'");
  expect_compile_error("dev", "adapter.dispatch('nope'): no macro for target "
                              "type 'duckdb'; searched for 'duckdb__nope', "
                              "'default__nope'");
  unit_write_file(unit_path("models/m.sql"),
                  "select '{{ adapter.dispatch('dbt_utils.q')() }}'");
  expect_compile_error("dev", "did you mean adapter.dispatch('q', "
                              "macro_namespace='dbt_utils')?");
  unit_write_file(unit_path("models/m.sql"),
                  "select '{{ adapter.dispatch(1)() }}'");
  expect_compile_error("dev", "adapter.dispatch(macro_name, "
                              "macro_namespace=None) takes");
  unit_write_file(unit_path("models/m.sql"),
                  "select '{{ adapter.dispatch('q', packages=['x'])(1) }}'");
  expect_compile_error("dev", "adapter.dispatch(macro_name, "
                              "macro_namespace=None) takes");
  /* a dispatch config that is not one */
  unit_write_file(unit_path("models/m.sql"), "select 1");
  unit_write_file(unit_path("txnflow.yml"),
                  "name: t\nprofile: t\ndispatch:\n"
                  "  - macro_namespace: other\n");
  expect_compile_error("dev", "txnflow.yml:4:5: dispatch: search_order must "
                              "be a list of project names");
  unit_write_file(unit_path("txnflow.yml"),
                  "name: t\nprofile: t\ndispatch: {other: [t]}\n");
  expect_compile_error("dev", "key 'dispatch': expected a list");
}

/* lookup(ref('x')) is the ref outside a build by change (there it names
 * the tracked input over the change's range, t3102); one relation only */
TEST(models_lookup_is_the_ref_outside_a_build_by_change) {
  setenv("TXF_UNIT_PW", "x", 1);
  const char *files[] = {"txnflow.yml", base_yml, "profiles.yml",
                         dispatch_profiles, "models/a.sql", "select 1 as k",
                         "models/m.sql",
                         "select * from {{ lookup(ref('a')) }} x", NULL};
  write_project(files);
  expect_compiled("dev", "select * from \"main\".\"a\" x");
  const char *bad[] = {"txnflow.yml", base_yml, "profiles.yml",
                       dispatch_profiles, "models/a.sql", "select 1 as k",
                       "models/m.sql",
                       "select * from {{ lookup(ref('a'), 'b') }} x", NULL};
  write_project(bad);
  expect_compile_error("dev", "lookup(relation) takes one relation");
}
