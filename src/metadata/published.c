/* What publish uploaded and what the warehouse load holds, per target and
 * key, so unchanged objects are skipped. */
#include <string.h>

#include "metadata/internal.h"

void txf_meta_published_list_release(txf_meta_published_list *l) {
  txf_store_list_release(&l->v, &l->n, &l->text);
}

int txf_meta_published_get(txf_store *s, const char *target, const char *key,
                           char sha[65], uint64_t *size) {
  sqlite3_stmt *q;
  sha[0] = '\0';
  if (sqlite3_prepare_v2(s->db,
                         "SELECT sha256, size_bytes FROM published_objects "
                         "WHERE target = ?1 AND key = ?2",
                         -1, &q, NULL) != SQLITE_OK)
    return 0;
  sqlite3_bind_text(q, 1, target, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 2, key, -1, SQLITE_TRANSIENT);
  int found = 0;
  if (sqlite3_step(q) == SQLITE_ROW) {
    const char *t = (const char *)sqlite3_column_text(q, 0);
    snprintf(sha, 65, "%s", t ? t : "");
    *size = (uint64_t)sqlite3_column_int64(q, 1);
    found = 1;
  }
  sqlite3_finalize(q);
  return found;
}

int txf_meta_published_put(txf_store *s, const char *target, const char *key,
                           const char *sha256, uint64_t size_bytes,
                           int64_t published_at_us, txf_err *err) {
  sqlite3_stmt *q;
  int rc = txf_store_prepare(
      s,
      "INSERT INTO published_objects(target, key, sha256, size_bytes, "
      "published_at_us) VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(target, key) "
      "DO UPDATE SET sha256 = excluded.sha256, size_bytes = "
      "excluded.size_bytes, published_at_us = excluded.published_at_us",
      &q, err);
  if (rc)
    return rc;
  sqlite3_bind_text(q, 1, target, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 2, key, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 3, sha256, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(q, 4, (sqlite3_int64)size_bytes);
  sqlite3_bind_int64(q, 5, published_at_us);
  return txf_store_step_done(s, q, "record published object", err);
}

int txf_meta_published_forget(txf_store *s, const char *target, const char *key,
                              txf_err *err) {
  sqlite3_stmt *q;
  int rc = txf_store_prepare(
      s, "DELETE FROM published_objects WHERE target = ?1 AND key = ?2", &q,
      err);
  if (rc)
    return rc;
  sqlite3_bind_text(q, 1, target, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 2, key, -1, SQLITE_TRANSIENT);
  return txf_store_step_done(s, q, "forget published object", err);
}

int txf_meta_published_list_read(txf_store *s, const char *target,
                                 txf_meta_published_list *out, txf_err *err) {
  txf_store_list_init(&out->v, &out->n, &out->text);
  sqlite3_stmt *q;
  int rc = txf_store_prepare(s,
                             "SELECT key, sha256 FROM published_objects WHERE "
                             "target = ?1 ORDER BY key",
                             &q, err);
  if (rc)
    return rc;
  sqlite3_bind_text(q, 1, target, -1, SQLITE_TRANSIENT);
  int step;
  while ((step = sqlite3_step(q)) == SQLITE_ROW) {
    txf_meta_published *p = txf_store_row_add(&out->v, &out->n, sizeof *p);
    p->key = txf_store_col_text(q, 0, &out->text);
    p->sha256 = txf_store_col_text(q, 1, &out->text);
  }
  rc = txf_store_rows_done(s, q, step, "read published_objects", err);
  if (rc)
    txf_meta_published_list_release(out);
  return rc;
}

int txf_meta_published_sync(txf_store *s, const char *target,
                            const txf_meta_published *changes, size_t n,
                            int64_t published_at_us, txf_err *err) {
  int rc = txf_store_begin(s, err);
  for (size_t i = 0; i < n && !rc; i++) {
    sqlite3_stmt *q;
    if (changes[i].sha256) {
      /* The load knows no size; a key loaded before keeps its own. */
      rc = txf_store_prepare(
          s,
          "INSERT INTO published_objects(target, key, sha256, size_bytes, "
          "published_at_us) VALUES(?1, ?2, ?3, NULL, ?4) ON CONFLICT"
          "(target, key) DO UPDATE SET sha256 = excluded.sha256, "
          "published_at_us = excluded.published_at_us",
          &q, err);
      if (!rc) {
        sqlite3_bind_text(q, 3, changes[i].sha256, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(q, 4, published_at_us);
      }
    } else {
      rc = txf_store_prepare(s,
                             "DELETE FROM published_objects WHERE "
                             "target = ?1 AND key = ?2",
                             &q, err);
    }
    if (!rc) {
      sqlite3_bind_text(q, 1, target, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(q, 2, changes[i].key, -1, SQLITE_TRANSIENT);
      rc = txf_store_step_done(s, q, "record the warehouse load", err);
    }
  }
  if (!rc)
    return txf_store_commit(s, err);
  txf_store_rollback(s);
  return rc;
}
