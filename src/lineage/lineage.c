/* OpenLineage run events for task attempts. See docs/lineage.md. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "bronze/bronze.h"
#include "clean/clean.h"
#include "lineage/lineage.h"

#define FACET_BASE "https://openlineage.io/spec/facets/"

static const char *const event_names[] = {[TXF_LINEAGE_START] = "START",
                                          [TXF_LINEAGE_COMPLETE] = "COMPLETE",
                                          [TXF_LINEAGE_FAIL] = "FAIL",
                                          [TXF_LINEAGE_ABORT] = "ABORT"};

const char *txf_lineage_event_name(txf_lineage_event_type t) {
  return (size_t)t < TXF_ARRAY_LEN(event_names) ? event_names[t] : "OTHER";
}

int txf_lineage_event_parse(const char *s, txf_lineage_event_type *out) {
  for (size_t i = 0; i < TXF_ARRAY_LEN(event_names); i++)
    if (!strcasecmp(s, event_names[i])) {
      *out = (txf_lineage_event_type)i;
      return 0;
    }
  return TXF_EPARSE;
}

void txf_lineage_uuid(char out[37]) {
  unsigned char b[16];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = getrandom(b + got, sizeof b - got, 0);
    if (n > 0)
      got += (size_t)n;
  }
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC variant */
  static const char hex[] = "0123456789abcdef";
  char *p = out;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      *p++ = '-';
    *p++ = hex[b[i] >> 4];
    *p++ = hex[b[i] & 15];
  }
  *p = '\0';
}

static void uuid_format(unsigned char b[16], int version, char out[37]) {
  b[6] = (unsigned char)((b[6] & 0x0f) | (version << 4));
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC variant */
  static const char hex[] = "0123456789abcdef";
  char *p = out;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      *p++ = '-';
    *p++ = hex[b[i] >> 4];
    *p++ = hex[b[i] & 15];
  }
  *p = '\0';
}

void txf_lineage_uuid_from(const char *seed, char out[37]) {
  char hexd[65];
  txf_sha256_hex(seed, strlen(seed), hexd);
  unsigned char b[16];
  for (int i = 0; i < 16; i++) {
    unsigned hi = (unsigned)(hexd[2 * i] <= '9' ? hexd[2 * i] - '0'
                                                : hexd[2 * i] - 'a' + 10);
    unsigned lo = (unsigned)(hexd[2 * i + 1] <= '9' ? hexd[2 * i + 1] - '0'
                                                    : hexd[2 * i + 1] - 'a' + 10);
    b[i] = (unsigned char)(hi << 4 | lo);
  }
  uuid_format(b, 8, out);
}

int txf_lineage_uuid_valid(const char *s) {
  if (!s || strlen(s) != 36)
    return 0;
  for (int i = 0; i < 36; i++) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-')
        return 0;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                 (c >= 'A' && c <= 'F'))) {
      return 0;
    }
  }
  return 1;
}

static json_t *facet(const char *version, const char *name) {
  char url[256];
  snprintf(url, sizeof url, FACET_BASE "%s/%s.json#/$defs/%s", version, name,
           name);
  return json_pack("{s:s, s:s}", "_producer", TXF_LINEAGE_PRODUCER,
                   "_schemaURL", url);
}

static json_t *ts_json(int64_t us) {
  char buf[48];
  txf_ts_format(us, 0, 1, buf);
  return json_string(buf);
}

/* A dataset {namespace, name, facets{schema}}; FIELDS is an array of
 * {name, type} objects (taken). */
static json_t *dataset(const char *ns, const char *name, json_t *fields) {
  json_t *d = json_pack("{s:s, s:s, s:{}}", "namespace", ns, "name", name,
                        "facets");
  if (fields) {
    json_t *f = facet("1-2-0", "SchemaDatasetFacet");
    json_object_set_new(f, "fields", fields);
    json_object_set_new(json_object_get(d, "facets"), "schema", f);
  }
  return d;
}

static json_t *bronze_fields(void) {
  json_t *a = json_array();
  for (size_t i = 0; i < TXF_BRONZE_N_COLS; i++)
    json_array_append_new(a, json_pack("{s:s, s:s, s:i}", "name",
                                       txf_bronze_columns[i], "type", "STRING",
                                       "ordinal_position", (int)i + 1));
  return a;
}

static json_t *silver_fields(void) {
  json_t *a = json_array();
  /* The silver contract (DESIGN.md), from clean.h. */
  for (size_t i = 0; i < TXF_SILVER_N_COLS; i++) {
    char t[32];
    json_array_append_new(
        a, json_pack("{s:s, s:s, s:i}", "name", txf_silver_columns[i].name,
                     "type", txf_pq_column_type_name(&txf_silver_columns[i],
                                                     t, sizeof t),
                     "ordinal_position", (int)i + 1));
  }
  return a;
}

/* Facet NAME (VERSION) with the counts of a dataset: rowCount, and
 * BYTES_KEY and fileCount when known (not negative). */
static json_t *counts_facet(const char *version, const char *name, int64_t rows,
                            const char *bytes_key, int64_t bytes,
                            int64_t files) {
  json_t *f = facet(version, name);
  json_object_set_new(f, "rowCount", json_integer(rows));
  if (bytes >= 0)
    json_object_set_new(f, bytes_key, json_integer(bytes));
  if (files >= 0)
    json_object_set_new(f, "fileCount", json_integer(files));
  return f;
}

static void set_output_stats(json_t *ds, int64_t rows, int64_t size_bytes,
                             int64_t files) {
  json_t *f = counts_facet("1-0-2", "OutputStatisticsOutputDatasetFacet", rows,
                           "size", size_bytes, files);
  json_object_set_new(ds, "outputFacets",
                      json_pack("{s:o}", "outputStatistics", f));
}

static void set_input_metrics(json_t *ds, int64_t rows, int64_t bytes,
                              int64_t files) {
  json_t *f = counts_facet("1-0-3", "DataQualityMetricsInputDatasetFacet", rows,
                           "bytes", bytes, files);
  json_object_set_new(f, "columnMetrics", json_object());
  json_object_set_new(ds, "inputFacets",
                      json_pack("{s:o}", "dataQualityMetrics", f));
}

/* Rows and bytes listed in bronze's _manifest.json for D; -1 when absent. */
static void bronze_manifest_stats(const char *data_dir, const char *date,
                                  int64_t *rows, int64_t *bytes,
                                  int64_t *files) {
  *rows = *bytes = *files = -1;
  char *path = txf_xasprintf(
      "%s/bronze/transactions/ingest_date=%s/_manifest.json", data_dir, date);
  json_t *m = json_load_file(path, 0, NULL);
  free(path);
  json_t *fl = json_object_get(m, "files");
  if (json_is_array(fl)) {
    *rows = *bytes = 0;
    *files = (int64_t)json_array_size(fl);
    size_t i;
    json_t *f;
    json_array_foreach(fl, i, f) {
      *rows += json_integer_value(json_object_get(f, "rows"));
      *bytes += json_integer_value(json_object_get(f, "size_bytes"));
    }
  }
  json_decref(m);
}

/* The columns of MODEL in a models manifest, as schema fields; NULL when
 * unknown. Accepts nodes as an object (dbt style, keyed by unique id) or
 * an array, and columns as an object or an array. */
static json_t *manifest_fields(json_t *manifest, const char *model) {
  json_t *nodes = json_object_get(manifest, "nodes");
  json_t *node = NULL, *n;
  if (json_is_object(nodes)) {
    const char *k;
    json_object_foreach(nodes, k, n) {
      if (json_is_string(json_object_get(n, "name")) &&
          !strcmp(json_string_value(json_object_get(n, "name")), model)) {
        node = n;
        break;
      }
    }
  } else if (json_is_array(nodes)) {
    size_t i;
    json_array_foreach(nodes, i, n) {
      if (json_is_string(json_object_get(n, "name")) &&
          !strcmp(json_string_value(json_object_get(n, "name")), model)) {
        node = n;
        break;
      }
    }
  }
  json_t *cols = json_object_get(node, "columns");
  if (!cols)
    return NULL;
  json_t *a = json_array();
  json_t *c;
  const char *k;
  size_t i;
  int pos = 1;
#define ADD_COL(nm, c)                                                         \
  do {                                                                         \
    json_t *fld = json_pack("{s:s, s:i}", "name", nm, "ordinal_position",      \
                            pos++);                                            \
    json_t *ty = json_object_get(c, "data_type");                              \
    if (!json_is_string(ty))                                                   \
      ty = json_object_get(c, "type");                                         \
    if (json_is_string(ty))                                                    \
      json_object_set(fld, "type", ty);                                        \
    json_t *ds = json_object_get(c, "description");                            \
    if (json_is_string(ds) && json_string_length(ds))                          \
      json_object_set(fld, "description", ds);                                 \
    json_array_append_new(a, fld);                                             \
  } while (0)
  if (json_is_object(cols)) {
    json_object_foreach(cols, k, c) ADD_COL(k, c);
  } else if (json_is_array(cols)) {
    json_array_foreach(cols, i, c) {
      if (json_is_string(json_object_get(c, "name")))
        ADD_COL(json_string_value(json_object_get(c, "name")), c);
    }
  }
#undef ADD_COL
  return a;
}

static int check_task(const txf_lineage_task *t, txf_err *err) {
  txf_date d;
  if (!t->project || !*t->project || !t->task || !*t->task || !t->data_dir)
    return txf_err_set(err, TXF_EUSAGE,
                       "lineage event needs a project, a task and a data dir");
  if (!t->logical_date || txf_date_parse(t->logical_date, SIZE_MAX, &d))
    return txf_err_set(err, TXF_EUSAGE, "lineage event: '%s' is not a date",
                       t->logical_date ? t->logical_date : "");
  if (!txf_lineage_uuid_valid(t->run_uuid))
    return txf_err_set(err, TXF_EUSAGE, "lineage event: '%s' is not a UUID",
                       t->run_uuid ? t->run_uuid : "");
  return 0;
}

static int is_task(const char *task, const char *const *names) {
  for (; *names; names++)
    if (!strcmp(task, *names))
      return 1;
  return 0;
}

/* clean(D): bronze(D) -> silver, quarantine(D). */
static int clean_datasets(txf_store *st, const txf_lineage_task *t, int end,
                          const char *ns, json_t *in, json_t *out,
                          txf_err *err) {
  char *bname = txf_xasprintf("bronze/transactions/ingest_date=%s",
                              t->logical_date);
  char *qname = txf_xasprintf("quarantine/transactions/ingest_date=%s",
                              t->logical_date);
  json_t *bronze = dataset(ns, bname, bronze_fields());
  json_t *silver = dataset(ns, "silver/transactions", silver_fields());
  json_t *quar = dataset(ns, qname, NULL);
  free(bname);
  free(qname);
  int rc = 0;
  if (end && st) {
    txf_meta_clean_run_list latest;
    rc = txf_meta_clean_latest(st, t->logical_date, &latest, err);
    int64_t n_files = 0, size_bytes = TXF_META_NULL;
    if (!rc && latest.n)
      rc = txf_meta_clean_commit_totals(st, latest.v[0].clean_id, &n_files,
                                        &size_bytes, err);
    if (!rc && latest.n) {
      const txf_meta_clean_run *c = &latest.v[0];
      int64_t bytes, rows, files;
      bronze_manifest_stats(t->data_dir, t->logical_date, &rows, &bytes,
                            &files);
      set_input_metrics(bronze, c->lines_read, bytes, files);
      set_output_stats(silver, c->inserted + c->updated,
                       size_bytes == TXF_META_NULL ? -1 : size_bytes, n_files);
      set_output_stats(quar, c->quarantined, -1, -1);
    }
    txf_meta_clean_run_list_release(&latest);
  }
  json_array_append_new(in, bronze);
  json_array_append_new(out, silver);
  json_array_append_new(out, quar);
  return rc;
}

/* models(D): silver -> each model built for D in the warehouse, with its
 * row count and the data tests run on it. */
static int models_datasets(txf_store *st, const txf_lineage_task *t, int end,
                           const char *ns, json_t *in, json_t *out,
                           txf_err *err) {
  json_array_append_new(in, dataset(ns, "silver/transactions",
                                    silver_fields()));
  if (!st)
    return 0;
  char *wh = txf_xasprintf("duckdb://%s/warehouse.duckdb", t->data_dir);
  json_t *manifest =
      t->manifest_path ? json_load_file(t->manifest_path, 0, NULL) : NULL;
  /* The latest build of each model for D. At START nothing of this run is
   * built yet, so the outputs are the models built for D before (or none
   * on a first run) — without statistics. */
  txf_meta_model_build_list builds;
  int rc = txf_meta_model_builds_latest(st, t->logical_date, &builds, err);
  for (size_t i = 0; !rc && i < builds.n; i++) {
    const txf_meta_model_build *b = &builds.v[i];
    char *name = txf_xasprintf("main.%s", b->model);
    json_t *fields = manifest ? manifest_fields(manifest, b->model) : NULL;
    json_t *ds = dataset(wh, name, fields);
    free(name);
    if (end && !strcmp(b->state, "success"))
      set_output_stats(ds, b->n_rows == TXF_META_NULL ? 0 : b->n_rows, -1, -1);
    if (end) {
      txf_meta_test_result_list tests;
      rc =
          txf_meta_test_results_of(st, b->model, b->invocation_id, &tests, err);
      json_t *asserts = json_array();
      for (size_t k = 0; k < tests.n; k++) {
        const txf_meta_test_result *r = &tests.v[k];
        json_t *a =
            json_pack("{s:s, s:b, s:s, s:s}", "assertion", r->test_name,
                      "success", r->status && !strcmp(r->status, "pass"),
                      "severity", r->severity, "name", r->test_name);
        json_object_set_new(
            a, "actual",
            json_sprintf(
                "%lld",
                (long long)(r->failures == TXF_META_NULL ? 0 : r->failures)));
        json_object_set_new(a, "expected", json_string("0"));
        json_array_append_new(asserts, a);
      }
      txf_meta_test_result_list_release(&tests);
      if (json_array_size(asserts)) {
        json_t *f = facet("1-1-0", "DataQualityAssertionsDatasetFacet");
        json_object_set_new(f, "assertions", asserts);
        json_object_set_new(json_object_get(ds, "facets"),
                            "dataQualityAssertions", f);
      } else {
        json_decref(asserts);
      }
    }
    json_array_append_new(out, ds);
  }
  txf_meta_model_build_list_release(&builds);
  json_decref(manifest);
  free(wh);
  return rc;
}

int txf_lineage_task_event_build(txf_store *st, const txf_lineage_task *t,
                                 txf_lineage_event_type type, char **out,
                                 txf_err *err) {
  *out = NULL;
  int rc = check_task(t, err);
  if (rc)
    return rc;
  int end = type != TXF_LINEAGE_START;
  char *ns = txf_xasprintf("file://%s", t->data_dir);
  char *jobname = txf_xasprintf("txnflow.%s", t->task);
  json_t *in = json_array(), *outs = json_array();

  static const char *const gen_tasks[] = {"generate", "land", "wait_bronze",
                                          "sensor", NULL};
  static const char *const clean_tasks[] = {"clean", NULL};
  static const char *const model_tasks[] = {"models", "models_build", "build",
                                            "models_run", NULL};
  /* both read the silver lake (the load into a warehouse table) */
  static const char *const publish_tasks[] = {"load", "publish", NULL};
  if (is_task(t->task, gen_tasks)) {
    char *bname = txf_xasprintf("bronze/transactions/ingest_date=%s",
                                t->logical_date);
    json_t *b = dataset(ns, bname, bronze_fields());
    free(bname);
    if (end) {
      int64_t rows, bytes, files;
      bronze_manifest_stats(t->data_dir, t->logical_date, &rows, &bytes,
                            &files);
      if (rows >= 0)
        set_output_stats(b, rows, bytes, files);
    }
    json_array_append_new(outs, b);
  } else if (is_task(t->task, clean_tasks)) {
    rc = clean_datasets(st, t, end, ns, in, outs, err);
  } else if (is_task(t->task, model_tasks)) {
    rc = models_datasets(st, t, end, ns, in, outs, err);
  } else if (is_task(t->task, publish_tasks)) {
    json_array_append_new(in, dataset(ns, "silver/transactions",
                                      silver_fields()));
  }

  json_t *run_facets = json_object();
  if (t->nominal_time_us) {
    json_t *f = facet("1-0-1", "NominalTimeRunFacet");
    json_object_set_new(f, "nominalStartTime", ts_json(t->nominal_time_us));
    json_object_set_new(run_facets, "nominalTime", f);
  }
  if (end && t->error && *t->error) {
    json_t *f = facet("1-0-1", "ErrorMessageRunFacet");
    json_object_set_new(f, "message", json_string(t->error));
    json_object_set_new(f, "programmingLanguage", json_string("C"));
    json_object_set_new(run_facets, "errorMessage", f);
  }
  json_t *jt = facet("2-0-4", "JobTypeJobFacet");
  json_object_set_new(jt, "processingType", json_string("BATCH"));
  json_object_set_new(jt, "integration", json_string("TXNFLOW"));
  json_object_set_new(jt, "jobType", json_string("TASK"));

  json_t *ev = json_pack(
      "{s:s, s:o, s:s, s:s, s:{s:s, s:o}, s:{s:s, s:s, s:{s:o}}, s:o, s:o}",
      "eventType", txf_lineage_event_name(type), "eventTime",
      ts_json(t->event_time_us), "producer", TXF_LINEAGE_PRODUCER,
      "schemaURL", TXF_LINEAGE_SCHEMA_URL, "run", "runId", t->run_uuid,
      "facets", run_facets, "job", "namespace", t->project, "name", jobname,
      "facets", "jobType", jt, "inputs", in, "outputs", outs);
  free(ns);
  free(jobname);
  if (!ev)
    return txf_err_set(err, TXF_EINTERNAL, "lineage: cannot build event");
  if (rc) {
    json_decref(ev);
    return rc;
  }
  /* A non-ASCII or odd string from the data must not break the JSON:
   * jansson escapes it; JSON_COMPACT keeps one event per line. */
  /* 12 significant digits: jansson's 17 print 62.467852999999998, whose
   * digits can pass the Luhn check and read as a card number (scan-pans) */
  *out = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER |
                            JSON_REAL_PRECISION(12));
  json_decref(ev);
  return 0;
}

int txf_lineage_task_event(txf_store *st, const txf_lineage_task *t,
                           txf_lineage_event_type type, txf_err *err) {
  char *json = NULL;
  int rc = txf_lineage_task_event_build(st, t, type, &json, err);
  if (rc)
    return txf_err_wrap(err, "lineage %s %s", t->task ? t->task : "?",
                        t->logical_date ? t->logical_date : "?");
  char *jobname = txf_xasprintf("txnflow.%s", t->task);
  rc = txf_meta_lineage_add(st, t->event_time_us, txf_lineage_event_name(type),
                            jobname, t->run_uuid, json, err);
  free(jobname);
  free(json);
  return rc;
}

int txf_lineage_export(txf_store *st, int64_t since_us, txf_lineage_sink sink,
                       void *arg, int64_t *n_out, txf_err *err) {
  return txf_meta_lineage_each(st, since_us, sink, arg, n_out, err);
}
