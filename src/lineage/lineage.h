/* lineage: OpenLineage run events (https://openlineage.io/spec/2-0-2/) for
 * the pipeline's task runs, recorded in the metadata database's
 * lineage_events table and exported as NDJSON or POSTed to a collector.
 *
 * Each task attempt is one OpenLineage run: a START event when it begins and
 * a COMPLETE or FAIL event when it ends, with the same run UUID. The job is
 * "<project>" / "txnflow.<task>"; the datasets a task reads and writes are
 * known per task (see docs/lineage.md) and carry facets read from the
 * metadata database at the time of the event: schema, row counts
 * (outputStatistics, dataQualityMetrics) and data-test results
 * (dataQualityAssertions). */
#ifndef TXF_LINEAGE_H
#define TXF_LINEAGE_H

#include <stdint.h>

#include "metadata/metadata.h"
#include "util/util.h"

/* The producer URI written into every event and facet. */
#define TXF_LINEAGE_PRODUCER "https://github.com/txnflow/txnflow/tree/v0.1.0"
/* The core spec version the events follow. */
#define TXF_LINEAGE_SCHEMA_URL                                                 \
  "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"

typedef enum {
  TXF_LINEAGE_START,
  TXF_LINEAGE_COMPLETE,
  TXF_LINEAGE_FAIL,
  TXF_LINEAGE_ABORT
} txf_lineage_event_type;

/* "START", "COMPLETE", "FAIL", "ABORT". */
const char *txf_lineage_event_name(txf_lineage_event_type t);
/* Parse one of the names above (case-insensitive); TXF_EPARSE otherwise. */
TXF_MUST_CHECK int txf_lineage_event_parse(const char *s,
                                           txf_lineage_event_type *out);

/* A fresh random (version 4, RFC 9562) UUID as 36 lowercase characters and
 * a NUL. Uses getrandom(); never fails. */
void txf_lineage_uuid(char out[37]);
/* A UUID derived from SEED (SHA-256 of it, version 8 and RFC variant bits
 * set): the same seed gives the same id, so a START and its end event can
 * agree on the run id without keeping it (the orchestrator seeds it with
 * the attempt's row). */
void txf_lineage_uuid_from(const char *seed, char out[37]);
/* 1 when S is a UUID in the canonical 8-4-4-4-12 hex form. */
int txf_lineage_uuid_valid(const char *s);

/* What an orchestrator knows about one task attempt. All strings are
 * borrowed for the duration of the call. */
typedef struct txf_lineage_task {
  const char *project;      /* job namespace: the project's name */
  const char *data_dir;     /* absolute data dir: dataset namespace file:// */
  const char *logical_date; /* "YYYY-MM-DD" */
  const char *task;         /* generate|wait_bronze|clean|models|publish|... */
  const char *run_uuid;     /* the attempt's run id; same for START and end */
  int attempt;              /* 1-based attempt number (0: unknown) */
  int64_t event_time_us;    /* when the transition happened (UTC) */
  int64_t nominal_time_us;  /* the scheduled time of the run, 0 if none */
  const char *error;        /* FAIL/ABORT: the error message, else NULL */
  const char *manifest_path; /* target/manifest.json for model schemas, or
                                NULL */
} txf_lineage_task;

/* Build the event for T as compact JSON (malloc'd; caller frees) without
 * storing it. Facets are read from ST (which may be NULL: no facets beyond
 * the schemas). TXF_EUSAGE when a field is missing or the UUID or date is
 * malformed; TXF_EDB when the metadata cannot be read. */
TXF_MUST_CHECK int txf_lineage_task_event_build(txf_store *st,
                                                const txf_lineage_task *t,
                                                txf_lineage_event_type type,
                                                char **out, txf_err *err);

/* Build the event for T and insert it into ST's lineage_events (ST must be
 * open read-write). This is the call the orchestrator makes per task
 * attempt: once with TXF_LINEAGE_START before the task runs and once with
 * COMPLETE or FAIL after it ends. */
TXF_MUST_CHECK int txf_lineage_task_event(txf_store *st,
                                          const txf_lineage_task *t,
                                          txf_lineage_event_type type,
                                          txf_err *err);

/* Called by txf_lineage_export for each stored event, oldest first; JSON is
 * borrowed for the call. A non-zero return stops the export and is
 * returned. */
typedef int (*txf_lineage_sink)(void *arg, const char *json, txf_err *err);

/* Hand every stored event with event time >= SINCE_US to SINK in
 * (event_time, event_id) order. *N_OUT (may be NULL) gets the count. */
TXF_MUST_CHECK int txf_lineage_export(txf_store *st, int64_t since_us,
                                      txf_lineage_sink sink, void *arg,
                                      int64_t *n_out, txf_err *err);

#endif /* TXF_LINEAGE_H */
