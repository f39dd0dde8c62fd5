/* Loading silver into a PostgreSQL or Redshift warehouse through libpq.
 *
 * The table mirrors the silver schema column for column (Redshift's
 * COPY ... FORMAT AS PARQUET maps columns by position). A partition is an
 * event date D: the rows whose txn_ts falls in [D 00:00, D+1 00:00) in the
 * pipeline's zone, so replacing it is a DELETE of that range and an insert
 * of the partition file — no extra partition column is needed, and both
 * targets use the same predicate. All changed partitions are replaced in
 * one transaction: a reader sees the old warehouse or the new one.
 * Redshift copies from S3, so its partitions are put in the lake's bucket
 * first (stage_partition): the load runs before publish, and a row never
 * waits for a later stage to reach the warehouse. */
#include <assert.h>
#include <glob.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "load/load.h"
#include "parquet/parquet.h"

#define COPY_CHUNK (1u << 20)

/* ---------------------------------------------------------------- target */

int txf_load_target_resolve(txf_target *t, const txf_project *p,
                            const char *target, txf_err *err) {
  txf_target_opts to = {
      .target = target, .app_name = "txnflow", .warehouse_load = 1};
  return txf_target_resolve(t, p, &to, err);
}

/* Server notices ("schema already exists, skipping") are not for people. */
static void quiet_notice(void *arg, const char *msg) {
  (void)arg;
  (void)msg;
}

static int pg_connect(PGconn **out, const txf_target *t, txf_err *err) {
  PGconn *c = PQconnectdbParams((const char *const *)t->keys,
                                (const char *const *)t->vals, 0);
  if (!c || PQstatus(c) != CONNECTION_OK) {
    /* libpq's message names host and port, never the password */
    int rc = txf_err_set(err, TXF_EDB, "connect to target '%s': %s", t->name,
                         c ? PQerrorMessage(c) : "out of memory");
    size_t n = strlen(err->msg);
    while (n && (err->msg[n - 1] == '\n' || err->msg[n - 1] == ' '))
      err->msg[--n] = '\0';
    PQfinish(c);
    return rc;
  }
  PQsetNoticeProcessor(c, quiet_notice, NULL);
  *out = c;
  return 0;
}

static int pg_error(PGconn *c, txf_err *err, const char *what) {
  int rc = txf_err_set(err, TXF_EDB, "%s: %s", what, PQerrorMessage(c));
  size_t n = strlen(err->msg);
  while (n && (err->msg[n - 1] == '\n' || err->msg[n - 1] == ' '))
    err->msg[--n] = '\0';
  return rc;
}

static int pg_exec(PGconn *c, const char *sql, txf_err *err) {
  PGresult *r = PQexec(c, sql);
  ExecStatusType st = PQresultStatus(r);
  int rc = 0;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    rc = pg_error(c, err, "postgres");
  PQclear(r);
  return rc;
}

static char *ident(PGconn *c, const char *s) {
  char *q = PQescapeIdentifier(c, s, strlen(s));
  char *out = txf_xstrdup(q ? q : "\"?\"");
  PQfreemem(q);
  return out;
}

/* "load" or "publish.warehouse": how the project spells the section, so a
 * message names the key the user wrote. */
static const char *section_name(const txf_project_load_section *sec) {
  return sec->where ? sec->where : "load";
}

/* ---------------------------------------------------------------- SQL */

static const char *pg_type(const txf_pq_column *c, char *buf, size_t cap) {
  switch (c->type) {
  case TXF_PQ_BOOLEAN:
    return "boolean";
  case TXF_PQ_INT32:
    return "integer";
  case TXF_PQ_INT64:
    return "bigint";
  case TXF_PQ_DOUBLE:
    return "double precision";
  case TXF_PQ_STRING:
    return "text";
  case TXF_PQ_DATE:
    return "date";
  case TXF_PQ_TIMESTAMP_US:
    return "timestamptz";
  case TXF_PQ_DECIMAL:
    snprintf(buf, cap, "numeric(%d,%d)", c->precision, c->scale);
    return buf;
  }
  return "text";
}

/* "'2025-09-01T15:00:00Z'" bounds of event date D in TZ. */
static void day_range(const txf_tz *tz, const char *date, char lo[40],
                      char hi[40]) {
  txf_date d;
  if (txf_date_parse(date, SIZE_MAX, &d) != 0)
    d.days = 0;
  txf_date next = {d.days + 1};
  txf_ts_format(txf_tz_local_to_utc(tz, d, 0), 0, 1, lo);
  txf_ts_format(txf_tz_local_to_utc(tz, next, 0), 0, 1, hi);
}

/* Q S Q with Q doubled inside: an identifier ('"') or a string ('\'')
 * the way both PostgreSQL and Redshift read it. */
static void quoted(txf_buf *b, const char *s, char q) {
  (void)txf_buf_putc(b, q);
  for (; *s; s++) {
    if (*s == q)
      (void)txf_buf_putc(b, q);
    (void)txf_buf_putc(b, *s);
  }
  (void)txf_buf_putc(b, q);
}
#define qident(b, s) quoted((b), (s), '"')
#define qstr(b, s) quoted((b), (s), '\'')

/* The key publish gives partition P's file under BASE (a bucket prefix or
 * "s3://bucket/prefix/"). Caller frees. */
static char *part_key(const char *base, const txf_load_partition *p) {
  const char *file = strrchr(p->path, '/');
  file = file ? file + 1 : p->path;
  return txf_xasprintf("%ssilver/transactions/year=%.4s/month=%.2s/day=%.2s/%s",
                       base, p->date, p->date + 5, p->date + 8, file);
}

/* S as a JSON string into B (a key or URL: quote, backslash and control
 * characters escaped). */
static void json_str(txf_buf *b, const char *s) {
  (void)txf_buf_putc(b, '"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      (void)txf_buf_printf(b, "\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      (void)txf_buf_printf(b, "\\u%04x", (unsigned char)*s);
    else
      (void)txf_buf_putc(b, *s);
  }
  (void)txf_buf_putc(b, '"');
}

char *txf_load_redshift_manifest(const char *s3_base,
                                 const txf_load_partition *parts, size_t n) {
  txf_buf b;
  txf_buf_init(&b, 0);
  const char *sep = "{\"entries\": [\n  "; /* then ",\n  " */
  for (size_t i = 0; i < n; i++) {
    if (!parts[i].path)
      continue;
    char *url = part_key(s3_base, &parts[i]);
    (void)txf_buf_printf(&b, "%s{\"url\": ", sep);
    json_str(&b, url);
    (void)txf_buf_printf(&b,
                         ", \"mandatory\": true, \"meta\": "
                         "{\"content_length\": %llu}}",
                         (unsigned long long)parts[i].size_bytes);
    free(url);
    sep = ",\n  ";
  }
  (void)txf_buf_puts(&b, b.len ? "\n]}\n" : "{\"entries\": []}\n");
  return txf_buf_take(&b, NULL);
}

char *txf_load_redshift_manifest_key(const char *prefix, const char *schema,
                                     const char *table, const char *manifest) {
  char hex[65];
  txf_sha256_hex(manifest, strlen(manifest), hex);
  return txf_xasprintf("%s_load/%s.%s/%.16s.manifest", prefix, schema, table,
                       hex);
}

char *txf_load_redshift_sql(const char *schema, const char *table,
                            const txf_tz *tz, const char *s3_base,
                            const char *iam_role, const char *manifest_url,
                            const txf_load_partition *parts, size_t n) {
  txf_buf b;
  txf_buf_init(&b, 0);
  (void)txf_buf_puts(&b, "BEGIN;\n");
  int copy = 0;
  for (size_t i = 0; i < n; i++) {
    char lo[40], hi[40];
    day_range(tz, parts[i].date, lo, hi);
    (void)txf_buf_printf(&b, "-- event date %s (%s)\nDELETE FROM ",
                         parts[i].date, txf_tz_name(tz));
    qident(&b, schema);
    (void)txf_buf_putc(&b, '.');
    qident(&b, table);
    (void)txf_buf_printf(&b, " WHERE txn_ts >= '%s' AND txn_ts < '%s';\n", lo,
                         hi);
    copy |= parts[i].path != NULL;
  }
  if (copy) {
    /* one COPY of exactly these files: the manifest names them, so
     * nothing else in a day's folder is read; shown in a comment */
    char *m = txf_load_redshift_manifest(s3_base, parts, n);
    (void)txf_buf_printf(&b, "-- the manifest %s:\n", manifest_url);
    for (char *line = m, *nl; (nl = strchr(line, '\n')); line = nl + 1)
      (void)txf_buf_printf(&b, "-- %.*s\n", (int)(nl - line), line);
    free(m);
    (void)txf_buf_puts(&b, "COPY ");
    qident(&b, schema);
    (void)txf_buf_putc(&b, '.');
    qident(&b, table);
    (void)txf_buf_puts(&b, "\nFROM ");
    qstr(&b, manifest_url);
    (void)txf_buf_puts(&b, "\nIAM_ROLE ");
    qstr(&b, iam_role ? iam_role : "");
    (void)txf_buf_puts(&b, "\nFORMAT AS PARQUET\nMANIFEST;\n");
  }
  (void)txf_buf_puts(&b, "COMMIT;\n");
  return txf_buf_take(&b, NULL);
}

/* ---------------------------------------------------------------- load */

void txf_load_report_release(txf_load_report *r) {
  for (size_t i = 0; i < r->n_added_columns; i++)
    free(r->added_columns[i]);
  free(r->added_columns);
  memset(r, 0, sizeof *r);
}

/* Check the table against SCHEMA (the silver file's), creating it when
 * absent and adding columns when allowed. */
static int sync_table(PGconn *c, const char *qtable, const char *schema_name,
                      const char *table, const txf_pq_schema *fs,
                      const txf_project_load_section *sec, txf_load_report *rep,
                      txf_err *err) {
  int add_columns = sec->add_columns;
  const char *params[2] = {schema_name, table};
  PGresult *r = PQexecParams(c,
                             "SELECT column_name FROM information_schema."
                             "columns WHERE table_schema = $1 AND "
                             "table_name = $2 ORDER BY ordinal_position",
                             2, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    PQclear(r);
    return pg_error(c, err, "read the columns of the warehouse table");
  }
  int n = PQntuples(r);
  txf_buf sql;
  txf_buf_init(&sql, 0);
  char tb[48];
  int rc = 0;
  if (n == 0) {
    char *qs = ident(c, schema_name);
    (void)txf_buf_printf(&sql, "CREATE SCHEMA IF NOT EXISTS %s;\n", qs);
    free(qs);
    (void)txf_buf_printf(&sql, "CREATE TABLE %s (", qtable);
    for (size_t i = 0; i < fs->n_cols; i++) {
      char *qi = ident(c, fs->cols[i].name);
      (void)txf_buf_printf(&sql, "%s%s %s", i ? ", " : "", qi,
                           pg_type(&fs->cols[i], tb, sizeof tb));
      free(qi);
    }
    (void)txf_buf_puts(&sql, ");\n");
    rc = pg_exec(c, sql.data, err);
  } else {
    txf_buf missing;
    txf_buf_init(&missing, 0);
    for (size_t i = 0; i < fs->n_cols; i++) {
      int found = 0;
      for (int j = 0; j < n && !found; j++)
        found = !strcmp(PQgetvalue(r, j, 0), fs->cols[i].name);
      if (found)
        continue;
      (void)txf_buf_printf(&missing, "%s%s %s", missing.len ? ", " : "",
                           fs->cols[i].name,
                           pg_type(&fs->cols[i], tb, sizeof tb));
      if (add_columns) {
        char *qi = ident(c, fs->cols[i].name);
        (void)txf_buf_printf(&sql, "ALTER TABLE %s ADD COLUMN %s %s;\n", qtable,
                             qi, pg_type(&fs->cols[i], tb, sizeof tb));
        free(qi);
        rep->added_columns = txf_xrealloc(
            rep->added_columns, (rep->n_added_columns + 1) * sizeof(char *));
        rep->added_columns[rep->n_added_columns++] =
            txf_xstrdup(fs->cols[i].name);
      }
    }
    if (missing.len && !add_columns)
      rc = txf_err_set(err, TXF_ECONFIG,
                       "silver has columns the warehouse table %s lacks: %s "
                       "(add them, or set %s.add_columns: true)",
                       qtable, missing.data, section_name(sec));
    else if (sql.len)
      rc = pg_exec(c, sql.data, err);
    txf_buf_release(&missing);
  }
  PQclear(r);
  txf_buf_release(&sql);
  return rc;
}

/* COPY the rows of PATH into QTABLE (columns named as in the file). */
static int copy_file(PGconn *c, const char *qtable, txf_pq_reader *pr,
                     uint64_t *rows, txf_err *err) {
  const txf_pq_schema *fs = txf_pq_reader_schema(pr);
  txf_buf sql;
  txf_buf_init(&sql, 0);
  (void)txf_buf_printf(&sql, "COPY %s (", qtable);
  for (size_t i = 0; i < fs->n_cols; i++) {
    char *qi = ident(c, fs->cols[i].name);
    (void)txf_buf_printf(&sql, "%s%s", i ? ", " : "", qi);
    free(qi);
  }
  (void)txf_buf_puts(&sql, ") FROM STDIN");
  PGresult *r = PQexec(c, sql.data);
  txf_buf_release(&sql);
  if (PQresultStatus(r) != PGRES_COPY_IN) {
    PQclear(r);
    return pg_error(c, err, "COPY");
  }
  PQclear(r);
  txf_pq_value *vals = txf_xcalloc(fs->n_cols ? fs->n_cols : 1, sizeof *vals);
  txf_buf b, tmp;
  txf_buf_init(&b, 0);
  txf_buf_init(&tmp, 0);
  int rc = 0;
  for (;;) {
    int has;
    rc = txf_pq_reader_next(pr, vals, &has, err);
    if (rc || !has)
      break;
    for (size_t i = 0; i < fs->n_cols; i++) {
      if (i)
        (void)txf_buf_putc(&b, '\t');
      if (vals[i].is_null) {
        (void)txf_buf_puts(&b, "\\N");
      } else if (fs->cols[i].type == TXF_PQ_STRING) {
        txf_buf_put_pgcopy(&b, vals[i].v.str, vals[i].len);
      } else {
        txf_buf_reset(&tmp);
        txf_pq_value_format(&fs->cols[i], &vals[i], &tmp);
        txf_buf_put_pgcopy(&b, tmp.data ? tmp.data : "", tmp.len);
      }
    }
    (void)txf_buf_putc(&b, '\n');
    (*rows)++;
    if (b.len >= COPY_CHUNK) {
      if (PQputCopyData(c, b.data, (int)b.len) != 1) {
        rc = pg_error(c, err, "COPY data");
        break;
      }
      txf_buf_reset(&b);
    }
  }
  if (!rc && b.len && PQputCopyData(c, b.data, (int)b.len) != 1)
    rc = pg_error(c, err, "COPY data");
  /* End the COPY either way; on our own failure, make the server fail it. */
  if (PQputCopyEnd(c, rc ? "txnflow: reading the partition failed" : NULL) !=
          1 &&
      !rc)
    rc = pg_error(c, err, "COPY end");
  while ((r = PQgetResult(c)) != NULL) {
    if (!rc && PQresultStatus(r) != PGRES_COMMAND_OK)
      rc = pg_error(c, err, "COPY");
    PQclear(r);
  }
  txf_buf_release(&b);
  txf_buf_release(&tmp);
  free(vals);
  return rc;
}

/* The lake's change log (docs/silver.md) into QTABLE_changes, one version
 * after the other from the first the table lacks, in the load's
 * transaction: the table then holds every version of the silver rows it
 * holds, which is what the models' changes strategy reads on this target. */
static int load_changes(PGconn *c, const char *schema, const char *table,
                        const char *data_dir,
                        const txf_project_load_section *sec,
                        txf_load_report *rep, txf_err *err) {
  char *dir = txf_path_join(data_dir, "silver/_changes/transactions");
  int64_t last;
  int rc = txf_fs_max_numbered(dir, "version=", &last, err);
  char *ctable = txf_xasprintf("%s_changes", table);
  char *qs = ident(c, schema), *qt = ident(c, ctable);
  char *qtable = txf_xasprintf("%s.%s", qs, qt);
  free(qs);
  free(qt);
  int64_t have = 0;
  int exists = 0;
  if (!rc && last > 0) {
    const char *params[2] = {schema, ctable};
    PGresult *r = PQexecParams(c,
                               "SELECT 1 FROM information_schema.tables WHERE "
                               "table_schema = $1 AND table_name = $2",
                               2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
      rc = pg_error(c, err, "look for the change table");
    else
      exists = PQntuples(r) > 0;
    PQclear(r);
  }
  if (!rc && exists) {
    char *q = txf_xasprintf("SELECT COALESCE(MAX(_commit_version), 0) FROM %s",
                            qtable);
    PGresult *r = PQexec(c, q);
    free(q);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
      rc = pg_error(c, err, "read the change table");
    else
      have = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
  }
  for (int64_t v = have + 1; !rc && v <= last; v++) {
    char *vdir = txf_xasprintf("%s/version=%010lld", dir, (long long)v);
    char **names;
    size_t n;
    rc = txf_fs_list(vdir, ".parquet", &names, &n, err);
    for (size_t i = 0; i < n; i++) {
      char *path = txf_path_join(vdir, names[i]);
      txf_pq_reader *pr = NULL;
      if (!rc)
        rc = txf_pq_reader_open(&pr, path, err);
      if (!rc)
        rc = sync_table(c, qtable, schema, ctable, txf_pq_reader_schema(pr),
                        sec, rep, err);
      if (!rc)
        rc = copy_file(c, qtable, pr, &rep->change_rows_loaded, err);
      if (rc)
        txf_err_wrap(err, "load the change log: %s", path);
      txf_pq_reader_free(pr);
      free(path);
      free(names[i]);
    }
    free(names);
    free(vdir);
    if (!rc)
      rep->versions_loaded++;
  }
  free(qtable);
  free(ctable);
  free(dir);
  return rc;
}

/* Local partitions: DATA/silver/transactions/year=Y/month=M/day=D/ *.parquet
 * (one file per partition by the silver contract). */
static int local_partitions(const char *data_dir, txf_load_partition **out,
                            size_t *n, txf_err *err) {
  *out = NULL;
  *n = 0;
  char *root = txf_path_join(data_dir, "silver/transactions");
  int rc = 0;
  char *pattern = txf_path_join(root, "year=*/month=*/day=*/*.parquet");
  free(root);
  glob_t g;
  int grc = glob(pattern, 0, NULL, &g);
  free(pattern);
  if (grc == GLOB_NOMATCH)
    return 0;
  if (grc != 0)
    return txf_err_set(err, TXF_EIO, "cannot list the silver partitions");
  *out = txf_xcalloc(g.gl_pathc ? g.gl_pathc : 1, sizeof **out);
  for (size_t i = 0; i < g.gl_pathc && !rc; i++) {
    const char *p = g.gl_pathv[i];
    const char *y = strstr(p, "/year="), *m = strstr(p, "/month="),
               *d = strstr(p, "/day=");
    const char *base = strrchr(p, '/') + 1;
    if (!y || !m || !d || base[0] == '.')
      continue;
    txf_load_partition *w = &(*out)[*n];
    snprintf(w->date, sizeof w->date, "%.4s-%.2s-%.2s", y + 6, m + 7, d + 5);
    txf_date dd;
    if (txf_date_parse(w->date, SIZE_MAX, &dd) != 0)
      continue;
    if (*n && !strcmp((*out)[*n - 1].date, w->date)) {
      rc = txf_err_set(err, TXF_EUNSUPPORTED,
                       "partition %s has more than one file (%s)", w->date, p);
      break;
    }
    w->path = txf_xstrdup(p);
    rc = txf_sha256_file(p, w->sha256, &w->size_bytes, err);
    (*n)++;
  }
  globfree(&g);
  return rc;
}

static void release_parts(txf_load_partition *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i].path);
  free(v);
}

/* ---------------------------------------------------------------- redshift */

/* A Redshift COPY reads a partition's folder in the bucket (…/day=DD/),
 * so the file it copies must be there, and alone: an older file under
 * another name would be copied too. Put the partition under the key
 * publish gives it, unless the bucket already holds it (same size, and our
 * records say the same SHA-256), and delete the rest of the folder. The
 * records are publish's (published_objects for the bucket), so a later
 * publish skips what was staged here. */
static int stage_partition(txf_s3 *s3, txf_store *st, const char *prefix,
                           const txf_load_partition *part, int64_t now_us,
                           const txf_logger *log, txf_err *err) {
  char *key = part_key(prefix, part);
  char *folder = txf_xstrndup(key, (size_t)(strrchr(key, '/') - key) + 1);
  txf_s3_list l = {0};
  int rc = txf_s3_list_prefix(s3, folder, &l, err);
  int there = 0;
  const char **stale = txf_xcalloc(l.n + 1, sizeof *stale);
  size_t n_stale = 0;
  for (size_t i = 0; !rc && i < l.n; i++) {
    if (strcmp(l.items[i].key, key)) {
      stale[n_stale++] = l.items[i].key;
      continue;
    }
    char known[65];
    uint64_t known_size = 0;
    there = l.items[i].size_bytes == part->size_bytes &&
            txf_meta_published_get(st, txf_s3_target(s3), key, known,
                                   &known_size) &&
            known_size == part->size_bytes && !strcmp(known, part->sha256);
  }
  if (!rc && !there) {
    rc = txf_s3_put_file(s3, key, part->path, "application/vnd.apache.parquet",
                         part->sha256, err);
    if (!rc)
      rc = txf_meta_published_put(st, txf_s3_target(s3), key, part->sha256,
                                  part->size_bytes, now_us, err);
    if (!rc)
      txf_log_info(log, "load: uploaded %s (%llu bytes)", key,
                   (unsigned long long)part->size_bytes);
  }
  if (!rc && n_stale)
    rc = txf_s3_delete(s3, stale, n_stale, err);
  for (size_t i = 0; !rc && i < n_stale; i++) {
    rc = txf_meta_published_forget(st, txf_s3_target(s3), stale[i], err);
    txf_log_info(log, "load: deleted %s", stale[i]);
  }
  free(stale);
  txf_s3_list_release(&l);
  free(key);
  free(folder);
  if (rc)
    return txf_err_wrap(err, "put partition %s in S3 for the COPY", part->date);
  return 0;
}

/* ---------------------------------------------------------------- run */

int txf_load_run(const txf_target *t, txf_store *st, const txf_load_opts *o,
                 txf_load_report *rep, txf_err *err) {
  memset(rep, 0, sizeof *rep);
  int64_t t0 = txf_mono_us();
  const txf_project_load_section *sec = o->section;
  const char *table = sec->table ? sec->table : "silver_transactions";
  const txf_tz *tz = o->tz;
  txf_buf *sql_out = o->sql_out;
  if (t->is_redshift && (!o->lake || !o->lake->configured || !sec->iam_role))
    return txf_err_set(err, TXF_ECONFIG,
                       "a redshift load copies from S3: configure "
                       "publish.s3 and %s.iam_role",
                       section_name(sec));
  /* the caller's part: a client for the bucket the COPY reads */
  assert(!t->is_redshift || sql_out || o->s3);
  char *target_key =
      txf_xasprintf("%s:%s/%s.%s", t->is_redshift ? "redshift" : "postgres",
                    t->name, t->schema, table);
  txf_load_partition *local = NULL;
  size_t n_local = 0;
  int rc = local_partitions(o->data_dir, &local, &n_local, err);

  /* What the warehouse holds, as far as we loaded it. */
  txf_load_partition *todo = txf_xcalloc(n_local + 1, sizeof *todo);
  size_t n_todo = 0;
  char **gone = NULL;
  size_t n_gone = 0;
  txf_meta_published_list held = {0};
  if (!rc)
    rc = txf_meta_published_list_read(st, target_key, &held, err);
  if (!rc) {
    size_t li = 0, hi = 0;
    for (;;) {
      const char *k = hi < held.n ? held.v[hi].key : NULL;
      if (!k && li >= n_local)
        break;
      int c = !k ? -1 : li >= n_local ? 1 : strcmp(local[li].date, k);
      if (c < 0) { /* never loaded */
        todo[n_todo++] = local[li++];
      } else if (c > 0) { /* loaded, no longer local */
        gone = txf_xrealloc(gone, (n_gone + 1) * sizeof *gone);
        gone[n_gone++] = txf_xstrdup(k);
        hi++;
      } else {
        const char *sha = held.v[hi].sha256;
        if (sha && !strcmp(sha, local[li].sha256))
          rep->partitions_skipped++;
        else
          todo[n_todo++] = local[li];
        li++;
        hi++;
      }
    }
  }
  txf_meta_published_list_release(&held);
  /* todo[] borrows local[]'s paths. */
  size_t n_all = n_todo + n_gone;
  txf_load_partition *all = txf_xcalloc(n_all + 1, sizeof *all);
  memcpy(all, todo, n_todo * sizeof *todo);
  for (size_t i = 0; i < n_gone; i++)
    snprintf(all[n_todo + i].date, sizeof all[0].date, "%s", gone[i]);

  char *qs_base = NULL, *manifest = NULL, *mkey = NULL, *murl = NULL;
  if (!rc && t->is_redshift) {
    qs_base = txf_xasprintf("s3://%s/%s", o->lake->cfg.bucket, o->lake->prefix);
    manifest = txf_load_redshift_manifest(qs_base, all, n_all);
    mkey = txf_load_redshift_manifest_key(o->lake->prefix, t->schema, table,
                                          manifest);
    murl = txf_xasprintf("s3://%s/%s", o->lake->cfg.bucket, mkey);
  }
  if (!rc && sql_out) {
    if (t->is_redshift) {
      char *sql = txf_load_redshift_sql(t->schema, table, tz, qs_base,
                                        sec->iam_role, murl, all, n_all);
      (void)txf_buf_puts(sql_out, sql);
      free(sql);
    } else {
      for (size_t i = 0; i < n_all; i++)
        (void)txf_buf_printf(sql_out, "%s %s%s%s\n",
                             all[i].path ? "replace" : "delete", all[i].date,
                             all[i].path ? " from " : "",
                             all[i].path ? all[i].path : "");
    }
  } else if (!rc && n_all) {
    PGconn *c = NULL;
    for (size_t i = 0; t->is_redshift && i < n_todo && !rc; i++)
      rc = stage_partition(o->s3, st, o->lake->prefix, &todo[i], o->now_us,
                           o->log, err);
    if (!rc && t->is_redshift && n_todo) {
      rc = txf_s3_put(o->s3, mkey, manifest, strlen(manifest),
                      "application/json", NULL, err);
      if (rc)
        txf_err_wrap(err, "put the COPY's manifest %s", mkey);
    }
    if (!rc)
      rc = pg_connect(&c, t, err);
    if (!rc && t->is_redshift) {
      char *sql = txf_load_redshift_sql(t->schema, table, tz, qs_base,
                                        sec->iam_role, murl, all, n_all);
      rc = pg_exec(c, sql, err);
      free(sql);
      if (!rc)
        rep->partitions_loaded = n_todo;
    } else if (!rc) {
      char *qschema = ident(c, t->schema), *qtab = ident(c, table);
      char *qtable = txf_xasprintf("%s.%s", qschema, qtab);
      free(qschema);
      free(qtab);
      rc = pg_exec(c, "BEGIN", err);
      for (size_t i = 0; i < n_all && !rc; i++) {
        char lo[40], hi[40];
        day_range(tz, all[i].date, lo, hi);
        txf_pq_reader *pr = NULL;
        if (all[i].path) {
          rc = txf_pq_reader_open(&pr, all[i].path, err);
          if (!rc)
            rc = sync_table(c, qtable, t->schema, table,
                            txf_pq_reader_schema(pr), sec, rep, err);
        }
        if (!rc) {
          char *del = txf_xasprintf("DELETE FROM %s WHERE txn_ts >= '%s' AND "
                                    "txn_ts < '%s'",
                                    qtable, lo, hi);
          /* A partition gone locally was loaded before: the table is
           * there. A new one's table was just made by sync_table. */
          rc = pg_exec(c, del, err);
          free(del);
        }
        if (!rc && pr)
          rc = copy_file(c, qtable, pr, &rep->rows_loaded, err);
        if (rc)
          txf_err_wrap(err, "load partition %s", all[i].date);
        else if (pr)
          rep->partitions_loaded++;
        else
          rep->partitions_deleted++;
        txf_pq_reader_free(pr);
      }
      if (!rc)
        rc = load_changes(c, t->schema, table, o->data_dir, sec, rep, err);
      if (!rc)
        rc = pg_exec(c, "COMMIT", err);
      else {
        PGresult *r = PQexec(c, "ROLLBACK");
        PQclear(r);
      }
      free(qtable);
    }
    PQfinish(c);
    /* Remember what the warehouse now holds (after the commit: a crash in
     * between only makes the next run load the same partitions again). */
    if (!rc) {
      txf_meta_published *held_now = txf_xcalloc(n_all + 1, sizeof *held_now);
      for (size_t i = 0; i < n_all; i++)
        held_now[i] = (txf_meta_published){all[i].date,
                                           all[i].path ? all[i].sha256 : NULL};
      rc = txf_meta_published_sync(st, target_key, held_now, n_all, o->now_us,
                                   err);
      free(held_now);
    }
  }
  if (!sql_out && !rc && t->is_redshift)
    rep->partitions_deleted = n_gone;
  rep->elapsed_us = txf_mono_us() - t0;
  TXF_FREE_ALL(qs_base, manifest, mkey, murl, all, todo);
  for (size_t i = 0; i < n_gone; i++)
    free(gone[i]);
  free(gone);
  release_parts(local, n_local);
  free(target_key);
  if (rc)
    return txf_err_wrap(err, "warehouse load into %s", t->name);
  return 0;
}
