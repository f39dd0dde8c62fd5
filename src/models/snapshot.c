/* dbt snapshots: `{% snapshot NAME %}` blocks in the snapshot paths, built
 * as type-2 slowly changing dimensions with dbt's columns (dbt_scd_id,
 * dbt_updated_at, dbt_valid_from, dbt_valid_to, and dbt_is_deleted with
 * hard_deletes='new_record'), by the timestamp or check strategy, as dbt's
 * snapshot materialization does (docs: "Snapshots", "Snapshot
 * configurations"). A snapshot is a model node materialized 'snapshot', so
 * the graph, selection and the pool treat it as any node. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "duck/duck.h"
#include "models/internal.h"

/* ---------------------------------------------------------------- files */

/* Add the snapshot blocks of the file TEXT (REL relative to the project,
 * ABS absolute). */
static int add_blocks(txf_models *m, const char *rel, const char *abs,
                      const char *text, txf_err *err) {
  const char *p = text;
  for (;;) {
    const char *open = strstr(p, "{%");
    while (open) {
      const char *q = open + 2;
      q += strspn(q, "-+ \t\r\n");
      if (!strncmp(q, "snapshot", 8) && (q[8] == ' ' || q[8] == '\t'))
        break;
      open = strstr(open + 2, "{%");
    }
    if (!open)
      return 0;
    const char *q = open + 2;
    q += strspn(q, "-+ \t\r\n") + 8;
    q += strspn(q, " \t");
    size_t nl = strspn(q, "abcdefghijklmnopqrstuvwxyz"
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
    const char *close = strstr(q, "%}");
    const char *end = close ? strstr(close, "endsnapshot") : NULL;
    const char *end_open = end;
    while (end_open && end_open > close && strncmp(end_open, "{%", 2))
      end_open--;
    if (!nl || !close || !end || end_open <= close) {
      int line = 1;
      for (const char *c = text; c < open; c++)
        line += *c == '\n';
      return txf_err_set(err, TXF_EPARSE,
                         "%s:%d: expected {%% snapshot NAME %%} ... "
                         "{%% endsnapshot %%}",
                         rel, line);
    }
    char *name = txf_xstrndup(q, nl);
    if (txf_models_find(m, name, -1) >= 0) {
      int rc = txf_err_set(err, TXF_ECONFIG,
                           "%s: snapshot name '%s' is already used", rel,
                           name);
      free(name);
      return rc;
    }
    mnode *n = txf_models_node_add(m, MN_MODEL, name);
    free(name);
    free(n->materialized);
    n->materialized = txf_xstrdup("snapshot");
    n->rel_path = txf_xstrdup(rel);
    n->abs_path = txf_xstrdup(abs);
    /* the body, after as many newlines as lines before it, so a template
     * error points at the file's own line */
    const char *body = close + 2;
    txf_buf b;
    txf_buf_init(&b, 0);
    for (const char *c = text; c < body; c++)
      if (*c == '\n')
        (void)txf_buf_putc(&b, '\n');
    (void)txf_buf_append(&b, body, (size_t)(end_open - body));
    n->raw = txf_buf_take(&b, NULL);
    int rc = txf_tpl_parse(&n->tpl, &m->arena, rel, n->raw, strlen(n->raw),
                           err);
    if (rc)
      return rc;
    const char *after = strstr(end, "%}");
    p = after ? after + 2 : end + 11;
  }
}

static int snapshot_file(txf_models *m, const char *rel, const char *abs,
                         const char *text, size_t len, void *ctx,
                         txf_err *err) {
  (void)len;
  (void)ctx;
  return add_blocks(m, rel, abs, text, err);
}

int txf_models_snapshot_files_add(txf_models *m, txf_err *err) {
  return txf_models_files_each(m, NULL, &m->snapshot_paths, ".sql",
                               snapshot_file, NULL, err);
}

/* ---------------------------------------------------------------- build */

/* "s.k1 = c.k1 AND ..." over the unique key's columns. */
static char *key_join(const mnode *n, const char *s, const char *c) {
  txf_buf b;
  txf_buf_init(&b, 0);
  for (size_t i = 0; i < n->unique_key.n; i++) {
    char *q = txf_duck_quote_ident(n->unique_key.v[i]);
    (void)txf_buf_printf(&b, "%s%s.%s = %s.%s", i ? " AND " : "", s, q, c, q);
    free(q);
  }
  return txf_buf_take(&b, NULL);
}

/* dbt's snapshot_hash_arguments([unique_key, UPD]) on alias S. */
static char *scd_id(const mnode *n, const char *s, const char *upd) {
  txf_buf b;
  txf_buf_init(&b, 0);
  (void)txf_buf_puts(&b, "md5(");
  for (size_t i = 0; i < n->unique_key.n; i++) {
    char *q = txf_duck_quote_ident(n->unique_key.v[i]);
    (void)txf_buf_printf(&b, "coalesce(cast(%s.%s as varchar), '') || '|' || ",
                         s, q);
    free(q);
  }
  (void)txf_buf_printf(&b, "coalesce(cast(%s as varchar), ''))", upd);
  return txf_buf_take(&b, NULL);
}

/* The snapshot's run time, as dbt's snapshot_get_time(): one instant (the
 * command's start) for every row a run writes. */
static char *now_literal(const txf_models *m) {
  time_t s = (time_t)(m->started_us / 1000000);
  struct tm tm;
  gmtime_r(&s, &tm);
  char buf[40];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return txf_xasprintf("CAST('%s.%06d' AS TIMESTAMP)", buf,
                       (int)(m->started_us % 1000000));
}

/* Check the snapshot's configs (dbt's rules); TXF_ECONFIG naming the
 * missing or wrong one. */
static int check_config(const mnode *n, txf_err *err) {
  const char *st = n->snap_strategy;
  if (!n->unique_key.n)
    return txf_err_set(err, TXF_ECONFIG,
                       "snapshot %s (%s): config unique_key is required",
                       n->name, n->rel_path);
  if (!st || (strcmp(st, "timestamp") && strcmp(st, "check")))
    return txf_err_set(err, TXF_ECONFIG,
                       "snapshot %s (%s): config strategy must be 'timestamp' "
                       "or 'check'%s%s%s",
                       n->name, n->rel_path, st ? " (got '" : "",
                       st ? st : "", st ? "')" : "");
  if (!strcmp(st, "timestamp") && !n->snap_updated_at)
    return txf_err_set(err, TXF_ECONFIG,
                       "snapshot %s (%s): the timestamp strategy needs "
                       "updated_at",
                       n->name, n->rel_path);
  if (!strcmp(st, "check") && !n->snap_check_cols.n)
    return txf_err_set(err, TXF_ECONFIG,
                       "snapshot %s (%s): the check strategy needs check_cols "
                       "(a list of columns, or 'all')",
                       n->name, n->rel_path);
  return 0;
}

/* The "row changed" condition of source S against current row C. */
static char *changed_expr(txf_models *m, const mnode *n, txf_adapter *a,
                          const char *schema, const char *stage,
                          txf_err *err) {
  txf_buf b;
  txf_buf_init(&b, 0);
  if (!strcmp(n->snap_strategy, "timestamp")) {
    char *u = txf_duck_quote_ident(n->snap_updated_at);
    (void)txf_buf_printf(&b, "c.dbt_valid_from < s.%s", u);
    free(u);
  } else {
    txf_strlist cols = {0};
    int all = n->snap_check_cols.n == 1 &&
              !strcmp(n->snap_check_cols.v[0], "all");
    if (all) {
      /* every column of the query but the key */
      char *list = NULL;
      if (txf_adapter_column_list(a, schema, stage, &list, err)) {
        txf_buf_release(&b);
        return NULL;
      }
      for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        while (*tok == ' ')
          tok++;
        size_t l = strlen(tok);
        char *bare = l >= 2 ? txf_xstrndup(tok + 1, l - 2) : txf_xstrdup(tok);
        if (!txf_strlist_has(&n->unique_key, bare))
          txf_strlist_push(&cols, bare);
        free(bare);
      }
      free(list);
    } else {
      for (size_t i = 0; i < n->snap_check_cols.n; i++)
        txf_strlist_push(&cols, n->snap_check_cols.v[i]);
    }
    (void)txf_buf_putc(&b, '(');
    for (size_t i = 0; i < cols.n; i++) {
      char *q = txf_duck_quote_ident(cols.v[i]);
      (void)txf_buf_printf(&b, "%ss.%s IS DISTINCT FROM c.%s", i ? " OR " : "",
                           q, q);
      free(q);
    }
    if (!cols.n)
      (void)txf_buf_puts(&b, "false");
    (void)txf_buf_putc(&b, ')');
    txf_strlist_release(&cols);
  }
  if (n->snap_hard_deletes && !strcmp(n->snap_hard_deletes, "new_record"))
    (void)txf_buf_puts(&b, " OR c.dbt_is_deleted = 'True'");
  (void)m;
  return txf_buf_take(&b, NULL);
}

/* COLS ("a", "b") each prefixed with ALIAS: s."a", s."b"; caller frees. */
static char *qualified(const char *cols, const char *alias) {
  txf_buf b;
  txf_buf_init(&b, 0);
  char *copy = txf_xstrdup(cols);
  for (char *c = strtok(copy, ","); c; c = strtok(NULL, ",")) {
    while (*c == ' ')
      c++;
    (void)txf_buf_printf(&b, "%s%s.%s", b.len ? ", " : "", alias, c);
  }
  free(copy);
  return txf_buf_take(&b, NULL);
}

int txf_models_snapshot_build(txf_models *m, txf_adapter *a, size_t i,
                              int64_t *n_rows, txf_err *err) {
  mnode *n = &m->nodes[i];
  *n_rows = -1;
  int rc = check_config(n, err);
  if (rc)
    return rc;
  const char *schema = txf_models_schema(m, i), *ident =
                                                    txf_models_identifier(m, i);
  char *body = NULL;
  rc = txf_models_compile_node(m, i, 0, 0, SIZE_MAX, NULL, &body, err);
  if (rc)
    return rc;
  free(n->compiled);
  n->compiled = txf_xstrdup(body);
  const char *hd = n->snap_hard_deletes ? n->snap_hard_deletes : "ignore";
  int new_record = !strcmp(hd, "new_record");
  int ts = !strcmp(n->snap_strategy, "timestamp");
  char *now = now_literal(m);
  char *upd = NULL;
  if (ts) {
    char *u = txf_duck_quote_ident(n->snap_updated_at);
    upd = txf_xasprintf("s.%s", u);
    free(u);
  } else {
    upd = txf_xstrdup(now);
  }
  char *rel = txf_duck_quote_rel(schema, ident);
  char *stage_ident = txf_xasprintf("%s__txf_snapshot_src", ident);
  char *stage = txf_duck_quote_rel(schema, stage_ident);
  char *sid = scd_id(n, "s", upd);
  char *qs = txf_duck_quote_ident(schema);
  char *sql = txf_xasprintf("CREATE SCHEMA IF NOT EXISTS %s;\n"
                            "DROP TABLE IF EXISTS %s;\n"
                            "CREATE TABLE %s AS\n%s",
                            qs, stage, stage, body);
  free(qs);
  free(body);
  rc = a->ops->exec(a, sql, err);
  free(sql);
  txf_rel_kind existing = TXF_REL_NONE;
  if (!rc)
    rc = a->ops->relation_kind(a, schema, ident, &existing, err);
  char *cols = NULL;
  if (!rc)
    rc = txf_adapter_column_list(a, schema, stage_ident, &cols, err);
  /* the stage's columns on alias s ("s"."a", "s"."b") */
  txf_buf scols;
  txf_buf_init(&scols, 0);
  for (char *c = cols ? strtok(cols, ",") : NULL; !rc && c;
       c = strtok(NULL, ",")) {
    while (*c == ' ')
      c++;
    (void)txf_buf_printf(&scols, "%s%s", scols.len ? ", " : "", c);
  }
  char *col_list = txf_buf_take(&scols, NULL);
  char *dcols = txf_xasprintf("%s, dbt_scd_id, dbt_updated_at, "
                              "dbt_valid_from, dbt_valid_to%s",
                              col_list, new_record ? ", dbt_is_deleted" : "");
  if (!rc && existing == TXF_REL_NONE) {
    sql = txf_xasprintf("CREATE TABLE %s AS\n"
                        "SELECT s.*, %s AS dbt_scd_id, %s AS dbt_updated_at, "
                        "%s AS dbt_valid_from, NULLIF(%s, %s) AS "
                        "dbt_valid_to%s\nFROM %s AS s",
                        rel, sid, upd, upd, upd, upd,
                        new_record ? ", 'False' AS dbt_is_deleted" : "",
                        stage);
    rc = a->ops->exec(a, sql, err);
    free(sql);
  } else if (!rc) {
    char *chg = changed_expr(m, n, a, schema, stage_ident, err);
    char *kj = key_join(n, "s", "c");
    char *k0 = txf_duck_quote_ident(n->unique_key.v[0]);
    /* the stage's columns, in its order, on each side */
    char *s_cols = qualified(col_list, "s"), *c_cols = qualified(col_list, "c");
    char *cid = scd_id(n, "c", now);
    txf_buf q;
    txf_buf_init(&q, 0);
    if (chg) {
      (void)txf_buf_puts(&q, "BEGIN TRANSACTION;\n");
      /* new keys and changed rows: a new current version */
      (void)txf_buf_printf(
          &q,
          "INSERT INTO %s (%s)\nSELECT %s, %s, %s, %s, NULLIF(%s, %s)%s\n"
          "FROM %s AS s LEFT JOIN (SELECT * FROM %s WHERE dbt_valid_to IS "
          "NULL) AS c ON %s\nWHERE c.%s IS NULL OR %s;\n",
          rel, dcols, s_cols, sid, upd, upd, upd, upd,
          new_record ? ", 'False'" : "", stage, rel, kj, k0, chg);
      /* the versions they replace end where the new ones begin */
      (void)txf_buf_printf(&q,
                           "UPDATE %s AS c SET dbt_valid_to = %s\nFROM %s AS "
                           "s\nWHERE %s AND c.dbt_valid_to IS NULL AND (%s);\n",
                           rel, upd, stage, kj, chg);
      char *gone = txf_xasprintf("c.dbt_valid_to IS NULL%s AND NOT EXISTS "
                                 "(SELECT 1 FROM %s AS s WHERE %s)",
                                 new_record ? " AND c.dbt_is_deleted = 'False'"
                                            : "",
                                 stage, kj);
      if (new_record)
        /* a deletion record: the last values, dbt_is_deleted 'True' */
        (void)txf_buf_printf(&q,
                             "INSERT INTO %s (%s)\nSELECT %s, %s, %s, %s, "
                             "NULLIF(%s, %s), 'True'\nFROM %s AS c WHERE %s;\n",
                             rel, dcols, c_cols, cid, now, now, now, now, rel,
                             gone);
      if (new_record || !strcmp(hd, "invalidate"))
        (void)txf_buf_printf(&q,
                             "UPDATE %s AS c SET dbt_valid_to = %s WHERE %s;\n",
                             rel, now, gone);
      (void)txf_buf_puts(&q, "COMMIT;\n");
      free(gone);
      rc = a->ops->exec(a, q.data, err);
      if (rc) {
        txf_err e2;
        (void)a->ops->exec(a, "ROLLBACK", &e2);
      }
    } else {
      rc = err->code ? err->code : TXF_EDB;
    }
    txf_buf_release(&q);
    TXF_FREE_ALL(cid, c_cols, s_cols, k0, kj, chg);
  }
  if (!rc) {
    char *cnt = txf_xasprintf("SELECT count(*) FROM %s", rel);
    rc = a->ops->query_i64(a, cnt, n_rows, err);
    free(cnt);
  }
  sql = txf_xasprintf("DROP TABLE IF EXISTS %s", stage);
  txf_err e3;
  (void)a->ops->exec(a, sql, &e3);
  TXF_FREE_ALL(sql, dcols, col_list, cols, sid, stage, stage_ident, rel, upd,
               now);
  return rc;
}
