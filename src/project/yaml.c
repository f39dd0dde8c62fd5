/* A YAML document tree on libyaml's event parser. Every node keeps its
 * line and column so configuration errors point at the exact spot. All
 * nodes live in one arena owned by the document. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "project/project.h"

#define MAX_DEPTH 64
#define MAX_FILE_BYTES (16u << 20)

struct txf_yaml_node {
  txf_yaml_type type;
  int line, col;
  const char *str; /* scalars */
  int plain;       /* scalar written without quotes */
  size_t n, cap;
  txf_yaml_node **keys; /* maps: key scalars */
  txf_yaml_node **vals; /* maps: values; sequences: items */
};

struct txf_yaml_doc {
  char *file;
  txf_arena arena;
  txf_yaml_node *root;
};

static txf_yaml_node *node_new(txf_yaml_doc *d, txf_yaml_type t,
                               yaml_mark_t m) {
  txf_yaml_node *n = txf_arena_alloc(&d->arena, sizeof *n);
  memset(n, 0, sizeof *n);
  n->type = t;
  n->line = (int)m.line + 1;
  n->col = (int)m.column + 1;
  return n;
}

static void node_push(txf_yaml_doc *d, txf_yaml_node *n, txf_yaml_node *k,
                      txf_yaml_node *v) {
  if (n->n == n->cap) {
    size_t cap = n->cap ? n->cap * 2 : 8;
    txf_yaml_node **nv = txf_arena_alloc(&d->arena, cap * sizeof *nv);
    if (n->n)
      memcpy(nv, n->vals, n->n * sizeof *nv);
    n->vals = nv;
    if (n->type == TXF_YAML_MAP) {
      txf_yaml_node **nk = txf_arena_alloc(&d->arena, cap * sizeof *nk);
      if (n->n)
        memcpy(nk, n->keys, n->n * sizeof *nk);
      n->keys = nk;
    }
    n->cap = cap;
  }
  if (n->type == TXF_YAML_MAP)
    n->keys[n->n] = k;
  n->vals[n->n++] = v;
}

typedef struct parser {
  yaml_parser_t p;
  txf_yaml_doc *doc;
  txf_err *err;
  /* Where the parser is, for syntax errors: at each depth below n_at, the
   * map key being read (arena-owned) or, in a sequence, NULL and the
   * item's index. */
  size_t n_at;
  const char *at_key[MAX_DEPTH + 2];
  size_t at_idx[MAX_DEPTH + 2];
} parser;

/* " (in 'tasks.models')" for the parser's position, or "" at the top. */
static void at_path(const parser *ps, char *out, size_t cap) {
  out[0] = '\0';
  if (!ps->n_at)
    return;
  char path[200];
  size_t len = 0;
  path[0] = '\0';
  for (size_t i = 0; i < ps->n_at && len < sizeof path; i++) {
    int w = ps->at_key[i]
                ? snprintf(path + len, sizeof path - len, "%s%s",
                           len ? "." : "", ps->at_key[i])
                : snprintf(path + len, sizeof path - len, "[%zu]",
                           ps->at_idx[i]);
    if (w < 0)
      break;
    len += (size_t)w;
  }
  snprintf(out, cap, " (in '%s')", path);
}

static int perr(parser *ps, yaml_mark_t m, const char *fmt, ...)
    TXF_PRINTF(3, 4);
static int perr(parser *ps, yaml_mark_t m, const char *fmt, ...) {
  char msg[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return txf_err_set(ps->err, TXF_ECONFIG, "%s:%d:%d: %s", ps->doc->file,
                     (int)m.line + 1, (int)m.column + 1, msg);
}

static int next_event(parser *ps, yaml_event_t *ev) {
  if (!yaml_parser_parse(&ps->p, ev)) {
    yaml_mark_t m = ps->p.problem_mark;
    char in[240];
    at_path(ps, in, sizeof in);
    if (ps->p.context)
      return perr(ps, m, "%s %s%s", ps->p.context,
                  ps->p.problem ? ps->p.problem : "syntax error", in);
    return perr(ps, m, "%s%s", ps->p.problem ? ps->p.problem : "syntax error",
                in);
  }
  return 0;
}

/* Parse one node starting with event EV (consumed). */
static int parse_node(parser *ps, yaml_event_t *ev, int depth,
                      txf_yaml_node **out) {
  if (depth > MAX_DEPTH)
    return perr(ps, ev->start_mark, "nesting deeper than %d levels",
                MAX_DEPTH);
  txf_yaml_doc *d = ps->doc;
  switch (ev->type) {
  case YAML_ALIAS_EVENT:
    return perr(ps, ev->start_mark, "aliases (*%s) are not supported",
                (const char *)ev->data.alias.anchor);
  case YAML_SCALAR_EVENT: {
    if (ev->data.scalar.anchor)
      return perr(ps, ev->start_mark, "anchors are not supported");
    txf_yaml_node *n = node_new(d, TXF_YAML_SCALAR, ev->start_mark);
    n->str = txf_arena_strndup(&d->arena, (const char *)ev->data.scalar.value,
                               ev->data.scalar.length);
    n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    *out = n;
    return 0;
  }
  case YAML_SEQUENCE_START_EVENT:
  case YAML_MAPPING_START_EVENT: {
    int is_map = ev->type == YAML_MAPPING_START_EVENT;
    if (is_map ? ev->data.mapping_start.anchor != NULL
               : ev->data.sequence_start.anchor != NULL)
      return perr(ps, ev->start_mark, "anchors are not supported");
    txf_yaml_node *n =
        node_new(d, is_map ? TXF_YAML_MAP : TXF_YAML_SEQ, ev->start_mark);
    for (;;) {
      yaml_event_t e;
      ps->n_at = (size_t)depth; /* between entries: the container's path */
      if (next_event(ps, &e))
        return ps->err ? ps->err->code : TXF_ECONFIG;
      if (e.type == YAML_SEQUENCE_END_EVENT ||
          e.type == YAML_MAPPING_END_EVENT) {
        yaml_event_delete(&e);
        break;
      }
      txf_yaml_node *k = NULL, *v = NULL;
      int rc;
      if (is_map) {
        if (e.type != YAML_SCALAR_EVENT) {
          rc = perr(ps, e.start_mark, "map keys must be plain scalars");
          yaml_event_delete(&e);
          return rc;
        }
        rc = parse_node(ps, &e, depth + 1, &k);
        yaml_event_delete(&e);
        if (rc)
          return rc;
        for (size_t i = 0; i < n->n; i++)
          if (strcmp(n->keys[i]->str, k->str) == 0)
            return txf_err_set(ps->err, TXF_ECONFIG,
                               "%s:%d:%d: duplicate key '%s' (first at line "
                               "%d)",
                               d->file, k->line, k->col, k->str,
                               n->keys[i]->line);
        ps->at_key[depth] = k->str;
        ps->n_at = (size_t)depth + 1;
        if (next_event(ps, &e))
          return ps->err ? ps->err->code : TXF_ECONFIG;
      } else {
        ps->at_key[depth] = NULL;
        ps->at_idx[depth] = n->n;
        ps->n_at = (size_t)depth + 1;
      }
      rc = parse_node(ps, &e, depth + 1, &v);
      yaml_event_delete(&e);
      if (rc)
        return rc;
      node_push(d, n, k, v);
    }
    *out = n;
    return 0;
  }
  default:
    return perr(ps, ev->start_mark, "unexpected YAML event");
  }
}

int txf_yaml_load_string(txf_yaml_doc **out, const char *name,
                         const char *text, size_t len, txf_err *err) {
  *out = NULL;
  txf_yaml_doc *d = txf_xcalloc(1, sizeof *d);
  d->file = txf_xstrdup(name);
  txf_arena_init(&d->arena, 16384);
  parser ps = {.doc = d, .err = err};
  if (!yaml_parser_initialize(&ps.p)) {
    txf_yaml_free(d);
    return txf_err_set(err, TXF_EINTERNAL, "libyaml init failed");
  }
  yaml_parser_set_input_string(&ps.p, (const unsigned char *)text, len);
  int rc = 0, done = 0;
  while (!rc && !done) {
    yaml_event_t ev;
    if ((rc = next_event(&ps, &ev)))
      break;
    switch (ev.type) {
    case YAML_STREAM_START_EVENT:
    case YAML_DOCUMENT_END_EVENT:
      break;
    case YAML_DOCUMENT_START_EVENT:
      if (d->root)
        rc = perr(&ps, ev.start_mark, "only one YAML document is allowed");
      break;
    case YAML_STREAM_END_EVENT:
      done = 1;
      break;
    default:
      rc = parse_node(&ps, &ev, 0, &d->root);
      break;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&ps.p);
  if (rc) {
    txf_yaml_free(d);
    return rc;
  }
  if (!d->root || (d->root->type == TXF_YAML_SCALAR && d->root->plain &&
                   d->root->str[0] == '\0')) {
    yaml_mark_t m = {0, 0, 0};
    d->root = node_new(d, TXF_YAML_MAP, m);
  }
  *out = d;
  return 0;
}

int txf_yaml_load_file(txf_yaml_doc **out, const char *path, txf_err *err) {
  *out = NULL;
  if (!txf_fs_exists(path))
    return txf_err_set(err, TXF_ENOTFOUND, "%s: no such file", path);
  txf_buf b;
  txf_buf_init(&b, MAX_FILE_BYTES);
  int rc = txf_fs_read_file(path, &b, err);
  if (rc) {
    txf_buf_release(&b);
    return rc == TXF_ETOOBIG ? TXF_ECONFIG : rc;
  }
  rc = txf_yaml_load_string(out, path, b.data, b.len, err);
  txf_buf_release(&b);
  return rc;
}

void txf_yaml_free(txf_yaml_doc *d) {
  if (!d)
    return;
  txf_arena_release(&d->arena);
  free(d->file);
  free(d);
}

const txf_yaml_node *txf_yaml_root(const txf_yaml_doc *d) { return d->root; }
const char *txf_yaml_file(const txf_yaml_doc *d) { return d->file; }
txf_yaml_type txf_yaml_kind(const txf_yaml_node *n) { return n->type; }
int txf_yaml_line(const txf_yaml_node *n) { return n->line; }
int txf_yaml_col(const txf_yaml_node *n) { return n->col; }

const char *txf_yaml_str(const txf_yaml_node *n) {
  return n && n->type == TXF_YAML_SCALAR ? n->str : NULL;
}

int txf_yaml_is_null(const txf_yaml_node *n) {
  if (!n || n->type != TXF_YAML_SCALAR || !n->plain)
    return 0;
  return !n->str[0] || !strcmp(n->str, "~") || !strcmp(n->str, "null") ||
         !strcmp(n->str, "Null") || !strcmp(n->str, "NULL");
}

size_t txf_yaml_len(const txf_yaml_node *n) {
  return n && n->type != TXF_YAML_SCALAR ? n->n : 0;
}

const txf_yaml_node *txf_yaml_at(const txf_yaml_node *n, size_t i) {
  return n && n->type != TXF_YAML_SCALAR && i < n->n ? n->vals[i] : NULL;
}

const txf_yaml_node *txf_yaml_key_at(const txf_yaml_node *n, size_t i) {
  return n && n->type == TXF_YAML_MAP && i < n->n ? n->keys[i] : NULL;
}

const txf_yaml_node *txf_yaml_get(const txf_yaml_node *n, const char *key) {
  if (!n || n->type != TXF_YAML_MAP)
    return NULL;
  for (size_t i = 0; i < n->n; i++)
    if (strcmp(n->keys[i]->str, key) == 0)
      return n->vals[i];
  return NULL;
}

const txf_yaml_node *txf_yaml_path(const txf_yaml_node *n, const char *path) {
  char part[128];
  while (n && *path) {
    const char *dot = strchr(path, '.');
    size_t l = dot ? (size_t)(dot - path) : strlen(path);
    if (l >= sizeof part)
      return NULL;
    memcpy(part, path, l);
    part[l] = '\0';
    n = txf_yaml_get(n, part);
    path += l + (dot != NULL);
  }
  return n;
}

int txf_yaml_error(const txf_yaml_doc *doc, const txf_yaml_node *n,
                   txf_err *err, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return txf_err_set(err, TXF_ECONFIG, "%s:%d:%d: %s", doc->file,
                     n ? n->line : 1, n ? n->col : 1, msg);
}

static const char *kind_name(const txf_yaml_node *n) {
  return n->type == TXF_YAML_MAP ? "a map"
         : n->type == TXF_YAML_SEQ ? "a list"
                                   : "a scalar";
}

/* The value of KEY in N when it is given (present and not null), else
 * NULL: what the getters then leave at their default. */
static const txf_yaml_node *given(const txf_yaml_node *n, const char *key) {
  const txf_yaml_node *v = txf_yaml_get(n, key);
  return v && !txf_yaml_is_null(v) ? v : NULL;
}

int txf_yaml_get_str(const txf_yaml_doc *doc, const txf_yaml_node *n,
                     const char *key, const char *def, const char **out,
                     txf_err *err) {
  const txf_yaml_node *v = given(n, key);
  *out = def;
  if (!v)
    return 0;
  if (v->type != TXF_YAML_SCALAR)
    return txf_yaml_error(doc, v, err, "key '%s': expected a string, got %s",
                          key, kind_name(v));
  *out = v->str;
  return 0;
}

int txf_yaml_get_i64(const txf_yaml_doc *doc, const txf_yaml_node *n,
                     const char *key, int64_t def, int64_t *out,
                     txf_err *err) {
  const txf_yaml_node *v = given(n, key);
  *out = def;
  if (!v)
    return 0;
  if (v->type != TXF_YAML_SCALAR || txf_parse_i64(v->str, out) != 0) {
    *out = def;
    return txf_yaml_error(doc, v, err,
                          "key '%s': expected an integer, got '%s'", key,
                          v->type == TXF_YAML_SCALAR ? v->str : kind_name(v));
  }
  return 0;
}

/* "250ms", "30s", "5m", "2h", "1d", or a bare number of seconds; *NEG set
 * for a negative one (still parsed). 0 or TXF_EPARSE. */
static int duration_parse(const char *s, int64_t *us, int *neg) {
  *neg = 0;
  if (!s || !*s)
    return TXF_EPARSE;
  char *end;
  double v = strtod(s, &end);
  if (end == s || !isfinite(v))
    return TXF_EPARSE;
  double mult;
  if (!*end || !strcmp(end, "s"))
    mult = 1e6;
  else if (!strcmp(end, "ms"))
    mult = 1e3;
  else if (!strcmp(end, "m") || !strcmp(end, "min"))
    mult = 60e6;
  else if (!strcmp(end, "h"))
    mult = 3600e6;
  else if (!strcmp(end, "d"))
    mult = 86400e6;
  else
    return TXF_EPARSE;
  *neg = v < 0;
  double r = v * mult;
  *us = r > 9e18 ? INT64_MAX : r < -9e18 ? INT64_MIN : (int64_t)llround(r);
  return 0;
}

int txf_yaml_get_duration(const txf_yaml_doc *doc, const txf_yaml_node *n,
                          const char *key, int64_t def, int64_t *out_us,
                          txf_err *err) {
  const txf_yaml_node *v = given(n, key);
  *out_us = def;
  if (!v)
    return 0;
  const char *s = v->type == TXF_YAML_SCALAR ? v->str : NULL;
  int64_t us;
  int neg;
  if (!s || duration_parse(s, &us, &neg))
    return txf_yaml_error(doc, v, err,
                          "key '%s': expected a duration like 30s, 500ms, "
                          "5m, 2h, got '%s'",
                          key, s ? s : kind_name(v));
  if (neg)
    return txf_yaml_error(doc, v, err, "key '%s': %s is negative", key, s);
  if (us > TXF_YAML_MAX_DURATION_US)
    return txf_yaml_error(
        doc, v, err, "key '%s': %s is out of range (at most 365d)", key, s);
  *out_us = us;
  return 0;
}

int txf_yaml_get_bool(const txf_yaml_doc *doc, const txf_yaml_node *n,
                      const char *key, int def, int *out, txf_err *err) {
  const txf_yaml_node *v = given(n, key);
  *out = def;
  if (!v)
    return 0;
  static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "on"};
  static const char *const no[] = {"false", "False", "FALSE", "no", "No", "off"};
  if (v->type == TXF_YAML_SCALAR) {
    for (size_t i = 0; i < TXF_ARRAY_LEN(yes); i++) {
      if (!strcmp(v->str, yes[i])) {
        *out = 1;
        return 0;
      }
      if (!strcmp(v->str, no[i])) {
        *out = 0;
        return 0;
      }
    }
  }
  return txf_yaml_error(doc, v, err, "key '%s': expected true or false, got '%s'",
                        key, v->type == TXF_YAML_SCALAR ? v->str : kind_name(v));
}

int txf_yaml_check_keys(const txf_yaml_doc *doc, const txf_yaml_node *n,
                        const char *const *known, const char *where,
                        txf_err *err) {
  if (!n)
    return 0;
  if (n->type != TXF_YAML_MAP)
    return txf_yaml_error(doc, n, err, "%s: expected a map, got %s", where,
                          kind_name(n));
  size_t nk = 0;
  while (known[nk])
    nk++;
  for (size_t i = 0; i < n->n; i++) {
    const char *k = n->keys[i]->str;
    size_t j = 0;
    while (j < nk && strcmp(known[j], k) != 0)
      j++;
    if (j < nk)
      continue;
    const char *close = txf_str_closest(k, known, nk);
    if (close)
      return txf_yaml_error(doc, n->keys[i], err,
                            "unknown key '%s' in %s (did you mean '%s'?)", k,
                            where, close);
    return txf_yaml_error(doc, n->keys[i], err, "unknown key '%s' in %s", k,
                          where);
  }
  return 0;
}
