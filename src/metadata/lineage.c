/* OpenLineage events as recorded (lineage builds them), exported and
 * listed on the dashboard. */
#include "metadata/internal.h"

int txf_meta_lineage_add(txf_store *s, int64_t event_time_us,
                         const char *event_type, const char *job,
                         const char *run_uuid, const char *payload_json,
                         txf_err *err) {
  return txf_store_write(s, "insert lineage event", err,
                         "INSERT INTO lineage_events(event_time_us, "
                         "event_type, job, run_uuid, payload_json) VALUES "
                         "(?, ?, ?, ?, ?)",
                         "issss", event_time_us, event_type, job, run_uuid,
                         payload_json);
}

int txf_meta_lineage_each(txf_store *s, int64_t since_us,
                          txf_meta_text_sink sink, void *arg, int64_t *n_out,
                          txf_err *err) {
  if (n_out)
    *n_out = 0;
  sqlite3_stmt *q;
  int rc = txf_store_query(s, &q, err,
                           "SELECT payload_json FROM lineage_events WHERE "
                           "event_time_us >= ? ORDER BY event_time_us, "
                           "event_id",
                           "i", since_us);
  if (rc)
    return rc;
  int step;
  int64_t n = 0;
  while ((step = sqlite3_step(q)) == SQLITE_ROW) {
    rc = sink(arg, (const char *)sqlite3_column_text(q, 0), err);
    if (rc)
      break;
    n++;
  }
  if (!rc && step != SQLITE_DONE)
    rc = txf_store_error(s, err, "read lineage_events");
  sqlite3_finalize(q);
  if (n_out)
    *n_out = n;
  return rc;
}

int txf_meta_lineage_events_json(txf_store *s, int64_t limit, json_t *out,
                                 txf_err *err) {
  return txf_store_query_rows(s, out, err,
                              "SELECT event_id, event_time_us, event_type, "
                              "job, run_uuid FROM lineage_events ORDER BY "
                              "event_time_us DESC, event_id DESC LIMIT ?",
                              "i", limit);
}
