/* The Business page's charts as declared in txnflow.yml (`dashboard:`),
 * once read and checked (dashboard.c). Private to src/serve: api.c runs
 * the charts' queries on the warehouse. docs/serve.md. */
#ifndef TXF_SERVE_DASHBOARD_H
#define TXF_SERVE_DASHBOARD_H

#include <jansson.h>

#include "serve/serve.h"

typedef enum txf_chart_kind {
  TXF_CHART_TIMESERIES, /* Y summed per day (X) and per value of each series
                           column, over the page's window; the daily total */
  TXF_CHART_SEGMENTS,   /* a bar per value of X: its rows, and Y summed */
  TXF_CHART_HISTOGRAM,  /* Y in BUCKETS equal-width buckets, and its stats */
  TXF_CHART_TABLE       /* the first LIMIT rows by ORDER_BY, newest first */
} txf_chart_kind;

/* One chart. Strings are owned by the dashboard; the optional ones are
 * NULL when not declared. Exactly one of MODEL and SQL is set. */
typedef struct txf_chart {
  txf_chart_kind kind;
  char *id;          /* [a-z][a-z0-9_]*, unique; the answer's key */
  char *title;       /* default: the id */
  char *model;       /* a relation of the warehouse */
  char *sql;         /* or a query */
  char *unit;        /* "KRW"; default "" */
  char *count_label; /* what a row is ("customers"); default "rows" */
  char *x, *x_label; /* timeseries: the day; segments: the segment */
  char *y, *y_label; /* the value (summed, or bucketed) */
  char *as_of;       /* segments: only the rows of its latest value */
  char *order_by;    /* table */
  char **series;     /* timeseries: one chart per column */
  size_t n_series;
  int64_t buckets; /* histogram: 2..100, default 20 */
  int64_t limit;   /* table: 1..1000, default 50 */
} txf_chart;

struct txf_serve_dashboard {
  txf_chart *charts; /* in page order */
  size_t n_charts;
};

/* The declaration of D's charts as the page reads it: an array of objects
 * {id, kind, title, model, unit, count_label, x, x_label, y, y_label,
 * series} with the defaults filled in. Caller owns the reference. D may
 * be NULL (an empty array). */
json_t *txf_serve_dashboard_json(const txf_serve_dashboard *d);

#endif /* TXF_SERVE_DASHBOARD_H */
