/* The dashboard's HTTP server on libmicrohttpd: static pages embedded in
 * the binary, the JSON API, and the safety rules of docs/serve.md
 * (loopback by default, token, GET/HEAD only, strict headers, bounded
 * requests, names served only from the embedded table). */
#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "serve/serve.h"

/* Generated from web/ and the pinned uPlot build (Makefile). */
extern const txf_embedded_file txf_web_files[];

#define MAX_PARAMS 32

/* Connections: at most MAX_CONNECTIONS in all; per client address a budget,
 * larger on loopback (the browser and scripts of the user at the machine,
 * several tabs, a test firing 200 requests at once) than for a remote
 * address. A connection over its budget is answered 503 with Retry-After
 * as soon as it has sent its request, instead of being reset. Request
 * headers must arrive within HEADER_TIMEOUT_S of the last byte, so
 * half-open connections give their place up quickly; once a request is
 * in, the connection may idle IDLE_TIMEOUT_S (a slow reader, keep-alive). */
#define MAX_CONNECTIONS 512u
#define BUDGET_LOOPBACK 256
#define BUDGET_REMOTE 64
#define HEADER_TIMEOUT_S 5u
#define IDLE_TIMEOUT_S 15u

typedef struct addr_count {
  unsigned char addr[16]; /* IPv4 in the first 4 bytes, or IPv6 */
  int family;
  int n;
} addr_count;

struct txf_serve {
  struct MHD_Daemon *daemon;
  txf_serve_app *app;
  char *token;
  uint16_t port;
  char **hosts; /* Host names served (lower-case, no port), NULL-ended */
  int any_ip;   /* a wildcard bind in remote mode: any IP-literal Host */
  pthread_mutex_t lock; /* guards counts */
  addr_count *counts;
  size_t n_counts, cap_counts;
};

/* Marks in a connection's socket context. */
static char within_budget, over_budget;

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

/* ---------------------------------------------------------------- hosts */

/* Split a Host header into its name (lower-case, a final '.' dropped,
 * IPv6 in brackets) in OUT; 0 when it is not a plain host[:port]. */
static int host_name(const char *h, char out[256]) {
  size_t n;
  const char *rest;
  if (h[0] == '[') {
    const char *e = strchr(h, ']');
    if (!e)
      return 0;
    n = (size_t)(e - h) + 1;
    rest = e + 1;
  } else {
    n = strcspn(h, ":");
    rest = h + n;
  }
  if (n == 0 || n > 253)
    return 0;
  if (*rest) {
    size_t d = strspn(rest + 1, "0123456789");
    if (rest[0] != ':' || d < 1 || d > 5 || rest[1 + d])
      return 0;
  }
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)h[i];
    if (!(isalnum(c) || c == '.' || c == '-' ||
          (h[0] == '[' && (c == ':' || c == '[' || c == ']'))))
      return 0;
    out[i] = (char)tolower(c);
  }
  if (n > 1 && out[n - 1] == '.')
    n--;
  out[n] = '\0';
  return 1;
}

static int is_ip_literal(const char *name) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, name, buf) == 1)
    return 1;
  size_t n = strlen(name);
  if (n < 3 || name[0] != '[' || name[n - 1] != ']')
    return 0;
  char inner[64];
  if (n - 2 >= sizeof inner)
    return 0;
  memcpy(inner, name + 1, n - 2);
  inner[n - 2] = '\0';
  return inet_pton(AF_INET6, inner, buf) == 1;
}

/* Whether a request for Host H may be answered: a page elsewhere that
 * rebinds its own DNS name to this address sends its own name. An IP
 * address cannot be rebound, so on a wildcard bind any is fine. */
static int host_allowed(const txf_serve *s, const char *h) {
  char name[256];
  if (!h || !host_name(h, name))
    return 0;
  for (char **p = s->hosts; *p; p++)
    if (!strcmp(*p, name))
      return 1;
  return s->any_ip && is_ip_literal(name);
}

static void hosts_add(txf_serve *s, size_t *n, const char *name) {
  s->hosts = txf_xrealloc(s->hosts, (*n + 2) * sizeof *s->hosts);
  char *h = txf_xstrdup(name);
  for (char *c = h; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  s->hosts[(*n)++] = h;
  s->hosts[*n] = NULL;
}

/* The names to serve: loopback's, the bind address, and HOSTS (comma
 * separated). TXF_EUSAGE for a name that is not one. */
static int hosts_init(txf_serve *s, const char *bind, const char *hosts,
                      txf_err *err) {
  size_t n = 0;
  hosts_add(s, &n, "localhost");
  hosts_add(s, &n, "127.0.0.1");
  hosts_add(s, &n, "[::1]");
  unsigned char a6[16];
  if (inet_pton(AF_INET6, bind, a6) == 1) {
    char *b = txf_xasprintf("[%s]", bind);
    hosts_add(s, &n, b);
    free(b);
  } else {
    hosts_add(s, &n, bind);
  }
  for (const char *p = hosts; p && *p;) {
    size_t l = strcspn(p, ",");
    char name[256];
    char *one = txf_xstrndup(p, l);
    int ok = l > 0 && l < 250 && host_name(one, name) && !strchr(one, ':');
    if (ok)
      hosts_add(s, &n, name);
    else if (l > 2 && one[0] == '[' && host_name(one, name) &&
             is_ip_literal(name))
      hosts_add(s, &n, name), ok = 1;
    free(one);
    if (!ok)
      return txf_err_set(err, TXF_EUSAGE, "--host: '%.*s' is not a host name",
                         (int)l, p);
    p += l + (p[l] == ',');
  }
  return 0;
}

/* ---------------------------------------------------------------- budgets */

static int addr_key(const struct sockaddr *sa, addr_count *k) {
  memset(k, 0, sizeof *k);
  if (!sa)
    return 0;
  if (sa->sa_family == AF_INET) {
    memcpy(k->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
  } else if (sa->sa_family == AF_INET6) {
    memcpy(k->addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
  } else {
    return 0;
  }
  k->family = sa->sa_family;
  return 1;
}

static int key_is_loopback(const addr_count *k) {
  static const unsigned char v6_loop[16] = {[15] = 1};
  static const unsigned char v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
  if (k->family == AF_INET)
    return k->addr[0] == 127;
  return !memcmp(k->addr, v6_loop, 16) ||
         (!memcmp(k->addr, v4_mapped, 12) && k->addr[12] == 127);
}

/* Count the connection C in or out (DELTA +1 or -1); returns the count of
 * its address afterwards and whether that is over its budget. */
static int count_conn(txf_serve *s, struct MHD_Connection *c, int delta,
                      int *over) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  addr_count k;
  *over = 0;
  if (!ci || !addr_key(ci->client_addr, &k))
    return 0;
  pthread_mutex_lock(&s->lock);
  size_t i = 0;
  while (i < s->n_counts && !(s->counts[i].family == k.family &&
                              !memcmp(s->counts[i].addr, k.addr, 16)))
    i++;
  if (i == s->n_counts && delta > 0) {
    if (s->n_counts == s->cap_counts) {
      s->cap_counts = s->cap_counts ? 2 * s->cap_counts : 16;
      s->counts = txf_xrealloc(s->counts, s->cap_counts * sizeof *s->counts);
    }
    s->counts[s->n_counts++] = k;
  }
  int n = 0;
  if (i < s->n_counts) {
    n = s->counts[i].n += delta;
    *over = n > (key_is_loopback(&k) ? BUDGET_LOOPBACK : BUDGET_REMOTE);
    if (n <= 0)
      s->counts[i] = s->counts[--s->n_counts];
  }
  pthread_mutex_unlock(&s->lock);
  return n;
}

static void on_connection(void *cls, struct MHD_Connection *c,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
  txf_serve *s = cls;
  int over;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    count_conn(s, c, +1, &over);
    *socket_context = over ? &over_budget : &within_budget;
  } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    count_conn(s, c, -1, &over);
  }
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
  if (status == MHD_HTTP_SERVICE_UNAVAILABLE && !strncmp(type, "text/", 5)) {
    MHD_add_response_header(r, "Retry-After", "1");
    MHD_add_response_header(r, "Connection", "close");
  }
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
     * serve has a body, so a body is never read. The headers are in: from
     * now on the connection may idle longer. */
    *con_cls = c;
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, IDLE_TIMEOUT_S);
  }
  const union MHD_ConnectionInfo *sc =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  if (sc && sc->socket_context == &over_budget) {
    *upload_data_size = 0;
    return send_error_page(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                           "Busy: too many connections from your address. "
                           "Try again in a moment.");
  }
  if (!host_allowed(s,
                    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host"))) {
    *upload_data_size = 0;
    return send_error_page(c, MHD_HTTP_MISDIRECTED_REQUEST,
                           "This dashboard does not answer to that host "
                           "name (see txnflow serve --host).");
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
  pthread_mutex_init(&s->lock, NULL);
  int hrc = hosts_init(s, bind, cfg->hosts, err);
  if (hrc) {
    txf_serve_stop(s);
    return hrc;
  }
  s->any_ip =
      cfg->allow_remote && (!strcmp(bind, "0.0.0.0") || !strcmp(bind, "::"));
  s->app = txf_serve_app_new(cfg);
  s->token = cfg->token ? txf_xstrdup(cfg->token) : NULL;
  unsigned threads = cfg->threads ? cfg->threads : 4;
  s->daemon = MHD_start_daemon(
      flags, cfg->port, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR,
      (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, threads,
      /* Request line + headers must fit in half of this; bigger ones get
       * 431/413 from libmicrohttpd without reaching us. */
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
      MHD_OPTION_CONNECTION_LIMIT, MAX_CONNECTIONS,
      MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
      MHD_OPTION_CONNECTION_TIMEOUT, HEADER_TIMEOUT_S,
      MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
  if (!s->daemon) {
    int rc = txf_err_errno(err, TXF_EIO, "cannot listen on %s port %u", bind,
                           (unsigned)cfg->port);
    txf_serve_stop(s);
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
  if (s->daemon)
    MHD_stop_daemon(s->daemon);
  txf_serve_app_free(s->app);
  free(s->token);
  for (char **p = s->hosts; p && *p; p++)
    free(*p);
  free(s->hosts);
  free(s->counts);
  pthread_mutex_destroy(&s->lock);
  free(s);
}
