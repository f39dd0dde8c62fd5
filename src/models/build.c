/* Building one node: a seed, or a model's materialization (view, table,
 * incremental, ephemeral), written under a temporary name, audited, then
 * swapped in (write-audit-publish) — and its result recorded. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "duck/duck.h"
#include "models/internal.h"

static const char *kind_word(txf_rel_kind k) {
  return k == TXF_REL_VIEW ? "VIEW" : "TABLE";
}


/* Recreate view SCHEMA.IDENT as SQL: the same rows, but its SQL names the
 * lake and the seeds by their absolute paths, which a project moved or
 * restored elsewhere changes without changing the view's hash
 * (txf_models_changes_hash). A view is its SQL: this costs a bind. */
static int replace_view(txf_adapter *a, const char *schema, const char *ident,
                        const char *sql, txf_err *err) {
  char *r = txf_duck_quote_rel(schema, ident);
  char *q = txf_xasprintf("CREATE OR REPLACE VIEW %s AS\n%s", r, sql);
  int rc = a->ops->exec(a, q, err);
  free(q);
  free(r);
  return rc;
}

static int drop_if_exists(txf_adapter *a, const char *schema,
                          const char *ident, txf_err *err) {
  txf_rel_kind k;
  int rc = a->ops->relation_kind(a, schema, ident, &k, err);
  if (rc || k == TXF_REL_NONE)
    return rc;
  char *r = txf_duck_quote_rel(schema, ident);
  char *sql = txf_xasprintf("DROP %s %s", kind_word(k), r);
  rc = a->ops->exec(a, sql, err);
  free(sql);
  free(r);
  return rc;
}

/* SQL with each scan of the silver lake as compile.c writes it
 * (read_parquet('GLOB', hive_partitioning = true)) given its row count,
 * read from the files' footers. DuckDB estimates a scan of many Parquet
 * files from the first one, the lake's earliest event date (a few late
 * arrivals), so at 10,000,000 rows a full build of the fact over the
 * stg_transactions view hashed the view's side of its seed joins: 50.0 s
 * of CPU and 3.1 GiB against 19.7 s and 0.44 GiB with the count (decision
 * 0702, eleventh round). A scan whose count fails is left as it is. */
static char *with_lake_counts(txf_adapter *a, const char *sql) {
  static const char head[] = "read_parquet('",
                    tail[] = "', hive_partitioning = true)";
  txf_buf b;
  txf_buf_init(&b, 0);
  const char *p = sql, *h, *t;
  while ((h = strstr(p, head)) && (t = strstr(h, tail))) {
    int call = (int)(t - h) + (int)sizeof tail - 1;
    char *q = txf_xasprintf("SELECT count(*) FROM %.*s", call, h);
    int64_t n;
    txf_err e;
    if (a->ops->query_i64(a, q, &n, &e) == 0)
      (void)txf_buf_printf(&b, "%.*s, explicit_cardinality = %" PRId64 ")",
                           (int)(h - p) + call - 1, p, n);
    else
      (void)txf_buf_printf(&b, "%.*s", (int)(h - p) + call, p);
    free(q);
    p = h + call;
  }
  (void)txf_buf_puts(&b, p);
  return txf_buf_take(&b, NULL);
}

/* Whether table REL's rows are in ORDER's order block by block: no block
 * of 122,880 rows (a row group) holds a value below one an earlier block
 * holds. 1 yes, 0 no, -1 the check failed. */
static int blocks_in_order(txf_adapter *a, const char *rel, const char *order) {
  char *sql = txf_xasprintf(
      "SELECT count(*) FROM (SELECT lo, max(hi) OVER (ORDER BY g ROWS "
      "BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before FROM (SELECT "
      "rowid // 122880 AS g, min(%s) AS lo, max(%s) AS hi FROM %s GROUP BY "
      "g)) WHERE lo < before",
      order, order, rel);
  int64_t n = 0;
  txf_err e;
  int rc = a->ops->query_i64(a, sql, &n, &e);
  free(sql);
  return rc ? -1 : n == 0;
}

/* "k1 IS NULL OR k2 IS NULL" / "t.k1 = s.k1 AND ..." / "k1, k2" */
static char *key_expr(const txf_strlist *keys, const char *fmt_each,
                      const char *sep) {
  txf_buf b;
  txf_buf_init(&b, 0);
  for (size_t i = 0; i < keys->n; i++) {
    char *q = txf_duck_quote_ident(keys->v[i]);
    if (i)
      (void)txf_buf_puts(&b, sep);
    /* fmt_each uses %1$s for the quoted key */
    (void)txf_buf_printf(&b, fmt_each, q, q);
    free(q);
  }
  return txf_buf_take(&b, NULL);
}

/* NULL or doubled unique_key values in REL are an error: a doubled
 * transaction is an incident, not a detail. Except for delete+insert,
 * whose key names a partition (an event date): every existing row of each
 * key in the new rows is replaced, so the key repeats by design and
 * nothing can be doubled (dbt's partition-replace idiom; a model's own
 * unique test guards its real key). */
static int check_keys(txf_models *m, txf_adapter *a, size_t i,
                      const char *rel, txf_err *err) {
  mnode *n = &m->nodes[i];
  if (!n->unique_key.n)
    return 0;
  char *nulls = key_expr(&n->unique_key, "%s IS NULL%.0s", " OR ");
  char *cols = key_expr(&n->unique_key, "%s%.0s", ", ");
  char *sql = txf_xasprintf("SELECT count(*) FROM %s WHERE %s", rel, nulls);
  int64_t k = 0;
  int rc = a->ops->query_i64(a, sql, &k, err);
  free(sql);
  if (!rc && k > 0)
    rc = txf_err_set(err, TXF_ETEST,
                     "unique_key (%s) is NULL in %" PRId64 " new row%s", cols,
                     k, k == 1 ? "" : "s");
  int partition_key = n->strategy && (!strcmp(n->strategy, "delete+insert") ||
                                      !strcmp(n->strategy, "changes"));
  if (!rc && !partition_key) {
    sql = txf_xasprintf("SELECT count(*) FROM (SELECT %s FROM %s GROUP BY %s "
                        "HAVING count(*) > 1) AS d",
                        cols, rel, cols);
    rc = a->ops->query_i64(a, sql, &k, err);
    free(sql);
    if (!rc && k > 0)
      rc = txf_err_set(err, TXF_ETEST,
                       "unique_key (%s) has %" PRId64 " value%s repeated in "
                       "the new rows",
                       cols, k, k == 1 ? "" : "s");
  }
  free(nulls);
  free(cols);
  return rc;
}

/* The statements that create again, in dependency order, the views (and
 * materialized views) that read SCHEMA.IDENT on PostgreSQL or Redshift,
 * directly or through other views: "" when none. PostgreSQL binds a view
 * to the relations it reads, so it refuses to drop a table a view reads;
 * such views are dropped with it (CASCADE) and created again from their
 * definitions over the new relation, in the same transaction (dbt drops
 * them and leaves them to be rebuilt, which a build that does not select
 * them never does). DuckDB binds a view when it is read: nothing to do. */
static int dependent_views(txf_adapter *a, const char *schema,
                           const char *ident, char **out, txf_err *err) {
  *out = txf_xstrdup("");
  if (!strcmp(a->ops->type, "duckdb"))
    return 0;
  char *qs = txf_duck_quote_str(schema), *qn = txf_duck_quote_str(ident);
  char *sql = txf_xasprintf(
      "WITH RECURSIVE deps(oid, depth) AS ("
      " SELECT r.ev_class, 1 FROM pg_depend d"
      " JOIN pg_rewrite r ON r.oid = d.objid"
      " WHERE d.classid = 'pg_rewrite'::regclass AND r.ev_class <> d.refobjid"
      " AND d.refobjid = (SELECT c.oid FROM pg_class c JOIN pg_namespace n"
      " ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s)"
      " UNION ALL"
      " SELECT r.ev_class, deps.depth + 1 FROM deps"
      " JOIN pg_depend d ON d.refobjid = deps.oid"
      " JOIN pg_rewrite r ON r.oid = d.objid"
      " WHERE d.classid = 'pg_rewrite'::regclass AND r.ev_class <> d.refobjid"
      " AND deps.depth < 64)"
      " SELECT 'CREATE ' || CASE WHEN c.relkind = 'm' THEN 'MATERIALIZED '"
      " ELSE '' END || 'VIEW ' || quote_ident(n.nspname) || '.' ||"
      " quote_ident(c.relname) || ' AS ' || pg_get_viewdef(c.oid) AS ddl"
      " FROM (SELECT oid, max(depth) AS depth FROM deps GROUP BY oid) v"
      " JOIN pg_class c ON c.oid = v.oid"
      " JOIN pg_namespace n ON n.oid = c.relnamespace"
      " ORDER BY v.depth, n.nspname, c.relname",
      qs, qn);
  json_t *rows;
  int rc = txf_models_query_rows(a, sql, &rows, err);
  TXF_FREE_ALL(sql, qs, qn);
  if (rc)
    return rc;
  txf_buf b;
  txf_buf_init(&b, 0);
  size_t k;
  json_t *row;
  json_array_foreach(rows, k, row) {
    const char *ddl = json_string_value(json_object_get(row, "ddl"));
    if (!ddl)
      continue;
    size_t len = strlen(ddl); /* (pg_get_viewdef ends it with ';') */
    while (len && (ddl[len - 1] == ';' || ddl[len - 1] == ' ' ||
                   ddl[len - 1] == '\n'))
      len--;
    (void)txf_buf_printf(&b, "%.*s; ", (int)len, ddl);
  }
  json_decref(rows);
  free(*out);
  *out = txf_buf_take(&b, NULL);
  if (!*out)
    *out = txf_xstrdup("");
  return 0;
}

/* Replace SCHEMA.IDENT by TMP_IDENT; EXTRA (or NULL) runs in the same
 * transaction, and so does the re-creation of the views that read it on
 * PostgreSQL (dependent_views). */
static int swap_in(txf_adapter *a, const char *schema, const char *ident,
                   const char *tmp_ident, txf_rel_kind new_kind,
                   const char *extra, txf_err *err) {
  txf_rel_kind old;
  int rc = a->ops->relation_kind(a, schema, ident, &old, err);
  char *views = NULL;
  if (!rc && old != TXF_REL_NONE)
    rc = dependent_views(a, schema, ident, &views, err);
  if (rc) {
    free(views);
    return rc;
  }
  char *rel = txf_duck_quote_rel(schema, ident), *tmp = txf_duck_quote_rel(schema, tmp_ident);
  char *qi = txf_duck_quote_ident(ident);
  int cascade = views && *views;
  char *drop = old == TXF_REL_NONE
                   ? txf_xstrdup("")
                   : txf_xasprintf("DROP %s %s%s; ", kind_word(old), rel,
                                   cascade ? " CASCADE" : "");
  /* One transaction: readers see the old relation or the new one. */
  char *sql = txf_xasprintf("BEGIN TRANSACTION; %sALTER %s %s RENAME TO %s; "
                            "%s%s%sCOMMIT",
                            drop, kind_word(new_kind), tmp, qi,
                            views ? views : "", extra ? extra : "",
                            extra ? "; " : "");
  rc = a->ops->exec(a, sql, err);
  if (rc)
    (void)a->ops->exec(a, "ROLLBACK", &(txf_err){0});
  if (rc && cascade)
    (void)txf_err_wrap(err,
                       "replacing %s and creating again the views that read "
                       "it",
                       ident);
  TXF_FREE_ALL(sql, drop, rel, tmp, qi, views);
  return rc;
}

/* The seed's column_types as a DuckDB struct literal, for the columns its
 * header has (a folder-level +column_types names columns of some seeds
 * only); NULL when none apply. */
static char *seed_types(const mnode *n) {
  if (!n->ct_names.n)
    return NULL;
  FILE *f = fopen(n->abs_path, "r");
  if (!f)
    return NULL;
  char line[16384];
  int ok = fgets(line, sizeof line, f) != NULL;
  fclose(f);
  if (!ok)
    return NULL;
  char *h = line;
  if (!strncmp(h, "\xef\xbb\xbf", 3))
    h += 3;
  txf_strlist cols = {0};
  txf_buf cur;
  txf_buf_init(&cur, 0);
  int quoted = 0;
  for (char *c = h;; c++) {
    if (quoted) {
      if (*c == '"' && c[1] == '"') {
        (void)txf_buf_putc(&cur, '"');
        c++;
      } else if (*c == '"') {
        quoted = 0;
      } else if (*c) {
        (void)txf_buf_putc(&cur, *c);
      } else {
        break;
      }
      continue;
    }
    if (*c == '"') {
      quoted = 1;
    } else if (*c == ',' || *c == '\n' || *c == '\r' || !*c) {
      txf_strlist_push(&cols, cur.data ? cur.data : "");
      txf_buf_reset(&cur);
      if (*c != ',')
        break;
    } else {
      (void)txf_buf_putc(&cur, *c);
    }
  }
  txf_buf_release(&cur);
  txf_buf b;
  txf_buf_init(&b, 0);
  for (size_t i = 0; i < n->ct_names.n; i++) {
    if (!txf_strlist_has(&cols, n->ct_names.v[i]))
      continue;
    char *k = txf_duck_quote_str(n->ct_names.v[i]);
    char *t = txf_duck_quote_str(n->ct_types.v[i]);
    (void)txf_buf_printf(&b, "%s%s: %s", b.len ? ", " : "{", k, t);
    free(k);
    free(t);
  }
  txf_strlist_release(&cols);
  if (!b.len) {
    txf_buf_release(&b);
    return NULL;
  }
  (void)txf_buf_putc(&b, '}');
  return txf_buf_take(&b, NULL);
}

/* The incremental statements for PostgreSQL/Redshift (no INSERT BY NAME,
 * no MERGE ... UPDATE SET *): the new rows NREL (table NEW_IDENT) go into
 * REL by column name; merge replaces the rows whose unique_key matches —
 * the same result as an upsert, as check_keys() made the new keys unique
 * and not NULL. The caller wraps *SQL in one transaction. */
static int incremental_sql_pg(txf_adapter *a, const mnode *n,
                              const char *schema, const char *new_ident,
                              const char *rel, const char *nrel,
                              const char *strategy, char **sql,
                              txf_err *err) {
  char *list;
  int rc = txf_adapter_column_list(a, schema, new_ident, &list, err);
  if (rc)
    return rc;
  char *ins = txf_xasprintf("INSERT INTO %s (%s) SELECT %s FROM %s", rel,
                            list ? list : "", list ? list : "", nrel);
  if (!n->unique_key.n || !strcmp(strategy, "append")) {
    *sql = ins;
  } else {
    /* the target qualified by its name: Redshift's DELETE takes no
     * alias */
    txf_buf on;
    txf_buf_init(&on, 0);
    for (size_t k = 0; k < n->unique_key.n; k++) {
      char *q = txf_duck_quote_ident(n->unique_key.v[k]);
      (void)txf_buf_printf(&on, "%s%s.%s = s.%s", k ? " AND " : "", rel, q,
                           q);
      free(q);
    }
    *sql = txf_xasprintf("DELETE FROM %s WHERE EXISTS (SELECT 1 FROM %s AS s "
                         "WHERE %s); %s",
                         rel, nrel, on.data, ins);
    txf_buf_release(&on);
    free(ins);
  }
  free(list);
  return 0;
}

/* The rows of SCHEMA.IDENT, or -1 when they cannot be counted. */
static int64_t count_rows(txf_adapter *a, const char *schema,
                          const char *ident) {
  char *rel = txf_duck_quote_rel(schema, ident);
  char *sql = txf_xasprintf("SELECT count(*) FROM %s", rel);
  int64_t n;
  txf_err e2;
  if (a->ops->query_i64(a, sql, &n, &e2))
    n = -1;
  free(sql);
  free(rel);
  return n;
}

/* Table SCHEMA.IDENT's rows again in ORDER's order: renamed aside, then
 * inserted back by value where few (txf_duck_insert_ordered: one pass per
 * value over the stored rows, which their blocks' min/max mostly skip),
 * else sorted. A full build writes its rows as its SQL gives them, with no
 * sort (at 10,000,000 rows the fact's sorted CREATE held 3.1 GiB where
 * the unsorted one held 0.44 GiB); a scan of the lake gives them nearly in
 * order, so this runs only when some block came out of order (decision
 * 0702, eleventh round). */
static int reorder(txf_adapter *a, txf_adapter *cat, const char *schema,
                   const char *ident, const char *order,
                   const txf_logger *log, const char *who, txf_err *err) {
  char *raw_ident = txf_xasprintf("%s__txf_raw", ident);
  char *rel = txf_duck_quote_rel(schema, ident),
       *raw = txf_duck_quote_rel(schema, raw_ident);
  char *qi = txf_duck_quote_ident(raw_ident);
  int rc = drop_if_exists(cat, schema, raw_ident, err);
  char *sql = txf_xasprintf("ALTER TABLE %s RENAME TO %s", rel, qi);
  if (!rc)
    rc = cat->ops->exec(cat, sql, err);
  free(sql);
  sql = txf_xasprintf("CREATE TABLE %s AS SELECT * FROM %s LIMIT 0", rel, raw);
  if (!rc)
    rc = a->ops->exec(a, sql, err);
  free(sql);
  char *head = txf_xasprintf("INSERT INTO %s SELECT *", rel);
  if (!rc)
    rc = txf_adapter_insert_ordered(a, head, raw, order, log, who, err);
  txf_err e2;
  int rd = drop_if_exists(cat, schema, raw_ident, rc ? &e2 : err);
  if (!rc)
    rc = rd;
  TXF_FREE_ALL(head, rel, raw, qi, raw_ident);
  return rc;
}

/* Build node I (model or seed). Returns 0, or an error with ERR set and
 * *audit_fail = 1 when it was a failed audit. */
static int build_one(txf_models *m, const exec_ctx *ex, size_t i,
                     const runopts *ro, int *audit_fail, int64_t *n_rows,
                     txf_err *err) {
  mnode *n = &m->nodes[i];
  *audit_fail = 0;
  *n_rows = -1;
  txf_adapter *a = ex->a, *cat = ex->cat;
  int rc;
  if (n->kind == MN_MODEL && !strcmp(n->materialized, "snapshot")) {
    /* a snapshot keeps history in place: its tests run on it after */
    rc = txf_models_snapshot_build(m, a, i, n_rows, err);
    if (!rc && ro->audit) {
      rc = txf_models_node_audit(m, ex, i, NULL, ro->s,
                                 "the snapshot is updated", err);
      *audit_fail = rc != 0;
    }
    return rc;
  }
  const char *schema = txf_models_schema(m, i),
             *ident = txf_models_identifier(m, i);
  char *qs = txf_duck_quote_ident(schema);
  char *sql = txf_xasprintf("CREATE SCHEMA IF NOT EXISTS %s", qs);
  free(qs);
  rc = cat->ops->exec(cat, sql, err);
  free(sql);
  if (rc)
    return rc;
  txf_rel_kind existing;
  rc = a->ops->relation_kind(a, schema, ident, &existing, err);
  if (rc)
    return rc;
  const char *mat = n->materialized;
  int is_seed = n->kind == MN_SEED;
  int by_change = txf_models_is_changes(n);
  int incr = !is_seed && !by_change && !strcmp(mat, "incremental") &&
             existing == TXF_REL_TABLE && !m->opts->full_refresh;
  char *body = NULL, *seed_ty = NULL, *state_sql = NULL, *order = NULL;
  int lake_counts = 0;
  char hash[65] = "";
  n->chg_in = n->chg_out = -1;
  if (by_change) {
    free(n->audit_rel);
    n->audit_rel = NULL;
    n->chg_delta = 0;
    txf_strlist_release(&n->chg_kcols);
    rc = txf_models_changes_full_sql(m, i, &body, err);
    if (!rc)
      rc = txf_models_changes_hash(m, i, body, hash, err);
    int full = 1;
    int is_view = txf_models_is_changes_view(n);
    if (!rc && existing == (is_view ? TXF_REL_VIEW : TXF_REL_TABLE) &&
        !m->opts->full_refresh)
      rc = txf_models_changes_build(m, ex, i, ro, hash, &full, audit_fail, err);
    if (rc || !full) {
      if (!rc && is_view && txf_models_target_is_duck(m))
        rc = replace_view(a, schema, ident, body, err);
      if (!rc && is_view) {
        /* the view is unchanged: the other copy recreates it from this */
        free(n->compiled);
        n->compiled = body;
        body = NULL;
      }
      free(body);
      if (!rc && !is_view && n->chg_rows >= 0) {
        *n_rows = n->chg_rows;
        txf_log_debug(m->opts->log, "node %s: %" PRId64 " rows, as its change "
                      "left them (not counted)", n->name, n->chg_rows);
      } else if (!rc && !is_view) {
        *n_rows = count_rows(a, schema, ident);
      }
      return rc;
    }
    if (m->chg_ready && m->chg_now >= 0)
      state_sql = txf_models_changes_state_sql(m, i, hash);
    lake_counts = is_view && txf_models_target_is_duck(m);
    if (n->cluster_by && !is_view && txf_models_target_is_duck(m)) {
      /* kept in cluster_by order (each storage block then holds a narrow
       * range, which later changes' deletes skip by): below */
      order = txf_duck_quote_ident(n->cluster_by);
    } else if (n->cluster_by && !is_view) {
      char *c = txf_duck_quote_ident(n->cluster_by);
      char *sorted = txf_xasprintf("SELECT * FROM (\n%s\n) AS t ORDER BY %s",
                                   body, c);
      free(body);
      free(c);
      body = sorted;
    }
  } else if (is_seed) {
    char *p = txf_duck_quote_str(n->abs_path);
    seed_ty = seed_types(n);
    body = seed_ty ? txf_xasprintf("SELECT * FROM read_csv(%s, header = true, "
                                   "auto_detect = true, types = %s)",
                                   p, seed_ty)
                   : txf_xasprintf("SELECT * FROM read_csv(%s, header = true, "
                                   "auto_detect = true)",
                                   p);
    free(p);
  } else {
    rc = txf_models_compile_node(m, i, 0, incr, SIZE_MAX, NULL, &body, err);
    if (rc)
      return rc;
  }
  free(n->compiled);
  n->compiled = txf_xstrdup(body);
  char *rel = txf_duck_quote_rel(schema, ident);
  if (!incr) {
    char *tmp_ident = txf_xasprintf("%s__txf_new", ident);
    char *tmp = txf_duck_quote_rel(schema, tmp_ident);
    txf_rel_kind nk = !strcmp(mat, "view") ? TXF_REL_VIEW : TXF_REL_TABLE;
    rc = drop_if_exists(cat, schema, tmp_ident, err);
    if (!rc && is_seed) {
      rc = a->ops->create_from_csv(a, tmp, n->abs_path, seed_ty, err);
    } else if (!rc) {
      char *lc = lake_counts ? with_lake_counts(a, body) : NULL;
      sql = txf_xasprintf("CREATE %s %s AS\n%s", kind_word(nk), tmp,
                          lc ? lc : body);
      rc = a->ops->exec(a, sql, err);
      TXF_FREE_ALL(sql, lc);
    }
    if (!rc && order && blocks_in_order(a, tmp, order) != 1)
      rc = reorder(a, cat, schema, tmp_ident, order, m->opts->log, n->name,
                   err);
    if (!rc && !strcmp(mat, "incremental"))
      rc = check_keys(m, a, i, tmp, err);
    if (!rc && ro->audit) {
      rc = txf_models_node_audit(m, ex, i, tmp, ro->s,
                                 "the previous version stays published", err);
      *audit_fail = rc == TXF_ETEST;
    }
    if (!rc)
      rc = swap_in(cat, schema, ident, tmp_ident, nk, state_sql, err);
    if (rc) {
      txf_err e2;
      (void)drop_if_exists(cat, schema, tmp_ident, &e2);
    }
    free(tmp);
    free(tmp_ident);
  } else {
    /* Incremental: new rows into a side table, then merge and audit in
     * one transaction; a failed audit rolls the merge back. */
    char *new_ident = txf_xasprintf("%s__txf_incr", ident);
    char *nrel = txf_duck_quote_rel(schema, new_ident);
    rc = drop_if_exists(cat, schema, new_ident, err);
    if (!rc) {
      sql = txf_xasprintf("CREATE TABLE %s AS\n%s", nrel, body);
      rc = a->ops->exec(a, sql, err);
      free(sql);
    }
    if (!rc)
      rc = check_keys(m, a, i, nrel, err);
    if (!rc) {
      const char *strategy = n->strategy ? n->strategy
                             : n->unique_key.n ? "merge"
                                               : "append";
      if (strcmp(cat->ops->type, "duckdb")) {
        sql = NULL;
        rc = incremental_sql_pg(a, n, schema, new_ident, rel, nrel, strategy,
                                &sql, err);
      } else if (!n->unique_key.n || !strcmp(strategy, "append")) {
        sql = txf_xasprintf("INSERT INTO %s BY NAME SELECT * FROM %s", rel,
                            nrel);
      } else if (!strcmp(strategy, "delete+insert")) {
        char *on = key_expr(&n->unique_key, "t.%s = s.%s", " AND ");
        /* a semi-join: with a repeated (partition) key, DELETE ... USING
         * would pair every old row of a key with every new one */
        sql = txf_xasprintf("DELETE FROM %s AS t WHERE EXISTS (SELECT 1 FROM "
                            "%s AS s WHERE %s); "
                            "INSERT INTO %s BY NAME SELECT * FROM %s",
                            rel, nrel, on, rel, nrel);
        free(on);
      } else {
        char *on = key_expr(&n->unique_key, "t.%s = s.%s", " AND ");
        sql = txf_xasprintf("MERGE INTO %s AS t USING %s AS s ON (%s) "
                            "WHEN MATCHED THEN UPDATE SET * "
                            "WHEN NOT MATCHED THEN INSERT BY NAME",
                            rel, nrel, on);
        free(on);
      }
      if (!rc)
        rc = a->ops->exec(a, "BEGIN TRANSACTION", err);
      if (!rc)
        rc = a->ops->exec(a, sql, err);
      free(sql);
      if (!rc && ro->audit) {
        rc = txf_models_node_audit(m, ex, i, NULL, ro->s,
                                   "the merge was rolled back", err);
        *audit_fail = rc == TXF_ETEST;
      }
      if (!rc)
        rc = a->ops->exec(a, "COMMIT", err);
      if (rc)
        (void)a->ops->exec(a, "ROLLBACK", &(txf_err){0});
    }
    txf_err e2;
    (void)drop_if_exists(cat, schema, new_ident, &e2);
    free(nrel);
    free(new_ident);
  }
  if (!rc && strcmp(mat, "view"))
    *n_rows = count_rows(a, schema, ident);
  TXF_FREE_ALL(rel, body, seed_ty, state_sql, order);
  return rc;
}

static int parent_failed(txf_models *m, size_t i, size_t *which) {
  mnode *n = &m->nodes[i];
  for (size_t k = 0; k < n->n_parents; k++) {
    int st = m->nodes[n->parents[k]].state;
    if (st == ST_ERROR || st == ST_SKIPPED) {
      *which = n->parents[k];
      return 1;
    }
  }
  return 0;
}

/* The recorded start of something that began at monotonic time T0_MONO:
 * the invocation's clock (pinned in tests) plus the time since the run
 * began, so overlapping builds show as overlapping intervals. */
static int64_t started_us(txf_models *m, const exec_ctx *ex, int64_t t0_mono) {
  return m->opts->now_us + (ex ? t0_mono - ex->mono0 : 0);
}

int txf_models_node_hooks_run(txf_models *m, txf_adapter *a, size_t i,
                              const txf_strlist *list, const char *what,
                              txf_err *err) {
  for (size_t k = 0; k < list->n; k++) {
    char *sql = NULL;
    int rc = txf_models_render_hook(m, i, list->v[k], NULL, &sql, err);
    if (!rc && strspn(sql, " \t\r\n;") < strlen(sql)) {
      rc = a->ops->exec(a, sql, err);
      /* (a hook may delete a model's rows: the builds count them again) */
      if (!rc)
        rc = txf_models_rows_forget(a, err);
    }
    free(sql);
    if (rc)
      return txf_err_wrap(err, "%s %zu", what, k + 1);
  }
  return 0;
}

/* The event of node I's start or end (its fields; the caller adds the
 * outcome's). */
static json_t *node_event(txf_models *m, size_t i, const char *what) {
  mnode *n = &m->nodes[i];
  return json_pack("{s:I, s:I, s:s, s:s, s:s}", "index",
                   (json_int_t)(n->run_pos + 1), "total",
                   (json_int_t)m->n_run, "node", n->name, "resource_type",
                   txf_models_resource_type(n), "materialized",
                   what);
}

/* Node I's end: its line (LINE, after the progress and verdict) and its
 * event. STATUS "success", "error" or "skipped"; ROWS and the change's
 * counts -1 when unknown; DUR_US -1 when it did not run. */
static void node_end(txf_models *m, const exec_ctx *ex, size_t i,
                     const char *what, const char *status, int64_t rows,
                     int64_t dur_us, const char *message, const char *line) {
  mnode *n = &m->nodes[i];
  char pr[32];
  txf_models_progress(m, i, pr);
  const char *verdict = !strcmp(status, "success") ? "OK    "
                        : !strcmp(status, "error") ? "ERROR "
                                                   : "SKIP  ";
  if (!strcmp(status, "error"))
    txf_models_say_problem(m, ex, "  %s%s %-11s %s", pr, verdict, what, line);
  else
    txf_models_say(m, ex, "  %s%s %-11s %s", pr, verdict, what, line);
  json_t *ev = node_event(m, i, what);
  json_object_set_new(ev, "status", json_string(status));
  json_object_set_new(ev, "rows", rows >= 0 ? json_integer(rows) : json_null());
  if (n->chg_in >= 0 && !strcmp(status, "success")) {
    json_object_set_new(ev, "by_change", json_true());
    json_object_set_new(ev, "inserted", json_integer(n->chg_in));
    json_object_set_new(ev, "deleted", json_integer(n->chg_out));
  }
  json_object_set_new(ev, "duration_s",
                      dur_us >= 0 ? json_real((double)dur_us / 1e6)
                                  : json_null());
  json_object_set_new(ev, "message", message ? json_string(message)
                                             : json_null());
  /* run_results.json: dbt's names (success, error, skipped) */
  txf_models_result_add(m, i, status, dur_us, message, -1, rows);
  txf_models_emit(m, "end", ev);
}

/* For the warehouse's other copy: model I, just built by change on EX,
 * as the rows its build deleted and inserted, kept beside the copy's
 * state (txf_wh_keep_rel) for the next build's replay. The inserted rows
 * are its audit relation; the deleted ones are changes.c's working table
 * "_txnflow"."pre__SCHEMA__IDENT" (decision 1501), which the run drops
 * when it ends — or, in a write session, changes.c made both where they
 * are kept (decision 1501, fourth round). 0, or an error: then the caller
 * notes the table whole. */
static int note_change(txf_models *m, const exec_ctx *ex, size_t i) {
  mnode *n = &m->nodes[i];
  const char *schema = txf_models_schema(m, i),
             *ident = txf_models_identifier(m, i);
  if (!n->audit_rel || !n->unique_key.n)
    return TXF_ENOTFOUND;
  char *wn = txf_xasprintf("pre__%s__%s", schema, ident);
  char *pre = txf_duck_quote_rel("_txnflow", wn);
  free(wn);
  wn = txf_xasprintf("old__%s__%s", schema, ident);
  char *old_rel = txf_wh_keep_rel(wn);
  free(wn);
  wn = txf_xasprintf("new__%s__%s", schema, ident);
  char *new_rel = txf_wh_keep_rel(wn);
  free(wn);
  /* changes.c makes them there already in a write session: nothing to
   * copy */
  char *sql =
      !strcmp(n->audit_rel, new_rel)
          ? txf_xstrdup("SELECT 1")
          : txf_xasprintf("CREATE SCHEMA IF NOT EXISTS " TXF_WH_SCHEMA
                          "; CREATE OR REPLACE TABLE %s AS SELECT * FROM %s; "
                          "CREATE OR REPLACE TABLE %s AS SELECT * FROM %s",
                          old_rel, pre, new_rel, n->audit_rel);
  txf_err err;
  int rc = ex->a->ops->exec(ex->a, sql, &err);
  free(sql);
  if (!rc) {
    char *keys = key_expr(&n->unique_key, "%s%.0s", ", ");
    char *order = n->cluster_by ? txf_duck_quote_ident(n->cluster_by) : NULL;
    txf_wh_note_delta(m->wh, schema, ident, keys, old_rel, new_rel, order);
    free(keys);
    free(order);
  }
  free(pre);
  free(old_rel);
  free(new_rel);
  return rc;
}

/* Tell the warehouse's write session (when there is one) what node I's
 * build changed, for the copy readers have now: a view its SQL, a model
 * built by change its rows, a table or seed itself; the models-by-change
 * state with any such model. */
static void note_built(txf_models *m, const exec_ctx *ex, size_t i) {
  mnode *n = &m->nodes[i];
  if (!m->wh)
    return;
  const char *schema = txf_models_schema(m, i),
             *ident = txf_models_identifier(m, i);
  int by_change = txf_models_is_changes(n);
  if (n->kind == MN_MODEL && !strcmp(n->materialized, "view"))
    txf_wh_note_view(m->wh, schema, ident, n->compiled);
  else if (!(by_change && n->chg_in >= 0 && note_change(m, ex, i) == 0))
    txf_wh_note_copy(m->wh, schema, ident);
  if (by_change) {
    txf_wh_note_copy(m->wh, "_txnflow", "model_state");
    txf_wh_note_copy(m->wh, "_txnflow", "model_rows");
  }
}

void txf_models_build_node(txf_models *m, const exec_ctx *ex, size_t i,
                           const runopts *ro) {
  mnode *n = &m->nodes[i];
  txf_models_summary *s = ro->s;
  size_t up;
  const char *what = n->kind == MN_SEED ? "seed" : n->materialized;
  int64_t t0 = txf_mono_us(), c0 = txf_cpu_us();
  n->chg_in = n->chg_out = -1;
  if (parent_failed(m, i, &up)) {
    n->state = ST_SKIPPED;
    s->n_skipped++;
    char *msg = txf_xasprintf("upstream %s did not build", m->nodes[up].name);
    char *line = txf_xasprintf("%s (%s)", n->name, msg);
    node_end(m, ex, i, what, "skipped", -1, -1, msg, line);
    free(line);
    txf_models_record_build(m, i, "skipped", -1, started_us(m, ex, t0), 0, msg);
    free(msg);
    return;
  }
  if (n->kind == MN_MODEL && !strcmp(n->materialized, "ephemeral")) {
    n->state = ST_OK;
    char *line = txf_xasprintf("%s (inlined where used)", n->name);
    node_end(m, ex, i, what, "success", -1, -1, NULL, line);
    free(line);
    return;
  }
  char pr[32];
  txf_models_say(m, ex, "  %sSTART  %-11s %s", txf_models_progress(m, i, pr),
                 what, n->name);
  txf_models_emit(m, "start", node_event(m, i, what));
  int audit_fail;
  int64_t rows;
  txf_err err;
  txf_err_clear(&err);
  /* dbt's hooks: pre-hooks before the node's SQL, post-hooks after it is
   * published (so {{ this }} is the new relation) */
  audit_fail = 0;
  rows = -1;
  /* dbt runs a model's unit tests before building it; one failing
   * skips it (and what is downstream) */
  if (ro->audit && txf_models_node_unit_tests_run(m, ex, i, s, &err)) {
    n->state = ST_SKIPPED;
    s->n_skipped++;
    char *line = txf_xasprintf("%s (%s)", n->name, err.msg);
    node_end(m, ex, i, what, "skipped", -1, -1, err.msg, line);
    free(line);
    txf_models_record_build(m, i, "skipped", -1, started_us(m, ex, t0), 0,
                            err.msg);
    return;
  }
  int rc = txf_models_node_hooks_run(m, ex->a, i, &n->pre_hooks, "pre-hook",
                                     &err);
  if (!rc)
    rc = build_one(m, ex, i, ro, &audit_fail, &rows, &err);
  if (!rc && n->post_hooks.n) {
    rc = txf_models_node_hooks_run(m, ex->a, i, &n->post_hooks, "post-hook",
                                   &err);
    /* its rows as the post-hooks left them */
    if (!rc && rows >= 0)
      rows = count_rows(ex->a, txf_models_schema(m, i),
                        txf_models_identifier(m, i));
  }
  int64_t dur = txf_mono_us() - t0;
  if (rc) {
    n->state = ST_ERROR;
    s->n_error++;
    if (!txf_err_permanent(err.code, err.msg))
      s->n_transient++;
    char *msg = audit_fail || err.code == TXF_ETEST
                    ? txf_xasprintf("%s %s: %s",
                                    n->kind == MN_SEED ? "seed" : "model",
                                    n->name, err.msg)
                    : txf_xasprintf("%s %s (%s): %s",
                                    n->kind == MN_SEED ? "seed" : "model",
                                    n->name, n->rel_path, err.msg);
    n->chg_in = n->chg_out = -1;
    node_end(m, ex, i, what, "error", -1, dur, msg, msg);
    txf_models_record_build(m, i, audit_fail ? "audit_failed" : "error", -1,
                            started_us(m, ex, t0), dur, msg);
    free(msg);
    return;
  }
  n->state = ST_OK;
  s->n_ok++;
  int64_t c1 = txf_cpu_us();
  note_built(m, ex, i);
  /* where a build's time goes (models built at once share the CPU figure:
   * read it with --threads 1) */
  txf_log_debug(m->opts->log,
                "node %s: built %.3fs (cpu %.3fs), kept for the other copy "
                "(cpu %.3fs)",
                n->name, (double)dur / 1e6, (double)(c1 - c0) / 1e6,
                (double)(txf_cpu_us() - c1) / 1e6);
  char *line;
  if (rows >= 0 && n->chg_in >= 0)
    line = txf_xasprintf("%s (%" PRId64 " rows; by change: +%" PRId64
                         " -%" PRId64 ", %.2fs)",
                         n->name, rows, n->chg_in, n->chg_out,
                         (double)dur / 1e6);
  else if (n->chg_in >= 0) /* a view of the changes strategy */
    line = txf_xasprintf("%s (by change: +%" PRId64 " -%" PRId64 ", %.2fs)",
                         n->name, n->chg_in, n->chg_out, (double)dur / 1e6);
  else if (rows >= 0)
    line = txf_xasprintf("%s (%" PRId64 " rows, %.2fs)", n->name, rows,
                         (double)dur / 1e6);
  else
    line = txf_xasprintf("%s (%.2fs)", n->name, (double)dur / 1e6);
  node_end(m, ex, i, what, "success", rows, dur, NULL, line);
  free(line);
  txf_models_record_build(m, i, "success", rows, started_us(m, ex, t0), dur,
                          NULL);
  if (ro->audit)
    txf_models_node_tests_run(m, ex, i, "warn", NULL, s, NULL, NULL);
}
