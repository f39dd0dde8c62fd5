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

typedef struct to_sink {
  txf_meta_text_sink sink;
  void *arg;
  txf_err *err;
  int rc; /* the sink's, which stops the reading */
  int64_t n;
} to_sink;

static int sink_row(sqlite3_stmt *q, void *arg) {
  to_sink *t = arg;
  t->rc = t->sink(t->arg, (const char *)sqlite3_column_text(q, 0), t->err);
  if (t->rc)
    return 1;
  t->n++;
  return 0;
}

int txf_meta_lineage_each(txf_store *s, int64_t since_us,
                          txf_meta_text_sink sink, void *arg, int64_t *n_out,
                          txf_err *err) {
  to_sink t = {sink, arg, err, 0, 0};
  int rc = txf_store_each(s, err, "read lineage_events", sink_row, &t,
                          "SELECT payload_json FROM lineage_events WHERE "
                          "event_time_us >= ? ORDER BY event_time_us, "
                          "event_id",
                          "i", since_us);
  if (n_out)
    *n_out = t.n;
  return rc ? rc : t.rc;
}

int txf_meta_lineage_events_json(txf_store *s, int64_t limit, json_t *out,
                                 txf_err *err) {
  return txf_store_query_rows(s, out, err,
                              "SELECT event_id, event_time_us, event_type, "
                              "job, run_uuid FROM lineage_events ORDER BY "
                              "event_time_us DESC, event_id DESC LIMIT ?",
                              "i", limit);
}
