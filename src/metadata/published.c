/* What publish uploaded and what the warehouse load holds, per target and
 * key, so unchanged objects are skipped. */
#include <string.h>

#include "metadata/internal.h"

void txf_meta_published_list_release(txf_meta_published_list *l) {
  txf_store_list_release(TXF_STORE_LIST(l));
}

int txf_meta_published_get(txf_store *s, const char *target, const char *key,
                           char sha[65], uint64_t *size) {
  sha[0] = '\0';
  sqlite3_stmt *q;
  txf_err ignored;
  if (txf_store_query(s, &q, &ignored,
                      "SELECT sha256, size_bytes FROM published_objects "
                      "WHERE target = ?1 AND key = ?2",
                      "ss", target, key))
    return 0;
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
  return txf_store_write(
      s, "record published object", err,
      "INSERT INTO published_objects(target, key, sha256, size_bytes, "
      "published_at_us) VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(target, key) "
      "DO UPDATE SET sha256 = excluded.sha256, size_bytes = "
      "excluded.size_bytes, published_at_us = excluded.published_at_us",
      "sssii", target, key, sha256, (int64_t)size_bytes, published_at_us);
}

int txf_meta_published_forget(txf_store *s, const char *target, const char *key,
                              txf_err *err) {
  return txf_store_write(
      s, "forget published object", err,
      "DELETE FROM published_objects WHERE target = ?1 AND key = ?2", "ss",
      target, key);
}

static void fill_published(sqlite3_stmt *q, void *row, txf_arena *text) {
  txf_meta_published *p = row;
  p->key = txf_store_col_text(q, 0, text);
  p->sha256 = txf_store_col_text(q, 1, text);
}

int txf_meta_published_list_read(txf_store *s, const char *target,
                                 txf_meta_published_list *out, txf_err *err) {
  static const txf_store_rows published_rows = {
      sizeof(txf_meta_published), fill_published, "read published_objects",
      NULL, 0};
  return txf_store_select(s, &published_rows, TXF_STORE_LIST(out), err,
                          "SELECT key, sha256 FROM published_objects WHERE "
                          "target = ?1 ORDER BY key",
                          "s", target);
}

int txf_meta_published_sync(txf_store *s, const char *target,
                            const txf_meta_published *changes, size_t n,
                            int64_t published_at_us, txf_err *err) {
  int rc = txf_store_begin(s, err);
  for (size_t i = 0; i < n && !rc; i++) {
    if (changes[i].sha256) /* the load knows no size: keep what is there */
      rc = txf_store_write(
          s, "record the warehouse load", err,
          "INSERT INTO published_objects(target, key, sha256, size_bytes, "
          "published_at_us) VALUES(?1, ?2, ?3, NULL, ?4) ON CONFLICT(target, "
          "key) DO UPDATE SET sha256 = excluded.sha256, published_at_us = "
          "excluded.published_at_us",
          "sssi", target, changes[i].key, changes[i].sha256, published_at_us);
    else
      rc = txf_store_write(s, "record the warehouse load", err,
                           "DELETE FROM published_objects WHERE target = ?1 "
                           "AND key = ?2",
                           "ss", target, changes[i].key);
  }
  if (!rc)
    return txf_store_commit(s, err);
  txf_store_rollback(s);
  return rc;
}
