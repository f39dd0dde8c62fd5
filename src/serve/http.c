/* The dashboard's HTTP server on libmicrohttpd: static pages embedded in
 * the binary, the JSON API, and the safety rules of docs/serve.md
 * (loopback by default, token, GET/HEAD only, strict headers, bounded
 * requests, names served only from the embedded table). */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "serve/serve.h"

/* Generated from web/ and the pinned uPlot build (Makefile). */
typedef struct {
  const char *path;
  const unsigned char *data;
  size_t size;
} txf_embedded_file;
extern const txf_embedded_file txf_web_files[];

#define MAX_PARAMS 32

struct txf_serve {
  struct MHD_Daemon *daemon;
  txf_serve_app *app;
  char *token;
  uint16_t port;
};

/* The pages are one shell; app.js renders the page named by the path. */
static const char *const pages[] = {"/",     "/runs",     "/quality",
                                    "/lineage", "/lake", "/business", NULL};

/* Extra names under /static/ that come from outside web/. */
static const char *const vendored[][2] = {
    {"uPlot.min.js", "node_modules/uplot/dist/uPlot.iife.min.js"},
    {"uPlot.min.css", "node_modules/uplot/dist/uPlot.min.css"}};

static const char csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' "
    "data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

int txf_serve_is_loopback(const char *addr) {
  if (!strcmp(addr, "localhost") || !strcmp(addr, "::1"))
    return 1;
  struct in_addr a4;
  if (inet_pton(AF_INET, addr, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  return 0;
}

int txf_serve_token_equal(const char *a, const char *b) {
  /* Hash both sides so the comparison time depends on neither length nor
   * the position of the first difference. */
  char ha[65], hb[65];
  txf_sha256_hex(a, strlen(a), ha);
  txf_sha256_hex(b, strlen(b), hb);
  unsigned char diff = 0;
  for (int i = 0; i < 64; i++)
    diff |= (unsigned char)(ha[i] ^ hb[i]);
  return diff == 0;
}

static const txf_embedded_file *find_file(const char *path) {
  for (const txf_embedded_file *f = txf_web_files; f->path; f++)
    if (!strcmp(f->path, path))
      return f;
  return NULL;
}

static const char *mime_of(const char *name) {
  static const char *const m[][2] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".json", "application/json"}};
  for (size_t i = 0; i < TXF_ARRAY_LEN(m); i++)
    if (txf_str_has_suffix(name, m[i][0]))
      return m[i][1];
  return "application/octet-stream";
}

/* A name under /static/: letters, digits, '.', '-', '_'; no leading dot.
 * Anything else (a slash, "..", an encoded byte) is simply not found. */
static const txf_embedded_file *static_file(const char *name) {
  if (!*name || name[0] == '.' || strlen(name) > 64)
    return NULL;
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
      return NULL;
  for (size_t i = 0; i < TXF_ARRAY_LEN(vendored); i++)
    if (!strcmp(name, vendored[i][0]))
      return find_file(vendored[i][1]);
  char path[96];
  snprintf(path, sizeof path, "web/%s", name);
  return find_file(path);
}

static void add_headers(struct MHD_Response *r, const char *type,
                        int no_store) {
  MHD_add_response_header(r, "Content-Type", type);
  MHD_add_response_header(r, "Content-Security-Policy", csp);
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(r, "X-Frame-Options", "DENY");
  MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
  MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
  MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
  MHD_add_response_header(r, "Cache-Control",
                          no_store ? "no-store" : "no-cache");
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
                            const char *type, void *body, size_t len,
                            enum MHD_ResponseMemoryMode mode, int no_store,
                            const char *cookie) {
  struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
  if (!r)
    return MHD_NO;
  add_headers(r, type, no_store);
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
    MHD_add_response_header(r, "Allow", "GET, HEAD");
  if (status == MHD_HTTP_UNAUTHORIZED)
    MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
  if (cookie)
    MHD_add_response_header(r, "Set-Cookie", cookie);
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

/* A small HTML error page. MSG is one of our fixed strings, never request
 * data, so it needs no escaping; the page loads no script. */
static enum MHD_Result send_error_page(struct MHD_Connection *c,
                                       unsigned status, const char *msg) {
  char *body = txf_xasprintf(
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>txnflow: %u</title><link rel=\"stylesheet\" "
      "href=\"/static/app.css\"></head><body><main class=\"error-page\">"
      "<h1>%u</h1><p>%s</p><p><a href=\"/\">Back to the dashboard</a></p>"
      "</main></body></html>\n",
      status, status, msg);
  return reply(c, status, "text/html; charset=utf-8", body, strlen(body),
              MHD_RESPMEM_MUST_FREE, 1, NULL);
}

typedef struct params {
  txf_serve_param p[MAX_PARAMS];
  size_t n;
  int too_many;
} params;

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind,
                               const char *key, const char *value) {
  (void)kind;
  params *ps = cls;
  if (ps->n >= MAX_PARAMS) {
    ps->too_many = 1;
    return MHD_NO;
  }
  ps->p[ps->n].key = key;
  ps->p[ps->n].value = value;
  ps->n++;
  return MHD_YES;
}

/* The token from "Authorization: Bearer T", the txnflow_token cookie or
 * the token query parameter (*from_query set), or NULL. */
static const char *request_token(struct MHD_Connection *c, int *from_query) {
  *from_query = 0;
  const char *h =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
  if (h && !strncmp(h, "Bearer ", 7))
    return h + 7;
  const char *ck =
      MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "txnflow_token");
  if (ck)
    return ck;
  const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
  if (q)
    *from_query = 1;
  return q;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
                              const char *url, const char *method,
                              const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls) {
  (void)version;
  (void)upload_data;
  txf_serve *s = cls;
  if (!*con_cls) {
    /* First call, headers only. Everything is decided here: no method we
     * serve has a body, so a body is never read. */
    *con_cls = c;
  }
  if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
    *upload_data_size = 0;
    return send_error_page(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                           "This dashboard is read-only: GET and HEAD only.");
  }
  if (*upload_data_size) {
    *upload_data_size = 0;
    return send_error_page(c, MHD_HTTP_BAD_REQUEST, "Unexpected body.");
  }
  char *cookie = NULL;
  if (s->token) {
    int from_query;
    const char *t = request_token(c, &from_query);
    if (!t || !txf_serve_token_equal(t, s->token))
      return send_error_page(c, MHD_HTTP_UNAUTHORIZED,
                             "A valid token is required (Authorization: "
                             "Bearer, or ?token= once).");
    if (from_query) /* remember it, so the page's own requests carry it */
      cookie = txf_xasprintf("txnflow_token=%s; Path=/; HttpOnly; "
                             "SameSite=Strict",
                             s->token);
  }
  enum MHD_Result ret;
  if (!strncmp(url, "/api/", 5)) {
    params ps;
    memset(&ps, 0, sizeof ps);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect, &ps);
    txf_serve_response r;
    if (ps.too_many) {
      ret = reply(c, 400, "application/json; charset=utf-8",
                 (void *)"{\"error\":\"too many parameters\"}", 31,
                 MHD_RESPMEM_PERSISTENT, 1, cookie);
    } else {
      txf_serve_api(s->app, url, ps.p, ps.n, &r);
      ret = reply(c, (unsigned)r.status, r.content_type, r.body, r.len,
                 MHD_RESPMEM_MUST_FREE, 1, cookie);
      if (ret == MHD_NO)
        free(r.body);
    }
    free(cookie);
    return ret;
  }
  const txf_embedded_file *f = NULL;
  for (const char *const *p = pages; *p && !f; p++)
    if (!strcmp(url, *p))
      f = find_file("web/index.html");
  if (!f && !strncmp(url, "/static/", 8))
    f = static_file(url + 8);
  if (!f && !strcmp(url, "/favicon.ico"))
    f = find_file("web/favicon.svg");
  if (!f) {
    free(cookie);
    return send_error_page(c, MHD_HTTP_NOT_FOUND, "No such page.");
  }
  ret = reply(c, MHD_HTTP_OK, mime_of(f->path), (void *)f->data, f->size,
             MHD_RESPMEM_PERSISTENT, 0, cookie);
  free(cookie);
  return ret;
}

int txf_serve_start(txf_serve **out, const txf_serve_config *cfg,
                    txf_err *err) {
  *out = NULL;
  const char *bind = cfg->bind ? cfg->bind : "127.0.0.1";
  if (!txf_serve_is_loopback(bind)) {
    if (!cfg->allow_remote)
      return txf_err_set(err, TXF_EUSAGE,
                         "'%s' is not a loopback address: serving beyond "
                         "this machine needs --allow-remote and a token",
                         bind);
    if (!cfg->token || strlen(cfg->token) < 16)
      return txf_err_set(err, TXF_EUSAGE,
                         "--allow-remote needs a token of at least 16 "
                         "characters (--token or TXNFLOW_SERVE_TOKEN)");
  }
  if (cfg->token)
    for (const char *p = cfg->token; *p; p++)
      if (*p <= ' ' || *p == ';' || *p == ',' || *p == '"' || *p == '\\' ||
          (unsigned char)*p >= 0x7f)
        return txf_err_set(err, TXF_EUSAGE,
                           "the token may not contain spaces, ';', ',', "
                           "quotes or backslashes");
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
  if (!strcmp(bind, "localhost"))
    bind = "127.0.0.1";
  struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, bind, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons(cfg->port);
  } else if (inet_pton(AF_INET6, bind, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(cfg->port);
    flags |= MHD_USE_IPv6;
  } else {
    return txf_err_set(err, TXF_EUSAGE, "'%s' is not an IP address", bind);
  }
  txf_serve *s = txf_xcalloc(1, sizeof *s);
  s->app = txf_serve_app_new(cfg);
  s->token = cfg->token ? txf_xstrdup(cfg->token) : NULL;
  unsigned threads = cfg->threads ? cfg->threads : 4;
  s->daemon = MHD_start_daemon(
      flags, cfg->port, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR,
      (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, threads,
      /* Request line + headers must fit in half of this; bigger ones get
       * 431/413 from libmicrohttpd without reaching us. */
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
      MHD_OPTION_CONNECTION_LIMIT, 256u, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
      64u, MHD_OPTION_CONNECTION_TIMEOUT, 15u, MHD_OPTION_LISTENING_ADDRESS_REUSE,
      1u, MHD_OPTION_END);
  if (!s->daemon) {
    int rc = txf_err_errno(err, TXF_EIO, "cannot listen on %s port %u", bind,
                           (unsigned)cfg->port);
    txf_serve_app_free(s->app);
    free(s->token);
    free(s);
    return rc;
  }
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  s->port = info ? info->port : cfg->port;
  *out = s;
  return 0;
}

uint16_t txf_serve_port(const txf_serve *s) { return s->port; }

void txf_serve_stop(txf_serve *s) {
  if (!s)
    return;
  MHD_stop_daemon(s->daemon);
  txf_serve_app_free(s->app);
  free(s->token);
  free(s);
}
