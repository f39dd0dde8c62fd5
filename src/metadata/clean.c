/* Clean runs, their quarantine counts and the silver partitions they
 * committed: what clean records, and what publish, lineage, the audit,
 * the executor and the dashboard read back. */
#include <string.h>

#include "metadata/internal.h"

void txf_meta_clean_run_list_release(txf_meta_clean_run_list *l) {
  txf_store_list_release(TXF_STORE_LIST(l));
}

/* ---------------------------------------------------------------- writes */

int txf_meta_clean_record(txf_store *s, const char *run_id,
                          const txf_meta_clean_run *run,
                          const txf_meta_count *reasons, size_t n_reasons,
                          const txf_meta_partition_commit *commits,
                          size_t n_commits, txf_err *err) {
  int rc = txf_store_begin(s, err);
  if (rc)
    return rc;
  int64_t one;
  int exists;
  rc = txf_store_row_i64(s, &one, 1, &exists, err,
                         "SELECT 1 FROM clean_runs WHERE "
                         "json_extract(details_json, '$.run_id') = ?1",
                         "s", run_id);
  if (!rc && exists)
    return txf_store_commit(s, err);
  if (!rc)
    rc = txf_store_write(
        s, "insert clean_runs", err,
        "INSERT INTO clean_runs(ingest_date, started_at_us, ended_at_us, "
        "state, lines_read, inserted, updated, duplicates, stale, "
        "quarantined, ties, partitions_rewritten, details_json) VALUES (?1, "
        "?2, ?3, ?13, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        "siiiiiiiiiiss", run->ingest_date, run->started_at_us, run->ended_at_us,
        run->lines_read, run->inserted, run->updated, run->duplicates,
        run->stale, run->quarantined, run->ties, run->partitions_rewritten,
        run->details_json, run->state ? run->state : "success");
  int64_t clean_id = sqlite3_last_insert_rowid(s->db);
  for (size_t i = 0; i < n_reasons && !rc; i++)
    rc = txf_store_write(s, "insert quarantine_counts", err,
                         "INSERT INTO quarantine_counts(clean_id, reason, n) "
                         "VALUES (?1, ?2, ?3)",
                         "isi", clean_id, reasons[i].name, reasons[i].n);
  for (size_t i = 0; i < n_commits && !rc; i++) {
    const txf_meta_partition_commit *c = &commits[i];
    rc = txf_store_write(s, "insert partition_commits", err,
                         "INSERT INTO partition_commits(clean_id, partition, "
                         "n_rows, size_bytes, sha256, committed_at_us) VALUES "
                         "(?1, ?2, ?3, ?4, ?5, ?6)",
                         "isinsi", clean_id, c->partition, c->n_rows,
                         c->size_bytes, c->sha256, c->committed_at_us);
  }
  if (!rc)
    return txf_store_commit(s, err);
  txf_store_rollback(s);
  return rc;
}

int txf_meta_clean_failed(txf_store *s, const char *date, int64_t started_at_us,
                          int64_t ended_at_us, const char *error,
                          txf_err *err) {
  return txf_store_write(s, "insert clean_runs", err,
                         "INSERT INTO clean_runs(ingest_date, started_at_us, "
                         "ended_at_us, state, error) VALUES (?1, ?2, ?3, "
                         "'failed', ?4)",
                         "siis", date, started_at_us, ended_at_us, error);
}

/* ---------------------------------------------------------------- reads */

#define CLEAN_COLS                                                             \
  "clean_id, ingest_date, state, started_at_us, ended_at_us, lines_read, "     \
  "inserted, updated, duplicates, stale, quarantined, ties, "                  \
  "partitions_rewritten, details_json, error"

static const txf_store_col clean_cols[] = {
    TXF_STORE_COL('i', txf_meta_clean_run, clean_id),
    TXF_STORE_COL('t', txf_meta_clean_run, ingest_date),
    TXF_STORE_COL('t', txf_meta_clean_run, state),
    TXF_STORE_COL('n', txf_meta_clean_run, started_at_us),
    TXF_STORE_COL('n', txf_meta_clean_run, ended_at_us),
    TXF_STORE_COL('i', txf_meta_clean_run, lines_read),
    TXF_STORE_COL('i', txf_meta_clean_run, inserted),
    TXF_STORE_COL('i', txf_meta_clean_run, updated),
    TXF_STORE_COL('i', txf_meta_clean_run, duplicates),
    TXF_STORE_COL('i', txf_meta_clean_run, stale),
    TXF_STORE_COL('i', txf_meta_clean_run, quarantined),
    TXF_STORE_COL('i', txf_meta_clean_run, ties),
    TXF_STORE_COL('i', txf_meta_clean_run, partitions_rewritten),
    TXF_STORE_COL('t', txf_meta_clean_run, details_json),
    TXF_STORE_COL('t', txf_meta_clean_run, error),
};

static const txf_store_rows clean_rows = {sizeof(txf_meta_clean_run), NULL,
                                          "read clean_runs", clean_cols,
                                          TXF_ARRAY_LEN(clean_cols)};

int txf_meta_clean_runs_succeeded(txf_store *s, const txf_meta_clean_query *cq,
                                  txf_meta_clean_run_list *out, txf_err *err) {
  return txf_store_select(
      s, &clean_rows, TXF_STORE_LIST(out), err,
      "SELECT " CLEAN_COLS " FROM clean_runs c WHERE state = 'success' AND "
      "NOT EXISTS (SELECT 1 FROM clean_runs r WHERE r.ingest_date = "
      "c.ingest_date AND r.state = 'reverted' AND r.clean_id > c.clean_id) "
      "AND (?1 IS NULL OR ingest_date >= ?1) AND (?2 IS NULL OR ingest_date <= "
      "?2) AND (?3 = 0 OR clean_id = (SELECT max(clean_id) FROM clean_runs "
      "WHERE ingest_date = c.ingest_date AND state = 'success')) ORDER BY "
      "ingest_date, clean_id",
      "ssi", cq->from, cq->to, (int64_t)cq->latest_only);
}

int txf_meta_clean_latest(txf_store *s, const char *date,
                          txf_meta_clean_run_list *out, txf_err *err) {
  return txf_store_select(s, &clean_rows, TXF_STORE_LIST(out), err,
                          "SELECT " CLEAN_COLS " FROM clean_runs WHERE "
                          "ingest_date = ? ORDER BY clean_id DESC LIMIT 1",
                          "s", date);
}

int txf_meta_clean_details_between(txf_store *s, const char *date,
                                   int64_t t0_us, int64_t t1_us,
                                   char **details_json, txf_err *err) {
  *details_json = NULL;
  sqlite3_stmt *q;
  int rc = txf_store_query(s, &q, err,
                           "SELECT details_json FROM clean_runs WHERE "
                           "ingest_date = ? AND state = 'success' AND "
                           "started_at_us >= ? AND started_at_us <= ? ORDER "
                           "BY clean_id DESC LIMIT 1",
                           "sii", date, t0_us, t1_us);
  if (rc)
    return rc;
  int step = sqlite3_step(q);
  if (step == SQLITE_ROW && sqlite3_column_text(q, 0))
    *details_json = txf_xstrdup((const char *)sqlite3_column_text(q, 0));
  if (step != SQLITE_ROW && step != SQLITE_DONE)
    rc = txf_store_error(s, err, "read clean_runs");
  sqlite3_finalize(q);
  return rc;
}

int txf_meta_clean_commit_totals(txf_store *s, int64_t clean_id,
                                 int64_t *n_files, int64_t *size_bytes,
                                 txf_err *err) {
  int64_t v[2];
  int found;
  int rc = txf_store_row_i64(s, v, 2, &found, err,
                             "SELECT count(*), sum(size_bytes) FROM "
                             "partition_commits WHERE clean_id = ?",
                             "i", clean_id);
  *n_files = found ? v[0] : 0;
  *size_bytes = v[1];
  return rc;
}

int txf_meta_clean_partitions(txf_store *s, const char *date, int *found,
                              txf_meta_name_list *out, txf_err *err) {
  txf_store_list_init(TXF_STORE_LIST(out));
  int64_t clean_id;
  int rc = txf_store_row_i64(s, &clean_id, 1, found, err,
                             "SELECT clean_id FROM clean_runs WHERE "
                             "ingest_date = ?1 AND state = 'success' ORDER BY "
                             "clean_id DESC LIMIT 1",
                             "s", date);
  if (rc || !*found)
    return rc;
  static const txf_store_rows partition_rows = {
      sizeof(const char *), txf_store_fill_text, "read partition_commits", NULL,
      0};
  return txf_store_select(s, &partition_rows, TXF_STORE_LIST(out), err,
                          "SELECT DISTINCT partition FROM partition_commits "
                          "WHERE clean_id = ?1 ORDER BY partition",
                          "i", clean_id);
}

int txf_meta_lake_rows(txf_store *s, int64_t *bronze_lines,
                       int64_t *silver_rows, txf_err *err) {
  int64_t v[2];
  int found;
  int rc = txf_store_row_i64(
      s, v, 2, &found, err,
      "SELECT (SELECT sum(lines_read) FROM clean_runs WHERE clean_id IN "
      "(SELECT max(clean_id) FROM clean_runs GROUP BY ingest_date)), (SELECT "
      "sum(n_rows) FROM partition_commits WHERE commit_id IN (SELECT "
      "max(commit_id) FROM partition_commits GROUP BY partition))",
      "");
  *bronze_lines = v[0];
  *silver_rows = v[1];
  return rc;
}

/* ---------------------------------------------------------------- dashboard */

int txf_meta_clean_runs_json(txf_store *s, const char *from, const char *to,
                             int64_t limit, json_t *out, txf_err *err) {
  /* holds: lines_read = inserted + updated + duplicates + stale +
   * quarantined; NULL when a term is missing (a failed clean). */
  sqlite3_stmt *q = NULL, *cq = NULL;
  int rc = txf_store_query(
      s, &q, err,
      "SELECT clean_id, ingest_date, state, lines_read, inserted, updated, "
      "duplicates, stale, quarantined, ties, "
      "partitions_rewritten, " TXF_STORE_DURATION_S(
          "started_at_us",
          "ended_at_us") " AS duration_s, "
                         "error, CASE WHEN lines_read + inserted + updated + "
                         "duplicates + stale "
                         "+ quarantined IS NULL THEN NULL ELSE lines_read = "
                         "inserted + updated + "
                         "duplicates + stale + quarantined END AS holds, "
                         "json_extract(details_json, '$.partitions_rewritten') "
                         "AS _partitions "
                         "FROM clean_runs WHERE ingest_date BETWEEN ? AND ? "
                         "ORDER BY "
                         "ingest_date DESC, clean_id DESC LIMIT ?",
      "ssi", from, to, limit);
  if (!rc)
    rc = txf_store_query(s, &cq, err,
                         "SELECT reason, n FROM quarantine_counts WHERE "
                         "clean_id = ? ORDER BY n DESC, reason",
                         "");
  int step = SQLITE_DONE;
  while (!rc && (step = sqlite3_step(q)) == SQLITE_ROW) {
    json_t *o = txf_store_row_json(q);
    json_array_append_new(out, o);
    json_t *by = json_object();
    json_object_set_new(o, "quarantined_by_reason", by);
    sqlite3_reset(cq);
    sqlite3_bind_int64(cq, 1, sqlite3_column_int64(q, 0));
    while (sqlite3_step(cq) == SQLITE_ROW)
      json_object_set_new(by, (const char *)sqlite3_column_text(cq, 0),
                          txf_store_col_json(cq, 1));
    /* The event dates this clean rewrote, from its report. */
    const char *pj = (const char *)sqlite3_column_text(q, 14);
    json_t *parts = pj ? json_loads(pj, 0, NULL) : NULL;
    json_object_set_new(o, "partitions",
                        json_is_array(parts) ? parts : json_null());
    if (parts && !json_is_array(parts))
      json_decref(parts);
  }
  if (!rc && step != SQLITE_DONE)
    rc = txf_store_error(s, err, "read");
  sqlite3_finalize(q);
  sqlite3_finalize(cq);
  return rc;
}

int txf_meta_lake_json(txf_store *s, json_t *parts, json_t *reasons,
                       json_t *by_date, txf_err *err) {
  /* Each partition as its latest commit left it; the quarantine as the
   * latest clean of each ingestion date left it. */
  int rc = txf_store_query_rows(
      s, parts, err,
      "SELECT p.partition, p.n_rows, p.size_bytes, p.committed_at_us, "
      "p.clean_id, c.ingest_date, p.sha256, l.n AS rewrites FROM (SELECT "
      "max(commit_id) id, count(*) n FROM partition_commits GROUP BY "
      "partition) l JOIN partition_commits p ON p.commit_id = l.id LEFT JOIN "
      "clean_runs c ON c.clean_id = p.clean_id ORDER BY p.partition DESC",
      "");
  if (!rc)
    rc = txf_store_query_rows(
        s, reasons, err,
        "SELECT reason, sum(n) AS n FROM quarantine_counts WHERE clean_id IN "
        "(SELECT max(clean_id) FROM clean_runs GROUP BY ingest_date) GROUP "
        "BY reason ORDER BY 2 DESC, 1",
        "");
  if (!rc)
    rc = txf_store_query_rows(
        s, by_date, err,
        "SELECT c.ingest_date, q.reason, q.n FROM quarantine_counts q JOIN "
        "clean_runs c ON c.clean_id = q.clean_id WHERE q.clean_id IN (SELECT "
        "max(clean_id) FROM clean_runs GROUP BY ingest_date) ORDER BY "
        "c.ingest_date DESC, q.n DESC",
        "");
  return rc;
}
