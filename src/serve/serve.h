/* serve: the read-only governance dashboard and its JSON API.
 *
 * An HTTP server on libmicrohttpd (http.c) serves the pages embedded in the
 * binary at build time (web/, uPlot from node_modules) and the JSON API
 * under /api/ (api.c) that the pages use. The API reads the metadata
 * database read-only (a fresh connection per request, so writers are never
 * blocked and a database created or repaired later is picked up), the
 * warehouse read-only through DuckDB (opened per request and closed again,
 * so `models build` can always take its write lock), the models' manifest
 * and the lake's quarantine directory. See docs/serve.md. */
#ifndef TXF_SERVE_H
#define TXF_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "project/project.h"
#include "util/util.h"

/* ---- the Business page's charts (dashboard.c) */

/* What the Business page charts: the `dashboard:` section of txnflow.yml,
 * read and checked. docs/serve.md. */
typedef struct txf_serve_dashboard txf_serve_dashboard;

/* Read the `dashboard:` section of DOC (a project's txnflow.yml; none: no
 * charts). Every problem is TXF_ECONFIG with "FILE:LINE:COL: key
 * 'dashboard.business[I].KEY': ..." (an unknown key names the closest
 * known one, an unknown kind lists the kinds). On success the caller frees
 * *out with txf_serve_dashboard_free(); it borrows nothing from DOC. On
 * failure *out is NULL. */
TXF_MUST_CHECK int txf_serve_dashboard_load(txf_serve_dashboard **out,
                                            const txf_yaml_doc *doc,
                                            txf_err *err);
void txf_serve_dashboard_free(txf_serve_dashboard *d);

typedef struct txf_serve_config {
  const char *bind;         /* IPv4 or IPv6 literal; "127.0.0.1" default */
  uint16_t port;            /* 0: any free port (see txf_serve_port) */
  int allow_remote;         /* needed for a non-loopback bind */
  const char *token;        /* required for a non-loopback bind; may be set
                               on loopback too. NULL: no token */
  const char *hosts;        /* host names served besides localhost,
                               127.0.0.1, [::1] and the bind address
                               (comma-separated; --host), or NULL. A
                               request for another Host is 421 (DNS
                               rebinding); on a wildcard bind with
                               allow_remote any IP address is served too */
  const char *data_dir;     /* absolute */
  const char *project_dir;  /* absolute, for target/manifest.json; or NULL */
  const char *project_name; /* shown in the header */
  const char *timezone;     /* the pipeline's zone, shown with times */
  unsigned threads;         /* worker threads; 0: 4 */
  const txf_serve_dashboard *dashboard; /* borrowed for the app's life;
                                           NULL: nothing to chart */
  const txf_project_retention *retention; /* the project's retention:
                                             (copied); NULL: none */
} txf_serve_config;

/* ---- the API without HTTP (api.c): used by the server, tests and bench */

typedef struct txf_serve_app txf_serve_app;

/* Copy CFG into a new app. Caller frees with txf_serve_app_free(). */
txf_serve_app *txf_serve_app_new(const txf_serve_config *cfg);
void txf_serve_app_free(txf_serve_app *app);

typedef struct txf_serve_param {
  const char *key, *value;
} txf_serve_param;

typedef struct txf_serve_response {
  int status;               /* HTTP status */
  const char *content_type; /* static string */
  char *body;               /* malloc'd; caller frees */
  size_t len;
} txf_serve_response;

/* Answer GET PATH (decoded, starting with "/api/") with query PARAMS.
 * Always fills *RESP (errors become JSON {"error": ...} with 4xx/5xx).
 * Safe to call from several threads at once. */
void txf_serve_api(txf_serve_app *app, const char *path,
                   const txf_serve_param *params, size_t n_params,
                   txf_serve_response *resp);

/* ---- the HTTP server (http.c) */

typedef struct txf_serve txf_serve;

/* Validate CFG (a non-loopback address without allow_remote and a token is
 * TXF_EUSAGE) and start serving on background threads. Caller stops with
 * txf_serve_stop(). TXF_EIO when the address cannot be bound. */
TXF_MUST_CHECK int txf_serve_start(txf_serve **out, const txf_serve_config *cfg,
                                   txf_err *err);
/* The port actually bound. */
uint16_t txf_serve_port(const txf_serve *s);
/* Stop accepting, finish requests in flight, free everything. */
void txf_serve_stop(txf_serve *s);

/* 1 when ADDR is a loopback address (127.0.0.0/8, ::1, "localhost"). */
int txf_serve_is_loopback(const char *addr);
/* Compare two secrets in time independent of where they differ. */
int txf_serve_token_equal(const char *a, const char *b);

#endif /* TXF_SERVE_H */
